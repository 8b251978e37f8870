import type { Database } from 'better-sqlite3';
import { EbmError } from '@ebm/sdk';
import type { EntryKind } from '@ebm/sdk';
import type { FindHit } from './catalog-types';
import { ENTRY_SELECT, EntryRow } from './entry-row';
import { compilePattern } from './glob';

export const DEFAULT_FIND_LIMIT = 1000;

export interface FindQuery {
  readonly pattern: string;
  readonly dataset?: string;
  /** A full snapshot id (already resolved). */
  readonly snapshotId?: string;
  readonly repositoryId?: string;
  readonly kind?: EntryKind;
  readonly limit?: number;
  readonly strategy?: 'auto' | 'walk-up' | 'walk-down';
}

interface FindRow extends EntryRow {
  readonly snapshot_id: string;
  readonly dataset: string;
  readonly host: string;
  readonly time: string;
  readonly path: string;
}

/** Up to this many matching entries, find walks up from them; beyond, it walks down each snapshot. */
export const WALK_UP_MAX_HITS = 5000;

/**
 * Strategy: names are interned, so the name part of the pattern (its last
 * segment, as an SQLite GLOB) is matched against the distinct names — a scan
 * of `names` (an index range when the name starts with a literal), which
 * grows with the number of distinct names, not with the number of snapshots.
 * The matching entries (tree, position) go into a temporary table. Then:
 * - few matches (≤ WALK_UP_MAX_HITS): one recursive query walks up from their
 *   trees through `entries.subtree` to every snapshot root that reaches them,
 *   building the directory paths on the way; a subtree shared by many
 *   snapshots is walked once;
 * - many matches (e.g. `*.txt`): snapshots are visited newest first; for each,
 *   a recursive query walks down its directories only (partial index
 *   `entries_dirs`; for an anchored pattern only the directories that can
 *   hold a match, e.g. `docs/…` for `docs/**\/*.pdf`) and joins the matches,
 *   so `--limit` stops after the first snapshots instead of producing every
 *   hit of every snapshot.
 * The full path is then tested against the pattern's regex. Results: newest
 * snapshot first, then by path.
 *
 * FTS5 with the trigram tokenizer was considered for the name scan: it speeds
 * up substring patterns of 3+ literal characters, but roughly triples the
 * size of the name data, does not help `?`/`[…]`/short patterns, and the
 * distinct-name scan takes milliseconds for 100k names (bench/catalog-bench.js).
 */
export function findInCatalog(db: Database, query: FindQuery): FindHit[] {
  const limit = query.limit ?? DEFAULT_FIND_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) throw new EbmError('E_USAGE', `find: --limit must be a positive integer, not ${String(query.limit)}`);
  const compiled = compilePattern(query.pattern);
  const kind = compiled.dirsOnly ? 'dir' : query.kind;
  if (compiled.dirsOnly && query.kind !== undefined && query.kind !== 'dir') return [];

  db.exec('CREATE TEMP TABLE IF NOT EXISTS find_hits (tree INTEGER NOT NULL, pos INTEGER NOT NULL, PRIMARY KEY (tree, pos)) WITHOUT ROWID; DELETE FROM find_hits;');
  try {
    const hitWhere = [compiled.nameGlob !== undefined ? 'n.name GLOB @glob' : '1', kind !== undefined ? 'e.kind = @kind' : '1'].join(' AND ');
    const hitParams: Record<string, string> = {};
    if (compiled.nameGlob !== undefined) hitParams.glob = compiled.nameGlob;
    if (kind !== undefined) hitParams.kind = kind;
    const { changes } = db.prepare(`INSERT INTO find_hits (tree, pos) SELECT e.tree, e.pos FROM names n JOIN entries e ON e.name = n.id WHERE ${hitWhere}`).run(hitParams);
    if (changes === 0) return [];

    const snapWhere = [
      query.dataset !== undefined ? 's.dataset = @dataset' : '1',
      query.snapshotId !== undefined ? 's.snapshot_id = @snapshotId' : '1',
      query.repositoryId !== undefined ? 's.repository = (SELECT id FROM repositories WHERE repo_id = @repositoryId)' : '1',
    ].join(' AND ');
    const snapParams: Record<string, string> = {};
    if (query.dataset !== undefined) snapParams.dataset = query.dataset;
    if (query.snapshotId !== undefined) snapParams.snapshotId = query.snapshotId;
    if (query.repositoryId !== undefined) snapParams.repositoryId = query.repositoryId;

    const hits: FindHit[] = [];
    const collect = (rows: Iterable<FindRow>): boolean => {
      for (const row of rows) {
        if (!compiled.regex.test(row.path)) continue;
        hits.push(toHit(row));
        if (hits.length >= limit) return true;
      }
      return false;
    };
    const strategy = query.strategy ?? 'auto';
    if (strategy === 'walk-up' || (strategy === 'auto' && changes <= WALK_UP_MAX_HITS)) {
      collect(db.prepare(`${WALK_UP} WHERE ${snapWhere} ORDER BY s.time_ms DESC, s.snapshot_id, path`).iterate(snapParams) as IterableIterator<FindRow>);
      return hits;
    }
    const snapshots = db.prepare(`SELECT s.id FROM snapshots s WHERE ${snapWhere} ORDER BY s.time_ms DESC, s.snapshot_id`).all(snapParams) as Array<{ id: number }>;
    const prune = compiled.mayContainMatches;
    if (prune) db.function('ebm_find_dir', { deterministic: true }, (dir: unknown) => (prune(String(dir)) ? 1 : 0));
    const down = db.prepare(prune ? WALK_DOWN.replace('/*prune*/', `AND ebm_find_dir(${DOWN_DIR})`) : WALK_DOWN);
    for (const { id } of snapshots) {
      if (collect(down.iterate({ snapshot: id }) as IterableIterator<FindRow>)) break;
    }
    return hits;
  } finally {
    db.exec('DELETE FROM find_hits');
  }
}

