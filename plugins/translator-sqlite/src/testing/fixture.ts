import * as path from 'node:path';
import Database from 'better-sqlite3';

/**
 * A generated test database (fixtures are made by code, never committed):
 * accounts whose balances always sum to ACCOUNT_BALANCE × accounts, a ledger
 * referencing them (foreign keys), and a commit counter the writer process
 * keeps equal to the number of rows in `commits`. Deterministic for a given
 * seed. Exported for this plugin's tests and for the SDK conformance harness.
 */
export interface FixtureOptions {
  /** File name inside the directory (default 'app.db'). */
  readonly name?: string;
  readonly journalMode?: 'wal' | 'delete';
  readonly pageSize?: number;
  readonly accounts?: number;
  readonly ledgerRows?: number;
  readonly seed?: number;
}

export const ACCOUNT_BALANCE = 1000;
export const FIXTURE_USER_VERSION = 7;
export const FIXTURE_APPLICATION_ID = 0x45424d31;

/** Creates the database in `dir` and returns its path. */
export function createFixtureDatabase(dir: string, options: FixtureOptions = {}): string {
  const file = path.join(dir, options.name ?? 'app.db');
  const rand = prng(options.seed ?? 1);
  const db = new Database(file);
  try {
    db.pragma(`page_size = ${options.pageSize ?? 4096}`);
    db.pragma(`journal_mode = ${options.journalMode ?? 'delete'}`);
    db.pragma(`user_version = ${FIXTURE_USER_VERSION}`);
    db.pragma(`application_id = ${FIXTURE_APPLICATION_ID}`);
    db.exec(`
      CREATE TABLE accounts(id INTEGER PRIMARY KEY, owner TEXT NOT NULL, balance INTEGER NOT NULL, note TEXT);
      CREATE TABLE ledger(id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES accounts(id), amount INTEGER NOT NULL, memo TEXT);
      CREATE TABLE counter(id INTEGER PRIMARY KEY CHECK (id = 1), commits INTEGER NOT NULL);
      CREATE TABLE commits(n INTEGER PRIMARY KEY, at TEXT NOT NULL);
      INSERT INTO counter VALUES (1, 0);
    `);
    const accounts = options.accounts ?? 2000;
    const ledgerRows = options.ledgerRows ?? 50000;
    const addAccount = db.prepare('INSERT INTO accounts(id, owner, balance, note) VALUES (?, ?, ?, ?)');
    const addLedger = db.prepare('INSERT INTO ledger(account_id, amount, memo) VALUES (?, ?, ?)');
    db.transaction(() => {
      for (let i = 1; i <= accounts; i++) addAccount.run(i, `owner-${i}`, ACCOUNT_BALANCE, words(rand, 8));
      for (let i = 0; i < ledgerRows; i++) addLedger.run(1 + Math.floor(rand() * accounts), Math.floor(rand() * 2000) - 1000, words(rand, 12));
    })();
    db.exec('CREATE INDEX ledger_account ON ledger(account_id)'); // after the load, as a bulk import does: its pages sit together
  } finally {
    db.close();
  }
  return file;
}

export interface MutationResult {
  readonly updated: number;
  readonly inserted: number;
}

export interface MutationOptions {
  /** Share of the rows updated, and of new rows inserted (default 0.01). */
  readonly fraction?: number;
  /** Different rounds change different rows (default 1). */
  readonly round?: number;
  /**
   * 'recent' (default): the updated ledger rows are among the newest, as in
   * most applications (hot recent rows), so few pages change. 'scattered':
   * updated rows are spread over the whole table — the worst case for any
   * page-level incremental, since most pages then hold a changed row.
   */
  readonly spread?: 'recent' | 'scattered';
}

/**
 * Changes about `fraction` of the rows, as an application would: moves money
 * between a few pairs of accounts (the total stays the same), edits ledger
 * memos, and appends `fraction` new ledger rows.
 */
