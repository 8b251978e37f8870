import * as path from 'node:path';
import { ACCOUNT_BALANCE, committedCounter, createFixtureDatabase, fixtureState } from './testing/fixture';
import { backupOk, removeAll, restoreOk, tempDir, testRepository } from './testing/harness';
import { pageDigests } from './testing/page-digest';
import { startHelperProcess } from './testing/processes';

/**
 * Application consistency: another PROCESS commits transfers all through the
 * backups; every restored database must be one committed state — sound, the
 * balances summing to their constant total, and the writer's counter equal
 * to the number of commit rows it wrote in the same transactions.
 */
describe.each(['delete', 'wal'] as const)('backups while another process writes (%s mode)', (journalMode) => {
  let dir: string;
  beforeAll(() => (dir = tempDir(`concurrent-${journalMode}`)));
  afterAll(() => removeAll(dir));

  it('restore a consistent committed state from the baseline and from an incremental', async () => {
    const accounts = 1000;
    const db = createFixtureDatabase(dir, { journalMode, accounts, ledgerRows: 30000 });
    const writer = startHelperProcess('writer', db, 120000); // runs until killed below
    try {
      await writer.ready;
      const repo = testRepository();
      const options = { 'run-size': 16384 }; // more runs: more host round trips while the read transaction is open
      const restoredState = async (tree: string, label: string) => {
        const target = path.join(dir, `restore-${label}`);
        await restoreOk(repo, { tree, target });
        const state = fixtureState(path.join(target, 'app.db'));
        expect(state).toMatchObject({ integrity: 'ok', foreignKeyViolations: 0, journalMode, accounts, totalBalance: accounts * ACCOUNT_BALANCE });
        expect(state.counter).toBe(state.commitRows); // one committed state, not a mix of two
        return state.counter;
      };

      const baseline = await backupOk(repo, { source: db, options });
      const first = await restoredState(baseline.tree, 'baseline');
      expect(first).toBeGreaterThan(0);
      await waitUntil(() => committedCounter(db) > first); // the writer went on after the baseline
      const incremental = await backupOk(repo, { source: db, parentTree: baseline.tree, options });
      expect(await restoredState(incremental.tree, 'incremental')).toBeGreaterThan(first);
    } finally {
      await writer.kill();
    }
    expect(fixtureState(db)).toMatchObject({ integrity: 'ok', totalBalance: accounts * ACCOUNT_BALANCE });
  });
});

/** Polls `condition` every 20 ms (no deadline of its own: jest's test timeout bounds it). */
async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('a writer that crashed inside a transaction', () => {
  let dir: string;
  beforeAll(() => (dir = tempDir('crashed')));
  afterAll(() => removeAll(dir));

  it('leaves a hot journal; the backup holds the last committed state (SQLite rolls the journal back first)', async () => {
    const db = createFixtureDatabase(dir, { accounts: 200, ledgerRows: 3000 });
    const committed = fixtureState(db);
    const holder = startHelperProcess('hold-write', db);
    await holder.ready;
    await holder.kill(); // its uncommitted pages are in app.db, the originals in app.db-journal
    const repo = testRepository();
    const backup = await backupOk(repo, { source: db });
    const target = path.join(dir, 'restored');
    await restoreOk(repo, { tree: backup.tree, target });
    expect(fixtureState(path.join(target, 'app.db'))).toEqual(committed);
    expect(pageDigests(path.join(target, 'app.db'))).toEqual(pageDigests(db));
  });
});