const PATH_OF = (dir: string) => `CASE WHEN ${dir} = '' THEN n.name ELSE ${dir} || '/' || n.name END`;

/** From the matching entries up to every snapshot root (the caller appends WHERE on `s` and ORDER BY). */
const WALK_UP = `
  WITH RECURSIVE up (origin, tree, dir) AS (
    SELECT DISTINCT tree, tree, '' FROM find_hits
    UNION ALL
    SELECT up.origin, p.tree, CASE WHEN up.dir = '' THEN pn.name ELSE pn.name || '/' || up.dir END
    FROM up JOIN entries p ON p.subtree = up.tree JOIN names pn ON pn.id = p.name
  )
  SELECT s.snapshot_id, s.dataset, s.host, s.time, ${PATH_OF('up.dir')} AS path, ${ENTRY_SELECT}
  FROM up
  JOIN snapshots s ON s.root_tree = up.tree
  JOIN find_hits h ON h.tree = up.origin
  JOIN entries e ON e.tree = h.tree AND e.pos = h.pos
  JOIN names n ON n.id = e.name`;

const DOWN_DIR = "CASE WHEN down.dir = '' THEN dn.name ELSE down.dir || '/' || dn.name END";

/** From one snapshot's root down through its directories, joined with the matching entries. */
const WALK_DOWN = `
  WITH RECURSIVE down (tree, dir) AS (
    SELECT root_tree, '' FROM snapshots WHERE id = @snapshot
    UNION ALL
    SELECT d.subtree, ${DOWN_DIR}
    FROM down JOIN entries d ON d.tree = down.tree AND d.subtree IS NOT NULL JOIN names dn ON dn.id = d.name
    WHERE 1 /*prune*/
  )
  SELECT s.snapshot_id, s.dataset, s.host, s.time, ${PATH_OF('down.dir')} AS path, ${ENTRY_SELECT}
  FROM down
  JOIN find_hits h ON h.tree = down.tree
  JOIN entries e ON e.tree = h.tree AND e.pos = h.pos
  JOIN names n ON n.id = e.name
  JOIN snapshots s ON s.id = @snapshot
  ORDER BY path`;

function toHit(row: FindRow): FindHit {
  const hit: { -readonly [K in keyof FindHit]?: FindHit[K] } = {
    snapshotId: row.snapshot_id,
    dataset: row.dataset,
    host: row.host,
    time: row.time,
    path: row.path,
    kind: row.kind as EntryKind,
  };
  if (row.size !== null) hit.size = row.size;
  if (row.mtime_ns !== null) hit.mtimeNs = row.mtime_ns;
  if (row.fingerprint !== null) hit.fingerprint = row.fingerprint;
  return hit as FindHit;
}
