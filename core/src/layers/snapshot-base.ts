import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { EbmError } from '@ebm/sdk';
import { walkTree } from '../browse/tree-walker';
import { BlobStore } from '../repository/blob-store';
import type { Repository } from '../repository/repository';
import type { SnapshotRecord } from '../repository/types';
import { findSnapshot, loadSnapshot } from '../snapshots/snapshot-store';
import { layeredRecordOf } from './endpoint-snapshot';

/**
 * A layer map's base image given as an earlier snapshot (`--base-snapshot`,
 * a layered dataset's `baseSnapshot`; docs/layers.md, "Base image from a
 * snapshot"). The provider never reads a repository: the host writes the
 * snapshot's entries as a listing file (the overlay provider's
 * `base-listing` option) and names the base layer `snapshot:<id>`
 * (`base-id`), and the endpoint snapshot then references the snapshot itself
 * as its base layer: nothing of it is read or stored again.
 */

/** The base layer's digest that stands for a snapshot used as a base image. */
export function snapshotBaseDigest(snapshotId: string): string {
  return `snapshot:${snapshotId}`;
}

/**
 * Resolves a base-snapshot selector: a snapshot id, a unique id prefix, or
 * `latest:DATASET` (the newest snapshot of that dataset). The snapshot must be
 * a plain filesystem snapshot: its tree is the machine's root as the layer
 * map sees it.
 */
export async function resolveBaseSnapshot(repo: Repository, selector: string): Promise<SnapshotRecord> {
  const latest = /^latest:(.+)$/.exec(selector);
  const found = latest ? await findSnapshot(repo, 'latest', { dataset: latest[1]! }) : await findSnapshot(repo, selector);
  if (found.translator.id !== 'filesystem' || layeredRecordOf(await loadSnapshot(repo, found.id)) !== undefined) {
    throw new EbmError('E_USAGE', `base snapshot ${found.id.slice(0, 8)} (dataset ${found.dataset}) is not a filesystem snapshot of a directory tree (translator ${found.translator.id}); a layer map's base must be one, e.g. a backup of the golden image with --translator filesystem`, { subject: selector });
  }
  return found;
}

/** Writes the snapshot's entries to `file` as the provider's base listing (JSON lines); resolves with the number of entries. */
export async function writeBaseListing(repo: Repository, snapshot: SnapshotRecord, file: string, signal?: AbortSignal): Promise<number> {
  const store = await BlobStore.open(repo);
  const out = createWriteStream(file, { mode: 0o600 });
  let count = 0;
  try {
    for await (const { path, entry } of walkTree(store, snapshot.tree)) {
      if (signal?.aborted) throw new EbmError('E_CANCELLED', `listing base snapshot ${snapshot.id.slice(0, 8)} was cancelled`);
      const line = JSON.stringify({
        path, kind: entry.kind, mode: entry.mode, uid: entry.uid, gid: entry.gid, size: entry.size, mtimeNs: entry.mtimeNs,
        ...(entry.target !== undefined ? { target: entry.target } : {}), ...(entry.rdev !== undefined ? { rdev: entry.rdev } : {}),
      });
      if (!out.write(`${line}\n`)) await once(out, 'drain');
      count++;
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
  return count;
}
