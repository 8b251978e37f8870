import * as path from 'node:path';
import { TranslatorTester } from '@ebm/sdk/testing';
import { createFixtureDatabase, mutateFixtureDatabase } from './testing/fixture';

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
}).run();
