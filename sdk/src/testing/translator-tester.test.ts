import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { collectCases, outcomes, TREE, writePlugin } from './test-plugins.test-helper';

/**
 * The harness against a well-behaved plugin package in a real worker thread
 * (the SDK's default host): every case passes, each named after its fixture.
 */
describe('TranslatorTester with a well-behaved translator', () => {
  const packageDir = writePlugin();
  afterAll(() => fsp.rm(packageDir, { recursive: true, force: true }));

  it('registers one test per case and fixture under a describe named after the plugin, and every case passes in both modes', async () => {
    const { cases, titles, timeouts, close } = collectCases({
      packageDir,
      fixtures: [TREE],
      mutations: [
        { name: 'append to a file', apply: (src) => fsp.appendFile(path.join(src, 'a.txt'), 'more\n') },
        { name: 'delete a nested file', apply: (src) => fsp.rm(path.join(src, 'sub', 'deeper', 'c.txt')) },
      ],
      invalidSources: [{ name: 'a plain file', build: async (dir) => { await fsp.writeFile(path.join(dir, 'f'), 'x'); return path.join(dir, 'f'); }, expect: 'E_INVALID_SOURCE' }],
    });
    try {
      expect(titles).toEqual(['translator dir-of-files conforms to the ebm plugin API']);
      expect(cases.map((c) => c.name)).toEqual([
        'manifest and capabilities',
        'round trip [small tree]',
        'determinism [small tree]',
        'incremental [small tree → append to a file]',
        'incremental [small tree → delete a nested file]',
        'invalid input: missing source [small tree]',
        'invalid input: truncated files [small tree]',
        'invalid input: corrupted files [small tree]',
        'invalid input: emptied files [small tree]',
        'invalid input: the other kind of source [small tree]',
        'cancellation [small tree]',
        'structured clone and frozen inputs [small tree]',
        'invalid input [a plain file]',
      ]);
      expect(new Set(timeouts)).toEqual(new Set([120_000]));
      const results = await outcomes(cases);
      expect(results).toEqual(Object.fromEntries(cases.map((c) => [c.name, 'passed'])));
    } finally {
      await close();
    }
  });
});
