import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { TranslatorTester } from '@ebm/sdk/testing';

/**
 * The ebm conformance harness: every case runs in-process and in a real
 * worker thread, and both must pass and agree. Run `npm test` (it compiles
 * first: the worker loads dist/index.js, the manifest's entry).
 */
async function records(dir: string, texts: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(texts)) await fsp.writeFile(path.join(dir, name), text);
}

new TranslatorTester({
  packageDir: path.resolve(__dirname, '..'),
  fixtures: [
    {
      name: 'three records',
      build: (dir) => records(dir, { 'a.txt': 'alpha\n', 'b.txt': 'bravo\n'.repeat(20_000), 'c.txt': '' }),
      // Changes for the incremental cases: each must restore exactly and store less than a new baseline.
      mutations: [
        { name: 'edit a record', apply: (source) => fsp.appendFile(path.join(source, 'a.txt'), 'more\n') },
        { name: 'add a record', apply: (source) => fsp.writeFile(path.join(source, 'd.txt'), 'delta\n') },
        { name: 'delete a record', apply: (source) => fsp.rm(path.join(source, 'c.txt')) },
      ],
    },
    { name: 'no records', build: () => undefined },
  ],
  invalidSources: [
    {
      name: 'a file that is not a record',
      expect: 'E_INVALID_SOURCE',
      build: (dir) => records(dir, { 'a.txt': 'alpha\n', 'notes.md': '# not a record\n' }),
    },
  ],
}).run();
