import * as fs from 'node:fs';
import * as path from 'node:path';
import translator from './index';
import { createFixtureDatabase, fixtureState, mutateFixtureDatabase } from './testing/fixture';
import { backupOk, failure, removeAll, restoreOk, tempDir, testRepository } from './testing/harness';
import { pageDigests } from './testing/page-digest';
import { startHelperProcess } from './testing/processes';

/**
 * Restoring over an existing database: only with overwrite, never while
 * another process uses it, and never letting the old file's -wal or hot
 * journal leak into the restored one.
 */
describe('restoring over an existing database', () => {
  let dir: string;
  beforeAll(() => (dir = tempDir('target')));
  afterAll(() => removeAll(dir));

  /** The live database in its own directory, and a snapshot of its current state. */
  async function liveDatabase(label: string, journalMode: 'wal' | 'delete') {
    const home = path.join(dir, label);
    fs.mkdirSync(home);
    const db = createFixtureDatabase(home, { journalMode, accounts: 300, ledgerRows: 4000 });
    const repo = testRepository();
    const backup = await backupOk(repo, { source: db });
    return { home, db, repo, backup, pages: pageDigests(db) };
  }

  it('without overwrite an existing file (or a stray -wal of that name) is E_TARGET_NOT_EMPTY and is left alone', async () => {
    const { home, db, repo, backup, pages } = await liveDatabase('no-overwrite', 'delete');
    expect(failure(await repo.restore(translator, { tree: backup.tree, target: home }))).toMatchObject({ code: 'E_TARGET_NOT_EMPTY', subject: db });
    expect(pageDigests(db)).toEqual(pages);
    const other = path.join(dir, 'stray-wal');
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(other, 'app.db-wal'), 'stale');
    expect(failure(await repo.restore(translator, { tree: backup.tree, target: other })).code).toBe('E_TARGET_NOT_EMPTY');
    expect(fs.readdirSync(home).sort()).toEqual(['app.db']); // no temporary file left behind
  });

  it.each([
    ['delete', 'hold-write'],
    ['wal', 'hold-open'],
  ] as const)('overwrite of a %s-mode database is refused with E_TARGET_IN_USE while another process has it (%s)', async (journalMode, mode) => {
    const { home, db, repo, backup } = await liveDatabase(`in-use-${journalMode}`, journalMode);
    mutateFixtureDatabase(db, { fraction: 0.05 });
    const current = pageDigests(db);
    const holder = startHelperProcess(mode, db);
    try {
      await holder.ready;
      const error = failure(await repo.restore(translator, { tree: backup.tree, target: home, overwrite: true }));
      expect(error).toMatchObject({ code: 'E_TARGET_IN_USE', subject: db, retryable: true });
    } finally {
      await holder.kill();
    }
    expect(pageDigests(db)).toEqual(current);
    expect(fs.readdirSync(home).filter((n) => n.includes('ebm-restore'))).toEqual([]);
  });

  it('overwrite of an unused WAL database replaces it; the old -wal (committed frames of a killed writer) is not replayed', async () => {
    const { home, db, repo, backup, pages } = await liveDatabase('stale-wal', 'wal');
    const writer = startHelperProcess('writer', db, 60000);
    await writer.ready;
    await writer.kill(); // dies without a checkpoint: its last commits live only in app.db-wal
    expect(fs.statSync(`${db}-wal`).size).toBeGreaterThan(0);
    expect(fixtureState(db).counter).toBeGreaterThan(0);

    await restoreOk(repo, { tree: backup.tree, target: home, overwrite: true });
    expect(fs.readdirSync(home).sort()).toEqual(['app.db']);
    expect(pageDigests(db)).toEqual(pages);
    expect(fixtureState(db)).toMatchObject({ integrity: 'ok', journalMode: 'wal', counter: 0, commitRows: 0 });
  });

  it('overwrite of an unused rollback-journal database with a hot journal replaces it; the journal is not rolled into the new file', async () => {
    const { home, db, repo, backup, pages } = await liveDatabase('hot-journal', 'delete');
    const holder = startHelperProcess('hold-write', db);
    await holder.ready;
    await holder.kill(); // dies inside its transaction: app.db-journal is hot
    expect(fs.existsSync(`${db}-journal`)).toBe(true);

    await restoreOk(repo, { tree: backup.tree, target: home, overwrite: true });
    expect(fs.readdirSync(home).sort()).toEqual(['app.db']);
    expect(pageDigests(db)).toEqual(pages);
    expect(fixtureState(db).integrity).toBe('ok');
  });

  it('overwrite replaces a file that is not a database', async () => {
    const { home, db, repo, backup, pages } = await liveDatabase('not-a-db', 'delete');
    fs.writeFileSync(db, 'not a database any more');
    await restoreOk(repo, { tree: backup.tree, target: home, overwrite: true });
    expect(pageDigests(db)).toEqual(pages);
  });
});
