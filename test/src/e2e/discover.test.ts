import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ebm, ebmOk, tempDir } from '../helpers/cli';

/**
 * `ebm discover` through the real CLI: the plugin's discover runs in its
 * worker thread, the report is printed (human and --json), recorded in the
 * repository's catalog, listed by `ebm catalog discoveries`, and kept across
 * a catalog rebuild (it is not derived from the repository).
 */
describe('ebm discover', () => {
  let work: string;
  let repo: string;
  let db: string;
  let catalogFile: string;
  const sqlite = (sql: string): string => execFileSync('sqlite3', [db, sql], { encoding: 'utf8' }).trim();

  beforeAll(async () => {
    work = tempDir('discover');
    repo = path.join(work, 'repo');
    db = path.join(work, 'app.db');
    catalogFile = path.join(work, 'catalog.sqlite');
    sqlite(`PRAGMA journal_mode = WAL;
      CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT);
      CREATE TABLE posts(id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), body TEXT);
      CREATE INDEX posts_user ON posts(user_id);
      CREATE VIEW active AS SELECT * FROM users;
      WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 500) INSERT INTO users SELECT x, 'user ' || x FROM n;
      INSERT INTO posts(user_id, body) SELECT id, hex(randomblob(40)) FROM users WHERE id % 5 = 0;`);
    await ebmOk(['init', '-r', repo]);
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  const report = (run: { lines: Array<Record<string, unknown>> }): Record<string, unknown> => {
    const result = run.lines.find((l) => l.type === 'result' && l.op === 'discover');
    if (!result) throw new Error('no discover result line');
    return result.report as Record<string, unknown>;
  };

  it('reports tables, row counts, size and journal mode of a database, and records it in the catalog', async () => {
    const run = await ebmOk(['discover', '--translator', 'sqlite', db, '-r', repo, '--catalog-file', catalogFile, '--json']);
    const r = report(run);
    expect(r).toMatchObject({
      path: db,
      journalMode: 'wal',
      pageSize: 4096,
      tables: [{ name: 'posts', rows: 100 }, { name: 'users', rows: 500 }],
      indexes: ['posts_user'],
      views: ['active'],
    });
    expect(r.sizeBytes).toBe(Number(sqlite('PRAGMA page_count')) * 4096);

    const human = await ebmOk(['discover', '-t', 'sqlite', db]);
    expect(human.stdout).toMatch(/journalMode: wal/);
    expect(human.stdout).toMatch(/users\s+500 rows/);

    sqlite("INSERT INTO users(name) VALUES ('late');");
    await ebmOk(['discover', '-t', 'sqlite', db, '-r', repo, '--catalog-file', catalogFile]);
    const latest = await ebmOk(['catalog', 'discoveries', '-r', repo, '--catalog-file', catalogFile, '--json']);
    const listed = latest.lines.filter((l) => l.op === 'discovery');
    expect(listed).toHaveLength(1);
    expect((listed[0]!.report as { tables: unknown[] }).tables).toContainEqual({ name: 'users', rows: 501 });
    const all = await ebmOk(['catalog', 'discoveries', '--all', '-r', repo, '--catalog-file', catalogFile, '--json']);
    expect(all.lines.filter((l) => l.op === 'discovery')).toHaveLength(2);

    // A rebuild replaces everything derived from the repository, and keeps the discoveries.
    await ebmOk(['catalog', 'rebuild', '-r', repo, '--catalog-file', catalogFile]);
    const afterRebuild = await ebmOk(['catalog', 'discoveries', '--all', '-r', repo, '--catalog-file', catalogFile, '--json']);
    expect(afterRebuild.lines.filter((l) => l.op === 'discovery')).toHaveLength(2);
  });

  it('lists the layers of overlay directories that are not mounted (--provider overlay --lower/--upper), and records them', async () => {
    const lower = path.join(work, 'lower');
    const upper = path.join(work, 'upper');
    fs.mkdirSync(path.join(lower, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(lower, 'etc', 'os-release'), 'NAME=base\n');
    fs.mkdirSync(path.join(upper, 'home'), { recursive: true });
    fs.writeFileSync(path.join(upper, 'home', 'notes.txt'), 'mine');
    const run = await ebmOk(['discover', '--lower', lower, '--upper', upper, '-r', repo, '--catalog-file', catalogFile, '--json']);
    const r = report(run) as { layout: string; layers: Array<Record<string, unknown>> };
    expect(r.layout).toBe('overlayfs');
    expect(r.layers.map((l) => [l.kind, l.immutable, l.files, l.root])).toEqual([['base', true, 1, lower], ['upper', false, 1, upper]]);
    expect(r.layers[0]!.digest).toMatch(/^ebmtree\+sha256:[0-9a-f]{64}$/);
    const human = await ebmOk(['discover', '--lower', lower, '--upper', upper]);
    expect(human.stdout).toMatch(/layers \(2\):\n\s+0 lower-0\s+base\s+immutable/);
    const listed = await ebmOk(['catalog', 'discoveries', '--plugin', 'overlay', '-r', repo, '--catalog-file', catalogFile, '--json']);
    expect(listed.lines.filter((l) => l.op === 'discovery')).toHaveLength(1);
  });

  it('gives typed errors: a translator without discovery, a missing database, a file that is not one', async () => {
    const unsupported = await ebm(['discover', '-t', 'filesystem', work]);
    expect(unsupported.code).not.toBe(0);
    expect(unsupported.stderr).toMatch(/E_NOT_SUPPORTED: plugin filesystem does not implement discovery/);

    const missing = await ebm(['discover', '-t', 'sqlite', path.join(work, 'gone.db'), '--json']);
    expect(missing.code).not.toBe(0);
    expect(missing.lines.find((l) => l.type === 'error')).toMatchObject({ error: { code: 'E_SOURCE_NOT_FOUND', op: 'discover', plugin: 'sqlite' } });

    const text = path.join(work, 'notes.txt');
    fs.writeFileSync(text, 'not a database, just some words\n'.repeat(200));
    const invalid = await ebm(['discover', '-t', 'sqlite', text, '--json']);
    expect(invalid.lines.find((l) => l.type === 'error')).toMatchObject({ error: { code: 'E_INVALID_SOURCE' } });

    const wrongKind = await ebm(['discover', '--provider', 'sqlite', db]);
    expect(wrongKind.stderr).toMatch(/sqlite is a translator, not a layer provider: use --translator sqlite/);
  });
});
