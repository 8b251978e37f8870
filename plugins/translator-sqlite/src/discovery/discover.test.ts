import * as fs from 'node:fs';
import * as path from 'node:path';
import { discoverDatabase } from '../index';
import { createFixtureDatabase, mutateFixtureDatabase } from '../testing/fixture';
import { removeAll, tempDir } from '../testing/harness';
import { execSql, pageDigests } from '../testing/page-digest';

describe('discoverDatabase', () => {
  let dir: string;
  beforeAll(() => (dir = tempDir('discover')));
  afterAll(() => removeAll(dir));

  it('reports tables with row counts, other schema objects, size and journal mode', async () => {
    const db = createFixtureDatabase(dir, { journalMode: 'wal', accounts: 120, ledgerRows: 900 });
    mutateFixtureDatabase(db, { fraction: 0.1 }); // 90 more ledger rows
    execSql(db, 'CREATE VIEW rich AS SELECT * FROM accounts WHERE balance > 1000');
    const report = await discoverDatabase(db);
    expect(report).toMatchObject({
      path: db,
      journalMode: 'wal',
      pageSize: 4096,
      pageCount: pageDigests(db).length,
      sizeBytes: pageDigests(db).length * 4096,
      encoding: 'UTF-8',
      userVersion: 7,
      indexes: ['ledger_account'],
      views: ['rich'],
      triggers: [],
    });
    expect(report.tables).toEqual([
      { name: 'accounts', rows: 120 },
      { name: 'commits', rows: 0 },
      { name: 'counter', rows: 1 },
      { name: 'ledger', rows: 990 },
    ]);
  });

  it('fails with the backup errors: missing path, not a database', async () => {
    await expect(discoverDatabase(path.join(dir, 'missing.db'))).rejects.toMatchObject({ code: 'E_SOURCE_NOT_FOUND' });
    const text = path.join(dir, 'text.db');
    fs.writeFileSync(text, 'hello, not sqlite '.repeat(100));
    await expect(discoverDatabase(text)).rejects.toMatchObject({ code: 'E_INVALID_SOURCE' });
  });
});
