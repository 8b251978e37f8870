/**
 * A separate Node process that uses a database the way an application does,
 * for tests that need another process's SQLite locks (a lock held by a thread
 * of the test's own process would not conflict the same way). Run as
 *
 *   node helper-process.js writer <db> <durationMs>   commits transfers until the time is up
 *   node helper-process.js hold-exclusive <db> <ms>   holds BEGIN EXCLUSIVE for <ms>, then rolls back
 *   node helper-process.js hold-write <db>            holds a large uncommitted write transaction until killed
 *   node helper-process.js hold-open <db>             keeps an idle connection open until killed
 *
 * It prints one line 'ready' once it holds what it was asked to hold (the
 * writer: after its first commit), and the writer prints 'commits <n>' when it
 * stops. Each writer commit moves money between two accounts (the total stays
 * constant), adds a ledger row, and increments `counter.commits` while adding
 * one `commits` row, so every committed state has counter = count(commits).
 */
import Database from 'better-sqlite3';

function main(argv: readonly string[]): void {
  const [mode, file, arg] = argv;
  if (mode === undefined || file === undefined) throw new Error('usage: helper-process.js <mode> <db> [ms]');
  const db = new Database(file, { fileMustExist: true, timeout: 60000 });
  const ready = (): void => void process.stdout.write('ready\n');
  switch (mode) {
    case 'writer':
      return runWriter(db, Number(arg ?? 2000), ready);
    case 'hold-exclusive':
      db.exec('BEGIN EXCLUSIVE');
      db.prepare('UPDATE counter SET commits = commits WHERE id = 1').run();
      ready();
      setTimeout(() => {
        db.exec('ROLLBACK');
        db.close();
      }, Number(arg ?? 1000));
      return;
    case 'hold-write':
      // a tiny page cache makes the update spill: the -journal exists and the
      // database file already holds uncommitted pages (a hot journal if killed)
      db.pragma('cache_size = 2');
      db.exec('BEGIN IMMEDIATE');
      db.prepare("UPDATE ledger SET memo = memo || ' (pending)' WHERE id % 7 = 0").run();
      ready();
      setInterval(() => undefined, 1000);
      return;
    case 'hold-open':
      db.prepare('SELECT count(*) FROM counter').get();
      ready();
      setInterval(() => undefined, 1000);
      return;
    default:
      throw new Error(`unknown mode ${mode}`);
  }
}

function runWriter(db: Database.Database, durationMs: number, ready: () => void): void {
  const accounts = Number(db.prepare('SELECT count(*) FROM accounts').pluck().get());
  const move = db.prepare('UPDATE accounts SET balance = balance + ? WHERE id = ?');
  const log = db.prepare('INSERT INTO ledger(account_id, amount, memo) VALUES (?, ?, ?)');
  const bump = db.prepare('UPDATE counter SET commits = commits + 1 WHERE id = 1 RETURNING commits');
  const record = db.prepare("INSERT INTO commits(n, at) VALUES (?, strftime('%Y-%m-%d %H:%M:%f', 'now'))");
  const commit = db.transaction((i: number) => {
    const a = 1 + ((i * 7919) % accounts);
    const b = 1 + ((i * 104729 + 17) % accounts);
    const amount = 1 + (i % 50);
    move.run(-amount, a);
    move.run(amount, b);
    log.run(a, -amount, `transfer ${i} to ${b} `.repeat(4));
    const n = (bump.get() as { commits: number }).commits;
    record.run(n);
  });
  const stopAt = Date.now() + durationMs;
  let commits = 0;
  const step = (): void => {
    // A few commits per turn, then yield so a SIGTERM or the deadline is noticed.
    for (let k = 0; k < 5 && Date.now() < stopAt; k++) commit.immediate(commits++);
    if (commits === 5) ready();
    if (Date.now() < stopAt) setImmediate(step);
    else {
      db.close();
      process.stdout.write(`commits ${commits}\n`);
    }
  };
  step();
}

main(process.argv.slice(2));
