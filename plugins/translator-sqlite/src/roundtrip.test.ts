import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { ACCOUNT_BALANCE, createFixtureDatabase, FIXTURE_APPLICATION_ID, FIXTURE_USER_VERSION, fixtureState } from './testing/fixture';
import { backupOk, removeAll, restoreOk, rootEntries, tempDir, testRepository } from './testing/harness';
import { pageDigests } from './testing/page-digest';

/** Backs up and restores real databases (real SQLite, real files) through the SDK runtime. */
describe.each(['delete', 'wal'] as const)('round trip of a %s-mode database', (journalMode) => {
  let dir: string;
  let db: string;

  beforeAll(() => {
    dir = tempDir(`rt-${journalMode}`);
    db = createFixtureDatabase(dir, { journalMode, accounts: 500, ledgerRows: 8000 });
  });
  afterAll(() => removeAll(dir));

  it('restores the same pages under the database name; the file opens in the same mode and passes SQLite checks', async () => {
    const repo = testRepository();
    const backup = await backupOk(repo, { source: db });
    const target = path.join(dir, `restored-${journalMode}`);
    await restoreOk(repo, { tree: backup.tree, target });

    const restored = path.join(target, 'app.db');
    expect(fs.readdirSync(target)).toEqual(['app.db']); // no page-hash file, no temp or -wal leftovers
    expect(pageDigests(restored)).toEqual(pageDigests(db));
    const state = fixtureState(restored);
    expect(state).toMatchObject({ integrity: 'ok', foreignKeyViolations: 0, journalMode, accounts: 500, totalBalance: 500 * ACCOUNT_BALANCE });
    expect(state).toEqual(fixtureState(db));
    const header = fs.readFileSync(restored).subarray(18, 20);
    expect([...header]).toEqual(journalMode === 'wal' ? [2, 2] : [1, 1]);
    expect(fs.statSync(restored).mode & 0o777).toBe(fs.statSync(db).mode & 0o777);
  });

  it('is readable by the sqlite3 command-line client', async () => {
    const repo = testRepository();
    const backup = await backupOk(repo, { source: db });
    const target = path.join(dir, `cli-${journalMode}`);
    await restoreOk(repo, { tree: backup.tree, target });
    const out = execFileSync('sqlite3', [path.join(target, 'app.db'), 'PRAGMA journal_mode; PRAGMA integrity_check; SELECT count(*), sum(balance) FROM accounts;'], { encoding: 'utf8' });
    expect(out.trim().split('\n')).toEqual([journalMode, 'ok', `500|${500 * ACCOUNT_BALANCE}`]);
  });

  it('records page size, page count, journal mode, encoding, versions and schema in the entry metadata', async () => {
    const repo = testRepository();
    const backup = await backupOk(repo, { source: db });
    const entries = rootEntries(repo, backup.tree);
    expect([...entries.keys()].sort()).toEqual(['app.db', 'app.db.ebm-page-hashes']);
    const entry = entries.get('app.db')!;
    const pages = pageDigests(db).length;
    const runs = Math.ceil(pages / 64);
    const segments = Math.ceil(runs / 16);
    // format version 2: per segment of 16 runs an (empty, 8-byte) delta block, then the runs' key images
    expect(entry).toMatchObject({ kind: 'file', size: pages * 4096 + segments * 8 });
    expect(entry.meta).toMatchObject({
      format: 'sqlite-database',
      version: 2,
      pageSize: 4096,
      pageCount: pages,
      runPages: 64,
      segmentRuns: 16,
      journalMode,
      encoding: 'UTF-8',
      userVersion: FIXTURE_USER_VERSION,
      applicationId: FIXTURE_APPLICATION_ID,
      pageHashes: 'app.db.ebm-page-hashes',
      schema: { tables: ['accounts', 'commits', 'counter', 'ledger'], tableCount: 4, indexCount: 1, viewCount: 0, triggerCount: 0 },
    });
    // the manifest: a 4-byte blob count per segment, two 4-byte counts per run and 32 bytes per page
    const manifest = entries.get('app.db.ebm-page-hashes')!;
    expect(manifest.size).toBe(segments * 4 + runs * 8 + pages * 32);
    expect(backup.meta).toMatchObject({ format: 'sqlite', database: 'app.db', journalMode, pageCount: pages });
  });

  it('keeps page numbering for other page sizes', async () => {
    const small = createFixtureDatabase(dir, { name: `small-${journalMode}.sqlite`, journalMode, pageSize: 1024, accounts: 50, ledgerRows: 500 });
    const repo = testRepository();
    const backup = await backupOk(repo, { source: small, options: { 'run-size': 4096 } });
    expect(rootEntries(repo, backup.tree).get(`small-${journalMode}.sqlite`)!.meta).toMatchObject({ pageSize: 1024, runPages: 4 });
    const target = path.join(dir, `small-out-${journalMode}`);
    await restoreOk(repo, { tree: backup.tree, target });
    expect(pageDigests(path.join(target, `small-${journalMode}.sqlite`))).toEqual(pageDigests(small));
  });
});

describe('a WAL database whose newest pages are only in its -wal file', () => {
  let dir: string;
  beforeAll(() => (dir = tempDir('wal-only')));
  afterAll(() => removeAll(dir));

  it('is backed up with those pages (read through SQLite, not from the file)', async () => {
    const file = path.join(dir, 'fresh.db');
    const writer = new Database(file);
    try {
      writer.pragma('journal_mode = WAL');
      writer.pragma('wal_autocheckpoint = 0'); // nothing reaches the main file
      writer.exec("CREATE TABLE t(x); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO t SELECT 'row ' || i FROM n;");
      expect(fs.statSync(`${file}-wal`).size).toBeGreaterThan(fs.statSync(file).size);
      const repo = testRepository();
      const backup = await backupOk(repo, { source: file });
      const target = path.join(dir, 'restored');
      await restoreOk(repo, { tree: backup.tree, target });
      const out = execFileSync('sqlite3', [path.join(target, 'fresh.db'), 'PRAGMA journal_mode; SELECT count(*) FROM t;'], { encoding: 'utf8' });
      expect(out.trim().split('\n')).toEqual(['wal', '2000']);
    } finally {
      writer.close();
    }
  });
});
