import type { Repository } from '../../repository/repository';
import type { SnapshotRecord } from '../../repository/types';
import { findSnapshot } from '../../snapshots/snapshot-store';

/** Resolves a snapshot argument: an id, a unique id prefix, or 'latest' (optionally of a dataset). */
export async function resolveSnapshotArg(repo: Repository, arg: string, dataset?: string): Promise<SnapshotRecord> {
  return findSnapshot(repo, arg, dataset ? { dataset } : undefined);
}
