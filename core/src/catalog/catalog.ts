import * as fs from 'node:fs';
import type { Database } from 'better-sqlite3';
import { EbmError, isErrorCode } from '@ebm/sdk';
import type { ErrorCode, JsonValue } from '@ebm/sdk';
import type { CatalogEntry, CatalogSnapshot, CatalogStatus, FindHit, FindOptions } from './catalog-types';
import { CatalogRecovery, openCatalogFile } from './catalog-file';
import { CatalogWriter } from './catalog-writer';
import { ENTRY_SELECT, EntryRow, rowToEntry } from './entry-row';
import { findInCatalog } from './find';
import { carryOverDiscoveries, DiscoveryFilter, DiscoveryRecord, listDiscoveries, recordDiscovery } from './discoveries';

interface SnapshotRow {
  readonly id: number;
  readonly repo_id: string;
  readonly snapshot_id: string;
  readonly dataset: string;
  readonly host: string;
  readonly username: string;
  readonly time: string;
  readonly translator: string;
  readonly translator_version: string;
  readonly source: string;
  readonly tags: string;
  readonly parent: string | null;
  readonly root_tree: number;
  readonly tree_blob: string;
  readonly summary: string;
}

interface ChildRow extends EntryRow {
  readonly subtree: number | null;
}

const SNAPSHOT_SELECT = `SELECT s.*, r.repo_id, t.blob_id AS tree_blob FROM snapshots s
  JOIN repositories r ON r.id = s.repository JOIN trees t ON t.id = s.root_tree`;

/**
 * The catalog: a SQLite index of a repository's snapshots and their entries,
 * on the host (see schema.ts for the layout). It is derived data: the
 * repository stays the only truth, `syncCatalog` brings the catalog up to
 * date, and a damaged file is set aside and rebuilt (`recovered` says so).
 *
 * One connection, synchronous queries (better-sqlite3): a directory listing
 * is a few primary-key lookups plus one range scan.
 */
export class Catalog {
  readonly file: string;
  /** Set when the file existed but was corrupt or of another schema version and was replaced. */
  readonly recovered?: CatalogRecovery;
  /** True when the catalog was empty when opened (new file, or replaced). */
  readonly fresh: boolean;
  readonly writer: CatalogWriter;
  readonly #db: Database;

  private constructor(file: string, db: Database, fresh: boolean, recovered?: CatalogRecovery) {
    this.file = file;
    this.#db = db;
    this.fresh = fresh;
    if (recovered) this.recovered = recovered;
    this.writer = new CatalogWriter(db);
  }

  /** Opens or creates the catalog at `file` (an explicit path; see defaultCatalogFile for the CLI's). */
  static open(file: string): Catalog {
    const opened = openCatalogFile(file);
    return new Catalog(file, opened.db, opened.fresh, opened.recovered);
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }

  /** Snapshots, oldest first (optionally of one repository / dataset). */
  snapshots(filter: { repositoryId?: string; dataset?: string } = {}): CatalogSnapshot[] {
    const rows = this.#db
      .prepare(`${SNAPSHOT_SELECT} WHERE (@repo IS NULL OR r.repo_id = @repo) AND (@dataset IS NULL OR s.dataset = @dataset) ORDER BY s.time_ms, s.snapshot_id`)
      .all({ repo: filter.repositoryId ?? null, dataset: filter.dataset ?? null }) as SnapshotRow[];
    return rows.map(toSnapshot);
  }

