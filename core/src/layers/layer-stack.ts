import { decodeTree, EbmError, isEbmError } from '@ebm/sdk';
import type { BlobStore } from '../repository/blob-store';
import type { Repository } from '../repository/repository';
import type { SnapshotRecord } from '../repository/types';
import { loadSnapshot } from '../snapshots/snapshot-store';
import { layeredRecordOf } from './endpoint-snapshot';
import type { EndpointLayerRef } from './endpoint-snapshot';
import { mergeLayerViews } from './merge-layer-trees';
import type { MergedView } from './merge-layer-trees';

/** One stored layer of a stack: a layer snapshot with a tree of its own. */
export interface StackLayer {
  /** The layer as the stack names it; a layer of a nested layered snapshot gets the id `<outer id>.<inner id>` and its order in the flat stack. */
  readonly ref: EndpointLayerRef;
  readonly snapshot: SnapshotRecord;
}

/** How deep layered snapshots may nest (an endpoint on a base stored as a delta on a base stored as a delta …). */
const MAX_DEPTH = 32;

/**
 * The leaf layers of a layered snapshot, bottom first. A layer snapshot may
 * itself be layered — a base stored as an older base plus a delta
 * (docs/format.md, "Layered snapshots") — and is then replaced by its own
 * layers, recursively, so callers only ever see snapshots with real trees.
 * Every missing layer snapshot is named in one E_SNAPSHOT_NOT_FOUND before
 * anything is done; a cycle or nesting deeper than 32 is E_CORRUPT_OBJECT.
 */
export async function expandLayerStack(repo: Repository, top: SnapshotRecord, refs?: readonly EndpointLayerRef[]): Promise<StackLayer[]> {
  const record = layeredRecordOf(top);
  if (record === undefined) return [{ ref: { id: top.dataset, kind: 'base', order: 0, immutable: true, snapshot: top.id, action: 'referenced' }, snapshot: top }];
  const missing: string[] = [];
  const out: { ref: EndpointLayerRef; snapshot: SnapshotRecord }[] = [];
  const visit = async (list: readonly EndpointLayerRef[], prefix: string, seen: readonly string[]): Promise<void> => {
    if (seen.length > MAX_DEPTH) throw new EbmError('E_CORRUPT_OBJECT', `snapshot ${top.id.slice(0, 8)}: layered snapshots nest deeper than ${MAX_DEPTH}`, { subject: top.id });
    for (const ref of list) {
      const id = prefix + ref.id;
      if (ref.snapshot === null) {
        missing.push(`${id} (never stored)`);
        continue;
      }
      if (seen.includes(ref.snapshot)) throw new EbmError('E_CORRUPT_OBJECT', `snapshot ${top.id.slice(0, 8)}: layer ${id} names snapshot ${ref.snapshot.slice(0, 8)}, which contains itself`, { subject: top.id });
      let snapshot: SnapshotRecord;
      try {
        snapshot = await loadSnapshot(repo, ref.snapshot);
      } catch (err) {
        if (!isEbmError(err) || err.code !== 'E_STORAGE_NOT_FOUND') throw err;
        missing.push(`${id} (snapshot ${ref.snapshot.slice(0, 8)} is gone)`);
        continue;
      }
      const inner = layeredRecordOf(snapshot);
      if (inner === undefined) out.push({ ref: { ...ref, id, order: out.length }, snapshot });
      else await visit(inner.layers, `${id}.`, [...seen, ref.snapshot]);
    }
  };
  await visit(refs ?? record.layers, '', [top.id]);
  if (missing.length > 0) {
    throw new EbmError('E_SNAPSHOT_NOT_FOUND', `snapshot ${top.id.slice(0, 8)} (${top.dataset}) lacks layer(s) ${missing.join(', ')}: restore the layers that exist with --layer ID, or back the endpoint up again with those layers selected`, { subject: top.id });
  }
  return out;
}

/** The merged (flattened) view of a snapshot: its leaf layers merged with overlay's rules; an ordinary snapshot's own tree. */
export async function mergedViewOf(repo: Repository, store: BlobStore, snapshot: SnapshotRecord): Promise<MergedView & { readonly layers: readonly StackLayer[] }> {
  const layers = await expandLayerStack(repo, snapshot);
  const merged = await mergeLayerViews(
    layers.map((l) => ({ tree: l.snapshot.tree, ...(l.snapshot.root ? { root: l.snapshot.root } : {}) })),
    async (id) => decodeTree(await store.loadBlob(id), `tree ${id.slice(0, 12)}`).entries,
  );
  return { ...merged, layers };
}
