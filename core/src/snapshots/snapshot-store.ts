import { BLOB_ID_PATTERN, EbmError, isEbmError } from '@ebm/sdk';
import type { Repository } from '../repository/repository';
import type { Snapshot, SnapshotRecord } from '../repository/types';

/** A snapshot file that could not be read, with the error (E_CORRUPT_OBJECT naming the file, usually). */
export interface SnapshotFailure {
  readonly id: string;
  readonly error: EbmError;
}

/**
 * All readable snapshots plus the ones that failed. A damaged snapshot file
 * never hides the others; callers decide: `ebm snapshots` prints the failures
 * as warnings, while anything that deletes data (prune) must refuse to run
 * when `failures` is not empty (use listSnapshotsStrict).
 */
export interface SnapshotListing {
  /** Sorted by time, oldest first (ties by id). */
  readonly snapshots: SnapshotRecord[];
  readonly failures: SnapshotFailure[];
}

export interface SnapshotFilter {
  readonly dataset?: string;
  readonly host?: string;
}

const LOAD_CONCURRENCY = 8;

/** Stores a snapshot (encrypted JSON under snapshots/<sha256 of the file>) and returns its id. */
export async function saveSnapshot(repo: Repository, snapshot: Snapshot): Promise<string> {
  validateSnapshot(snapshot, 'snapshot to save', 'E_INTERNAL');
  return repo.saveJsonFile('snapshots', snapshot);
}

/** Loads one snapshot by full id; E_CORRUPT_OBJECT naming snapshots/<id> if damaged, E_STORAGE_NOT_FOUND if missing. */
export async function loadSnapshot(repo: Repository, id: string): Promise<SnapshotRecord> {
  const doc = await repo.loadJsonFile<unknown>('snapshots', id);
  const snapshot = validateSnapshot(doc, `snapshots/${id}`, 'E_CORRUPT_OBJECT');
  return { ...snapshot, id };
}

export async function listSnapshots(repo: Repository): Promise<SnapshotListing> {
  const ids = await repo.listIds('snapshots');
  const snapshots: SnapshotRecord[] = [];
  const failures: SnapshotFailure[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ids.length) {
      const id = ids[next++]!;
      try {
        snapshots.push(await loadSnapshot(repo, id));
      } catch (err) {
        // Removed concurrently (e.g. by forget): simply gone.
        if (isEbmError(err) && err.code === 'E_STORAGE_NOT_FOUND') continue;
        if (!isEbmError(err) || err.code !== 'E_CORRUPT_OBJECT') throw err;
        failures.push({ id, error: err });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(LOAD_CONCURRENCY, ids.length) }, worker));
  return { snapshots: snapshots.sort(byTime), failures: failures.sort((a, b) => a.id.localeCompare(b.id)) };
}

/** Every snapshot, or the first failure thrown: for operations that must see all of them (prune, check). */
export async function listSnapshotsStrict(repo: Repository): Promise<SnapshotRecord[]> {
  const { snapshots, failures } = await listSnapshots(repo);
  if (failures.length > 0) throw failures[0]!.error;
  return snapshots;
}

/**
 * `ebm` snapshot selector: 'latest' (newest matching `filter`) or an id /
 * unique id prefix. E_SNAPSHOT_NOT_FOUND when nothing matches (also when the
 * named snapshot does not match the filter); E_AMBIGUOUS_ID for a prefix of several.
 */
export async function findSnapshot(repo: Repository, selector: string, filter: SnapshotFilter = {}): Promise<SnapshotRecord> {
  if (selector === 'latest') {
    const found = (await listSnapshots(repo)).snapshots.filter((s) => matches(s, filter)).pop();
    if (!found) throw new EbmError('E_SNAPSHOT_NOT_FOUND', `no snapshot${describeFilter(filter)} in ${repo.backend.location}`, { subject: 'latest' });
    return found;
  }
  const snapshot = await loadSnapshot(repo, await repo.resolveId('snapshots', selector));
  if (!matches(snapshot, filter)) {
    throw new EbmError('E_SNAPSHOT_NOT_FOUND', `snapshot ${snapshot.id.slice(0, 8)} is not one${describeFilter(filter)} (it is dataset "${snapshot.dataset}" on host "${snapshot.host}")`, { subject: selector });
  }
  return snapshot;
}

/** Removes a snapshot file by id or unique prefix; returns the full id. Its data stays until prune. */
export async function removeSnapshot(repo: Repository, idOrPrefix: string): Promise<string> {
  const id = await repo.resolveId('snapshots', idOrPrefix);
  await repo.backend.remove({ type: 'snapshots', name: id });
  return id;
}

/**
 * The newest readable snapshot of a dataset (on `host`, if given): the parent
 * of the next incremental backup. Damaged snapshots are skipped (the backup
 * then just reads more); undefined when there is none.
 */
export async function latestForDataset(repo: Repository, dataset: string, host?: string): Promise<SnapshotRecord | undefined> {
  return (await listSnapshots(repo)).snapshots.filter((s) => matches(s, { dataset, host })).pop();
}

function matches(s: Snapshot, filter: SnapshotFilter): boolean {
  return (filter.dataset === undefined || s.dataset === filter.dataset) && (filter.host === undefined || s.host === filter.host);
}

function describeFilter(filter: SnapshotFilter): string {
  const parts = [filter.dataset !== undefined && `dataset "${filter.dataset}"`, filter.host !== undefined && `host "${filter.host}"`].filter(Boolean);
  return parts.length ? ` of ${parts.join(' on ')}` : '';
}

function byTime(a: SnapshotRecord, b: SnapshotRecord): number {
  return Date.parse(a.time) - Date.parse(b.time) || a.id.localeCompare(b.id);
}

/** Checks the fields every reader relies on; anything else is carried along as stored. */
function validateSnapshot(doc: unknown, what: string, code: 'E_CORRUPT_OBJECT' | 'E_INTERNAL'): Snapshot {
  const s = doc as Partial<Snapshot> | null;
  const problem =
    typeof s !== 'object' || s === null ? 'is not a JSON object'
    : s.v !== 1 ? `has unknown snapshot version ${JSON.stringify(s.v)}`
    : typeof s.time !== 'string' || Number.isNaN(Date.parse(s.time)) ? 'has an invalid "time"'
    : typeof s.host !== 'string' || typeof s.username !== 'string' || typeof s.dataset !== 'string' || typeof s.source !== 'string' ? 'lacks host, username, dataset or source'
    : typeof s.translator !== 'object' || s.translator === null || typeof s.translator.id !== 'string' ? 'has an invalid "translator"'
    : !Array.isArray(s.tags) || !s.tags.every((t) => typeof t === 'string') ? 'has invalid "tags"'
    : typeof s.tree !== 'string' || !BLOB_ID_PATTERN.test(s.tree) ? 'has an invalid root "tree" id'
    : s.parent !== undefined && typeof s.parent !== 'string' ? 'has an invalid "parent"'
    : typeof s.summary !== 'object' || s.summary === null ? 'has no "summary"'
    : undefined;
  if (problem) throw new EbmError(code, `${what} ${problem}`, { subject: what });
  return s as Snapshot;
}
