import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import translator from './index';
import { createFixtureDatabase } from './testing/fixture';
import { backupOk, failure, removeAll, restoreOk, tempDir, testRepository } from './testing/harness';
import { startHelperProcess } from './testing/processes';

/** Sources the translator must refuse with a typed error, storing nothing. */
describe('backup errors', () => {
  let dir: string;
  beforeAll(() => (dir = tempDir('errors')));
  afterAll(() => removeAll(dir));

  async function refused(source: string, options: Record<string, string | number> = {}) {
    const repo = testRepository();
    const error = failure(await repo.backup(translator, { source, options }));
    expect(repo.blobCount).toBe(0); // nothing stored
    return error;
  }

  it('a missing path is E_SOURCE_NOT_FOUND, also through a dangling symlink', async () => {
    expect(await refused(path.join(dir, 'nope.db'))).toMatchObject({ code: 'E_SOURCE_NOT_FOUND', plugin: 'test', op: 'backup' });
    fs.symlinkSync(path.join(dir, 'gone.db'), path.join(dir, 'dangling.db'));
    expect((await refused(path.join(dir, 'dangling.db'))).code).toBe('E_SOURCE_NOT_FOUND');
  });

  it('a file that is not a database is E_INVALID_SOURCE naming it; so is a directory', async () => {
    const text = path.join(dir, 'notes.txt');
    fs.writeFileSync(text, 'this is not a database\n'.repeat(500));
    const error = await refused(text);
    expect(error.code).toBe('E_INVALID_SOURCE');
    expect(error.message).toContain(text);
    expect(error.message).toMatch(/not an SQLite database/);
    expect((await refused(dir)).code).toBe('E_INVALID_SOURCE');
  });

  it('a damaged database is E_SOURCE_CORRUPT: a page overwritten, or the file cut short', async () => {
    const damaged = createFixtureDatabase(dir, { name: 'damaged.db', accounts: 200, ledgerRows: 3000 });
    const fd = fs.openSync(damaged, 'r+');
    fs.writeSync(fd, Buffer.alloc(2048, 0x5a), 0, 2048, 4096 * 9 + 100); // inside a b-tree page of the ledger
    fs.closeSync(fd);
    const error = await refused(damaged);
    expect(error.code).toBe('E_SOURCE_CORRUPT');
    expect(error.message).toContain(damaged);

    const truncated = createFixtureDatabase(dir, { name: 'truncated.db', accounts: 200, ledgerRows: 3000 });
    fs.truncateSync(truncated, Math.floor(fs.statSync(truncated).size / 2));
    expect((await refused(truncated)).code).toBe('E_SOURCE_CORRUPT');
  });

  it('with --integrity-check none a damaged database is stored, and its restore is checked and refused unless asked not to', async () => {
    const damaged = createFixtureDatabase(dir, { name: 'stored-damaged.db', accounts: 200, ledgerRows: 3000 });
    const fd = fs.openSync(damaged, 'r+');
    fs.writeSync(fd, Buffer.alloc(2048, 0x5a), 0, 2048, 4096 * 9 + 100);
    fs.closeSync(fd);
    const repo = testRepository();
    const backup = await backupOk(repo, { source: damaged, options: { 'integrity-check': 'none' } });
    const target = path.join(dir, 'restored-damaged');
    const error = failure(await repo.restore(translator, { tree: backup.tree, target }));
    expect(error.code).toBe('E_CORRUPT_OBJECT');
    expect(error.message).toMatch(/quick_check/);
    expect(fs.readdirSync(target)).toEqual([]); // the checked temporary file was removed
    await restoreOk(repo, { tree: backup.tree, target, options: { 'integrity-check': 'none' } });
    expect(fs.readFileSync(path.join(target, 'stored-damaged.db')).equals(fs.readFileSync(damaged))).toBe(true);
  });

  it('a database locked by a long write waits --busy-timeout, then fails with E_SOURCE_BUSY', async () => {
    const db = createFixtureDatabase(dir, { name: 'locked.db', accounts: 100, ledgerRows: 500 });
    const holder = startHelperProcess('hold-exclusive', db, 30000);
    try {
      await holder.ready;
      const error = await refused(db, { 'busy-timeout': 300 });
      expect(error).toMatchObject({ code: 'E_SOURCE_BUSY', retryable: true });
      expect(error.message).toMatch(/300 ms/);
    } finally {
      await holder.kill();
    }
  });

  it('a write lock released within --busy-timeout only delays the backup', async () => {
    const db = createFixtureDatabase(dir, { name: 'briefly-locked.db', accounts: 100, ledgerRows: 500 });
    const holder = startHelperProcess('hold-exclusive', db, 300);
    try {
      await holder.ready;
      const backup = await backupOk(testRepository(), { source: db, options: { 'busy-timeout': 20000 } });
      expect(backup.stats.files).toBe(2);
    } finally {
      await holder.kill();
    }
  });

  it('a cancelled backup stops with E_CANCELLED and leaves no lock on the database', async () => {
    const db = createFixtureDatabase(dir, { name: 'cancelled.db', accounts: 300, ledgerRows: 6000 });
    const outcome = await testRepository().backup(translator, { source: db, cancelAfterMessages: 2, options: { 'run-size': 4096 } });
    expect(failure(outcome).code).toBe('E_CANCELLED');
    const other = new Database(db, { timeout: 0 });
    try {
      other.exec('BEGIN EXCLUSIVE; COMMIT'); // fails with SQLITE_BUSY if the backup's read transaction were still open
    } finally {
      other.close();
    }
  });

  it('an invalid option value is E_INVALID_OPTION naming the option', async () => {
    const db = createFixtureDatabase(dir, { name: 'options.db', accounts: 10, ledgerRows: 10 });
    expect(await refused(db, { 'integrity-check': 'sometimes' })).toMatchObject({ code: 'E_INVALID_OPTION', subject: 'integrity-check' });
    expect(await refused(db, { 'run-size': 7 })).toMatchObject({ code: 'E_INVALID_OPTION', subject: 'run-size' });
  });
});
