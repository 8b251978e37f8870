import * as path from 'node:path';
import { createFixtureDatabase, fixtureState, mutateFixtureDatabase } from './testing/fixture';
import { backupOk, BackupOk, removeAll, restoreOk, rootEntries, tempDir, testRepository } from './testing/harness';
import { execSql, pageDigests } from './testing/page-digest';
import type { MemoryRepository } from '@ebm/sdk';

/**
 * Page-level incrementals: runs whose page hashes are unchanged reuse the
 * parent's blobs, so an incremental stores about what changed; every
 * snapshot of a chain restores to exactly the database it was taken from.
 */
describe('incremental backups of a database', () => {
  let dir: string;
  beforeAll(() => (dir = tempDir('incr')));
  afterAll(() => removeAll(dir));

  /** Restores `backup` and checks it holds exactly `expectedPages`. */
  async function expectRestores(repo: MemoryRepository, backup: BackupOk, name: string, expectedPages: readonly string[], label: string): Promise<string> {
    const target = path.join(dir, `restore-${label}`);
    await restoreOk(repo, { tree: backup.tree, target });
    const file = path.join(target, name);
    expect(pageDigests(file)).toEqual(expectedPages);
    expect(fixtureState(file)).toMatchObject({ integrity: 'ok', foreignKeyViolations: 0 });
    return file;
  }

  it.each(['delete', 'wal'] as const)('after ~1%% of rows change (%s mode) stores far fewer bytes than the baseline', async (journalMode) => {
    const db = createFixtureDatabase(dir, { name: `one-percent-${journalMode}.db`, journalMode });
    const repo = testRepository();
    const baseline = await backupOk(repo, { source: db });
    mutateFixtureDatabase(db, { fraction: 0.01 });
    const incremental = await backupOk(repo, { source: db, parentTree: baseline.tree });

    const baseBytes = baseline.outcome.stats.putBytes;
    expect(incremental.outcome.stats.putBytes).toBeLessThan(baseBytes / 3);
    expect(incremental.outcome.events.logs.some((l) => /runs stored whole, [1-9]\d* as deltas against their key images, \d+ reused/.test(l.message))).toBe(true);
    await expectRestores(repo, incremental, `one-percent-${journalMode}.db`, pageDigests(db), `one-percent-${journalMode}`);
  });

  it('ships no data when nothing changed', async () => {
    const db = createFixtureDatabase(dir, { name: 'unchanged.db', accounts: 200, ledgerRows: 3000 });
    const repo = testRepository();
    const first = await backupOk(repo, { source: db });
    const second = await backupOk(repo, { source: db, parentTree: first.tree });
    expect(second.outcome.stats.dataPuts).toBe(0);
    expect(second.tree).toBe(first.tree);
  });

  it('restores every snapshot of a chain (baseline and two incrementals) to the state it was taken from', async () => {
    const db = createFixtureDatabase(dir, { name: 'chain.db', journalMode: 'wal', accounts: 300, ledgerRows: 6000 });
    const repo = testRepository();
    const states: { backup: BackupOk; pages: string[] }[] = [];
    let parentTree: string | undefined;
    for (let round = 0; round < 3; round++) {
      if (round > 0) mutateFixtureDatabase(db, { round, fraction: 0.02 });
      const backup: BackupOk = await backupOk(repo, { source: db, ...(parentTree ? { parentTree } : {}) });
      states.push({ backup, pages: pageDigests(db) });
      parentTree = backup.tree;
    }
    expect(states[1]!.pages).not.toEqual(states[0]!.pages);
    for (const [i, s] of states.entries()) await expectRestores(repo, s.backup, 'chain.db', s.pages, `chain-${i}`);
  });

  it('survives VACUUM, growth and shrinking between backups', async () => {
    const db = createFixtureDatabase(dir, { name: 'reshape.db', accounts: 300, ledgerRows: 6000 });
    const repo = testRepository();
    let parent = await backupOk(repo, { source: db });
    const steps: [string, string][] = [
      ['grow', "INSERT INTO ledger(account_id, amount, memo) SELECT account_id, amount, memo || ' copy' FROM ledger"],
      ['shrink', 'DELETE FROM ledger WHERE id % 3 <> 0; VACUUM'],
      ['vacuum', 'VACUUM'],
    ];
    for (const [label, sql] of steps) {
      const before = pageDigests(db).length;
      execSql(db, sql);
      const after = pageDigests(db).length;
      if (label === 'grow') expect(after).toBeGreaterThan(before);
      if (label === 'shrink') expect(after).toBeLessThan(before);
      const backup = await backupOk(repo, { source: db, parentTree: parent.tree });
      expect(rootEntries(repo, backup.tree).get('reshape.db')!.meta).toMatchObject({ pageCount: after });
      await expectRestores(repo, backup, 'reshape.db', pageDigests(db), `reshape-${label}`);
      parent = backup;
    }
  });

  it('survives a change of page size (VACUUM with a new page_size): nothing is reused, everything restores', async () => {
    const db = createFixtureDatabase(dir, { name: 'pagesize.db', journalMode: 'wal', accounts: 200, ledgerRows: 3000 });
    const repo = testRepository();
    const first = await backupOk(repo, { source: db });
    const firstPages = pageDigests(db);
    // WAL mode keeps its page size: leave it, change the size, and come back (as an operator would)
    execSql(db, 'PRAGMA journal_mode = DELETE; PRAGMA page_size = 8192; VACUUM; PRAGMA journal_mode = WAL;');
    const second = await backupOk(repo, { source: db, parentTree: first.tree });
    expect(rootEntries(repo, second.tree).get('pagesize.db')!.meta).toMatchObject({ pageSize: 8192, journalMode: 'wal' });
    expect(second.outcome.events.logs.some((l) => /page size or run length of pagesize.db changed/.test(l.message))).toBe(true);
    await expectRestores(repo, second, 'pagesize.db', pageDigests(db), 'pagesize-after');
    await expectRestores(repo, first, 'pagesize.db', firstPages, 'pagesize-before');
  });

  it('reuses runs that the repository chunker cut into several blobs', async () => {
    const db = createFixtureDatabase(dir, { name: 'small-chunks.db', accounts: 300, ledgerRows: 6000 });
    const repo = testRepository({ minSize: 4096, avgSize: 8192, maxSize: 16384 });
    const first = await backupOk(repo, { source: db, options: { 'run-size': 131072 } });
    const runs = Math.ceil(pageDigests(db).length / 32);
    expect(rootEntries(repo, first.tree).get('small-chunks.db')!.content!.length).toBeGreaterThan(runs);
    mutateFixtureDatabase(db, { fraction: 0.005 });
    const second = await backupOk(repo, { source: db, parentTree: first.tree, options: { 'run-size': 131072 } });
    expect(second.outcome.stats.putBytes).toBeLessThan(first.outcome.stats.putBytes / 2);
    await expectRestores(repo, second, 'small-chunks.db', pageDigests(db), 'small-chunks');
  });
});