  /** Full ids of the snapshots indexed for a repository. */
  snapshotIds(repositoryId: string): string[] {
    return (this.#db.prepare('SELECT s.snapshot_id AS id FROM snapshots s JOIN repositories r ON r.id = s.repository WHERE r.repo_id = ? ORDER BY s.snapshot_id').all(repositoryId) as Array<{ id: string }>).map((r) => r.id);
  }

  /**
   * 'latest' (newest, optionally of `dataset`), a full id or a unique prefix →
   * the snapshot; E_SNAPSHOT_NOT_FOUND / E_AMBIGUOUS_ID like the repository's resolver.
   */
  resolveSnapshot(selector: string, filter: { repositoryId?: string; dataset?: string } = {}): CatalogSnapshot {
    const params = { repo: filter.repositoryId ?? null, dataset: filter.dataset ?? null };
    const scope = '(@repo IS NULL OR r.repo_id = @repo) AND (@dataset IS NULL OR s.dataset = @dataset)';
    const what = filter.dataset !== undefined ? ` of dataset "${filter.dataset}"` : '';
    if (selector === 'latest') {
      const row = this.#db.prepare(`${SNAPSHOT_SELECT} WHERE ${scope} ORDER BY s.time_ms DESC, s.snapshot_id DESC LIMIT 1`).get(params) as SnapshotRow | undefined;
      if (!row) throw new EbmError('E_SNAPSHOT_NOT_FOUND', `no snapshot${what} in the catalog ${this.file}`, { subject: 'latest' });
      return toSnapshot(row);
    }
    if (!/^[0-9a-f]+$/.test(selector)) throw new EbmError('E_SNAPSHOT_NOT_FOUND', `no snapshot ${JSON.stringify(selector)}: give 'latest', an id or an id prefix`, { subject: selector });
    const rows = this.#db
      .prepare(`${SNAPSHOT_SELECT} WHERE s.snapshot_id >= @lo AND s.snapshot_id < @hi AND ${scope} LIMIT 6`)
      .all({ ...params, lo: selector, hi: `${selector}g` }) as SnapshotRow[];
    if (rows.length === 1) return toSnapshot(rows[0]!);
    if (rows.length === 0) throw new EbmError('E_SNAPSHOT_NOT_FOUND', `no snapshot${what} matches ${JSON.stringify(selector)} in the catalog ${this.file}`, { subject: selector });
    throw new EbmError('E_AMBIGUOUS_ID', `snapshot id prefix ${JSON.stringify(selector)} matches several snapshots: ${rows.slice(0, 5).map((r) => r.snapshot_id.slice(0, 12)).join(', ')}${rows.length > 5 ? ', …' : ''}`, { subject: selector });
  }

  /** The entry at `path` in a snapshot; undefined for the root (''). E_PATH_NOT_IN_SNAPSHOT when absent. */
  entry(snapshotId: string, path: string): CatalogEntry | undefined {
    return this.#resolve(this.#snapshotRow(snapshotId), path).entry;
  }

  /**
   * The children of a directory of a snapshot, in stored order (names in
   * UTF-8 byte order), with metadata and the snapshot's error codes.
   * E_PATH_NOT_IN_SNAPSHOT when the path does not exist or is not a directory.
   */
  listDirectory(snapshotId: string, path = ''): CatalogEntry[] {
    return [...this.walk(snapshotId, path, false)];
  }

  /** Pre-order walk below a directory (like tree-walker's walkTree), or its children only. */
  *walk(snapshotId: string, path = '', recursive = true): Generator<CatalogEntry> {
    const snap = this.#snapshotRow(snapshotId);
    const found = this.#resolve(snap, path);
    if (found.tree === undefined) {
      throw new EbmError('E_PATH_NOT_IN_SNAPSHOT', `path ${path} in snapshot ${snap.snapshot_id.slice(0, 8)} is not a directory`, { subject: path });
    }
    const errors = this.#errors(snap.id);
    const children = this.#db.prepare(`SELECT ${ENTRY_SELECT}, e.subtree FROM entries e JOIN names n ON n.id = e.name WHERE e.tree = ? ORDER BY e.pos`);
    function* below(tree: number, prefix: string): Generator<CatalogEntry> {
      for (const row of children.all(tree) as ChildRow[]) {
        const childPath = prefix === '' ? row.name : `${prefix}/${row.name}`;
        yield rowToEntry(childPath, row, errors.get(childPath));
        if (recursive && row.subtree !== null) yield* below(row.subtree, childPath);
      }
    }
    yield* below(found.tree, normalizePath(path));
  }

  /** Searches names or paths across all snapshots (see glob.ts for the syntax, find.ts for how). Newest first. */
  /** Records what a discovery reported (see discoveries.ts). */
  recordDiscovery(record: DiscoveryRecord): void {
    recordDiscovery(this.#db, record);
  }

  /** Recorded discoveries, newest first. */
  discoveries(filter: DiscoveryFilter = {}): DiscoveryRecord[] {
    return listDiscoveries(this.#db, filter);
  }

  /** Copies the discoveries of the catalog file being replaced by a rebuild; returns how many. */
  carryOverDiscoveries(oldFile: string): number {
    return carryOverDiscoveries(this.#db, oldFile);
  }

  find(pattern: string, options: FindOptions = {}): FindHit[] {
    const snapshotId = options.snapshot !== undefined ? this.resolveSnapshot(options.snapshot, { repositoryId: options.repositoryId }).snapshotId : undefined;
    return findInCatalog(this.#db, { pattern, ...options, ...(snapshotId ? { snapshotId } : {}) });
  }

  status(): CatalogStatus {
    const count = (table: string) => (this.#db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    let sizeBytes = 0;
    for (const suffix of ['', '-wal']) {
      try {
        sizeBytes += fs.statSync(`${this.file}${suffix}`).size; // stat only: never open the file beside SQLite
      } catch {
        // no WAL right now
      }
    }
    return { file: this.file, sizeBytes, repositories: count('repositories'), snapshots: count('snapshots'), trees: count('trees'), entries: count('entries'), names: count('names') };
  }

  #snapshotRow(snapshotId: string): SnapshotRow {
    const row = this.#db.prepare(`${SNAPSHOT_SELECT} WHERE s.snapshot_id = ?`).get(snapshotId) as SnapshotRow | undefined;
    if (!row) throw new EbmError('E_SNAPSHOT_NOT_FOUND', `snapshot ${snapshotId.slice(0, 8)} is not in the catalog ${this.file}`, { subject: snapshotId });
    return row;
  }

  /** Follows `path` from the root: the directory's tree (for dirs and the root) and the entry. */
  #resolve(snap: SnapshotRow, path: string): { tree?: number; entry?: CatalogEntry } {
    const parts = normalizePath(path).split('/').filter((p) => p !== '');
    const child = this.#db.prepare(`SELECT ${ENTRY_SELECT}, e.subtree FROM names n JOIN entries e ON e.name = n.id WHERE n.name = ? AND e.tree = ?`);
    let tree: number | undefined = snap.root_tree;
    let entry: CatalogEntry | undefined;
    const errors = parts.length > 0 ? this.#errors(snap.id) : new Map<string, ErrorCode>();
    for (let i = 0; i < parts.length; i++) {
      const row: ChildRow | undefined = tree === undefined ? undefined : (child.get(parts[i], tree) as ChildRow | undefined);
      if (!row) throw new EbmError('E_PATH_NOT_IN_SNAPSHOT', `path ${path} does not exist in snapshot ${snap.snapshot_id.slice(0, 8)}`, { subject: path });
      const at = parts.slice(0, i + 1).join('/');
      entry = rowToEntry(at, row, errors.get(at));
      tree = row.subtree ?? undefined;
    }
    return { ...(tree !== undefined ? { tree } : {}), ...(entry ? { entry } : {}) };
  }

  #errors(snapshotRow: number): Map<string, ErrorCode> {
    const rows = this.#db.prepare('SELECT path, code FROM entry_errors WHERE snapshot = ?').all(snapshotRow) as Array<{ path: string; code: string }>;
    return new Map(rows.filter((r) => isErrorCode(r.code)).map((r) => [r.path, r.code as ErrorCode]));
  }
}

/** 'a/./b/' → 'a/b'; '' and '.' and '/' → ''. */
function normalizePath(path: string): string {
  return path.split('/').filter((p) => p !== '' && p !== '.').join('/');
}

function toSnapshot(r: SnapshotRow): CatalogSnapshot {
  return {
    snapshotId: r.snapshot_id,
    repositoryId: r.repo_id,
    dataset: r.dataset,
    host: r.host,
    username: r.username,
    time: r.time,
    translator: r.translator,
    translatorVersion: r.translator_version,
    source: r.source,
    tags: JSON.parse(r.tags) as string[],
    ...(r.parent !== null ? { parent: r.parent } : {}),
    tree: r.tree_blob,
    summary: JSON.parse(r.summary) as { [key: string]: JsonValue },
  };
}
