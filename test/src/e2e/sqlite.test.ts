import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ebm, ebmOk, summaryOf, tempDir } from '../helpers/cli';

/**
 * The sqlite translator through the real CLI (a separate process, the plugin
 * in a real worker thread, a repository on disk), with databases made,
 * changed and checked by the `sqlite3` command-line client, as an operator
 * would.
 */
describe('ebm backup --translator sqlite', () => {
  let work: string;
  let repo: string;
  let dbDir: string;
  let db: string;

  const sqlite = (file: string, sql: string): string => execFileSync('sqlite3', [file, sql], { encoding: 'utf8' }).trim();
  /** What an operator checks on a database: journal mode, SQLite's checks, and the data. */
  const state = (file: string): string =>
    sqlite(file, 'PRAGMA journal_mode; PRAGMA integrity_check; PRAGMA foreign_key_check; SELECT count(*), sum(qty), max(id) FROM items; SELECT count(*) FROM orders;');

  beforeAll(async () => {
    work = tempDir('sqlite');
    repo = path.join(work, 'repo');
    dbDir = path.join(work, 'live');
    fs.mkdirSync(dbDir);
    db = path.join(dbDir, 'shop.db');
    sqlite(db, `
      PRAGMA journal_mode = WAL;
      PRAGMA foreign_keys = ON;
      CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER NOT NULL);
      CREATE TABLE orders(id INTEGER PRIMARY KEY, item_id INTEGER NOT NULL REFERENCES items(id), note TEXT);
      WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 150000)
        INSERT INTO items SELECT x, 'item ' || x || ' ' || hex(randomblob(24)), x % 97 FROM n;
      INSERT INTO orders(item_id, note) SELECT id, 'order for ' || name FROM items WHERE id % 10 = 0;
      CREATE INDEX items_qty ON items(qty);`);
    await ebmOk(['init', '-r', repo]);
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('backs up, stores far less for an incremental after ~1% of rows change, and restores each snapshot as its own state', async () => {
    const first = summaryOf(await ebmOk(['backup', '-r', repo, '--translator', 'sqlite', db, '--busy-timeout', '2000', '--json']));
    const firstState = state(db);
    expect(firstState.split('\n')[0]).toBe('wal');

    sqlite(db, `
      UPDATE items SET qty = qty + 1, name = name || ' (restocked)' WHERE id > 148500;
      INSERT INTO items(name, qty) SELECT 'new ' || name, qty FROM items WHERE id > 148500;
      INSERT INTO orders(item_id, note) SELECT id, 'late order' FROM items WHERE id > 150000;`);
    const second = summaryOf(await ebmOk(['backup', '-r', repo, '--translator', 'sqlite', db, '--integrity-check', 'full', '--json']));
    expect(second.parent).toBe(first.snapshot);
    expect(second.bytesAdded as number).toBeLessThan((first.bytesAdded as number) / 3);
    const secondState = state(db);
    expect(secondState).not.toEqual(firstState);

    const latest = path.join(work, 'restore-latest');
    await ebmOk(['restore', '-r', repo, 'latest', '--target', latest]);
    expect(fs.readdirSync(latest)).toEqual(['shop.db']);
    expect(state(path.join(latest, 'shop.db'))).toEqual(secondState);
    expect([...fs.readFileSync(path.join(latest, 'shop.db')).subarray(18, 20)]).toEqual([2, 2]);

    const older = path.join(work, 'restore-first');
    await ebmOk(['restore', '-r', repo, first.snapshot as string, '--target', older]);
    expect(state(path.join(older, 'shop.db'))).toEqual(firstState);
  });

  it('restores over the original only with --overwrite, and never while another process has it open', async () => {
    const snapshot = summaryOf(await ebmOk(['backup', '-r', repo, '--translator', 'sqlite', db, '--json'])).snapshot as string;
    const saved = state(db);
    sqlite(db, 'DELETE FROM orders; UPDATE items SET qty = 0;');
    const changed = state(db);

    const refused = await ebm(['restore', '-r', repo, snapshot, '--target', dbDir]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('E_TARGET_NOT_EMPTY');

    const holder = await openInSqlite3(db);
    try {
      const inUse = await ebm(['restore', '-r', repo, snapshot, '--target', dbDir, '--overwrite']);
      expect(inUse.code).not.toBe(0);
      expect(inUse.stderr).toContain('E_TARGET_IN_USE');
      expect(inUse.stderr).toContain(db);
    } finally {
      await closeSqlite3(holder);
    }
    expect(state(db)).toEqual(changed);

    await ebmOk(['restore', '-r', repo, snapshot, '--target', dbDir, '--overwrite']);
    expect(state(db)).toEqual(saved);
    expect(fs.readdirSync(dbDir).sort()).toEqual(['shop.db']);
  });

  it('refuses a file that is not a database with E_INVALID_SOURCE and saves no snapshot', async () => {
    const text = path.join(work, 'notes.db');
    fs.writeFileSync(text, 'plain text, not SQLite\n'.repeat(100));
    const before = (await ebmOk(['snapshots', '-r', repo, '--json'])).lines.filter((l) => l.type === 'result').length;
    const run = await ebm(['backup', '-r', repo, '--translator', 'sqlite', text]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('E_INVALID_SOURCE');
    const after = (await ebmOk(['snapshots', '-r', repo, '--json'])).lines.filter((l) => l.type === 'result').length;
    expect(after).toBe(before);
  });
});

/** A `sqlite3` shell with the WAL database open (it holds SQLite's shared lock until it exits). */
async function openInSqlite3(file: string): Promise<ChildProcess> {
  const child = spawn('sqlite3', [file], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('opened') && resolve());
    child.on('error', reject);
    child.stdin!.write("SELECT 'opened' FROM items LIMIT 1;\n");
  });
  return child;
}

async function closeSqlite3(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  child.stdin!.end('.quit\n');
  await exited;
}
