import * as path from 'node:path';
import { TranslatorTester } from '@ebm/sdk/testing';
import { createPluginHostHarness } from '@ebm/core/testing';
import { createFixtureDatabase, mutateFixtureDatabase } from './testing/fixture';

/** The SQLite translator under the conformance harness: in-process, in a real worker, and through ebm's plugin host and a real repository. */
new TranslatorTester({
  packageDir: path.resolve(__dirname, '..'),
  fixtures: [
    {
      name: 'rollback-journal database',
      build: (dir) => createFixtureDatabase(dir, { accounts: 300, ledgerRows: 20000 }),
      mutations: [{ name: '~1% of rows changed', apply: (source) => void mutateFixtureDatabase(source) }],
    },
    {
      name: 'WAL database',
      build: (dir) => createFixtureDatabase(dir, { journalMode: 'wal', accounts: 300, ledgerRows: 20000 }),
      mutations: [{ name: '~1% of rows changed', apply: (source) => void mutateFixtureDatabase(source) }],
    },
  ],
  host: () => createPluginHostHarness(),
}).run();