export function mutateFixtureDatabase(file: string, options: MutationOptions = {}): MutationResult {
  const fraction = options.fraction ?? 0.01;
  const rand = prng(1000 + (options.round ?? 1));
  const db = new Database(file, { fileMustExist: true });
  try {
    const accounts = Number(db.prepare('SELECT count(*) FROM accounts').pluck().get());
    const ledger = Number(db.prepare('SELECT max(id) FROM ledger').pluck().get() ?? 0);
    const move = db.prepare('UPDATE accounts SET balance = balance + ? WHERE id = ?');
    const memo = db.prepare('UPDATE ledger SET memo = ? WHERE id = ?');
    const add = db.prepare('INSERT INTO ledger(account_id, amount, memo) VALUES (?, ?, ?)');
    const changes = Math.max(1, Math.round(ledger * fraction));
    // 'recent': the newest 4 × changes rows (at least 1); 'scattered': all of them
    const window = options.spread === 'scattered' ? ledger : Math.min(ledger, 4 * changes);
    let updated = 0;
    let inserted = 0;
    db.transaction(() => {
      for (let i = 0; i < Math.max(1, Math.round((accounts * fraction) / 2)); i++) {
        const amount = Math.floor(rand() * 100);
        updated += move.run(-amount, 1 + Math.floor(rand() * accounts)).changes;
        updated += move.run(amount, 1 + Math.floor(rand() * accounts)).changes;
      }
      for (let i = 0; i < changes; i++) {
        updated += memo.run(words(rand, 12), ledger - Math.floor(rand() * window)).changes;
        add.run(1 + Math.floor(rand() * accounts), Math.floor(rand() * 2000) - 1000, words(rand, 12));
        inserted++;
      }
    })();
    return { updated, inserted };
  } finally {
    db.close();
  }
}

/** What a test checks on a restored (or live) fixture database. */
export interface FixtureState {
  /** PRAGMA integrity_check's rows joined; 'ok' when sound. */
  readonly integrity: string;
  readonly foreignKeyViolations: number;
  readonly journalMode: string;
  readonly accounts: number;
  readonly totalBalance: number;
  readonly ledgerRows: number;
  /** The writer's counter and the number of commit rows: equal in every committed state. */
  readonly counter: number;
  readonly commitRows: number;
  readonly userVersion: number;
  readonly applicationId: number;
}

/** The writer's commit counter, read with a long busy timeout (safe while a writer process runs). */
export function committedCounter(file: string): number {
  const db = new Database(file, { fileMustExist: true, timeout: 30000 });
  try {
    return Number(db.prepare('SELECT commits FROM counter').pluck().get());
  } finally {
    db.close();
  }
}

export function fixtureState(file: string): FixtureState {
  const db = new Database(file, { fileMustExist: true, timeout: 30000 });
  try {
    const one = (sql: string): number => Number(db.prepare(sql).pluck().get());
    return {
      integrity: (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; '),
      foreignKeyViolations: (db.pragma('foreign_key_check') as unknown[]).length,
      journalMode: String(db.pragma('journal_mode', { simple: true })),
      accounts: one('SELECT count(*) FROM accounts'),
      totalBalance: one('SELECT total(balance) FROM accounts'),
      ledgerRows: one('SELECT count(*) FROM ledger'),
      counter: one('SELECT commits FROM counter'),
      commitRows: one('SELECT count(*) FROM commits'),
      userVersion: Number(db.pragma('user_version', { simple: true })),
      applicationId: Number(db.pragma('application_id', { simple: true })),
    };
  } finally {
    db.close();
  }
}

/** mulberry32: small, deterministic, good enough for fixtures. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = ['ba', 'ce', 'di', 'fo', 'gu', 'ha', 'je', 'ki', 'lo', 'mu', 'na', 'pe', 'ri', 'so', 'tu', 'va'];
function words(rand: () => number, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(SYLLABLES[Math.floor(rand() * 16)]! + SYLLABLES[Math.floor(rand() * 16)]! + SYLLABLES[Math.floor(rand() * 16)]!);
  return out.join(' ');
}
