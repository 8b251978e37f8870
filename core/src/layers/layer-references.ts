import { EbmError, isEbmError } from '@ebm/sdk';
import type { SnapshotRecord } from '../repository/types';
import { LAYER_TAG, layeredRecordOf } from './endpoint-snapshot';

/**
 * The repository rules for layered endpoints (docs/format.md, "Layered
 * snapshots"): an endpoint snapshot is complete only with the layer
 * snapshots it names, so
 * - forget never removes a layer snapshot that an endpoint snapshot names
 *   (by id: refused, naming the endpoints; by policy: kept, with the reason);
 * - check reports an endpoint snapshot whose layer snapshot is missing.
 * Pure functions over snapshot listings; callers do the I/O.
 */

/** Layer snapshot id → the endpoint snapshots that name it. */
export function layerReferences(snapshots: readonly SnapshotRecord[]): Map<string, SnapshotRecord[]> {
  const refs = new Map<string, SnapshotRecord[]>();
  for (const s of snapshots) {
    const record = safeRecord(s);
    for (const l of record?.layers ?? []) {
      if (l.snapshot === null) continue;
      const list = refs.get(l.snapshot) ?? [];
      list.push(s);
      refs.set(l.snapshot, list);
    }
  }
  return refs;
}

export interface HeldBack<T> {
  readonly snapshot: T;
  /** The endpoint snapshots that name it (empty when held because some snapshot could not be read). */
  readonly endpoints: readonly SnapshotRecord[];
  readonly reason: string;
}

/**
 * Splits a forget policy's removals into those that may go and those held
 * back because an endpoint snapshot that is NOT itself being removed names
 * them (an endpoint removed in the same run no longer protects its layers).
 * `all` must be every snapshot of the repository, not just the policy's
 * group. When some snapshot files could not be read (`unreadable` > 0),
 * every layer snapshot is held: an unreadable endpoint may name it.
 */
export function holdReferencedLayers<T extends SnapshotRecord>(all: readonly SnapshotRecord[], remove: readonly T[], unreadable = 0): { remove: T[]; held: HeldBack<T>[] } {
  const going = new Set(remove.map((s) => s.id));
  const refs = layerReferences(all.filter((s) => !going.has(s.id)));
  const out: T[] = [];
  const held: HeldBack<T>[] = [];
  for (const s of remove) {
    const endpoints = refs.get(s.id) ?? [];
    if (endpoints.length > 0) held.push({ snapshot: s, endpoints, reason: `layer of endpoint snapshot(s) ${names(endpoints)}` });
    else if (unreadable > 0 && s.tags.includes(LAYER_TAG)) held.push({ snapshot: s, endpoints: [], reason: `layer snapshot kept: ${unreadable} snapshot file(s) could not be read and may name it` });
    else out.push(s);
  }
  return { remove: out, held };
}

/**
 * Forget by id: throws E_SNAPSHOT_IN_USE naming the endpoints when any of
 * `ids` is a layer snapshot an endpoint snapshot outside `ids` names.
 */
export function assertForgettable(all: readonly SnapshotRecord[], doomed: readonly SnapshotRecord[]): void {
  const { held } = holdReferencedLayers(all, doomed);
  if (held.length === 0) return;
  const lines = held.map((h) => `${h.snapshot.id.slice(0, 8)} (${h.snapshot.dataset}) is a layer of endpoint snapshot(s) ${names(h.endpoints)}`);
  throw new EbmError('E_SNAPSHOT_IN_USE', `refusing to forget ${lines.join('; ')}: forget those endpoint snapshots first (or together with it)`, { subject: held[0]!.snapshot.id });
}

/** Check: every layer an endpoint snapshot names must exist. One message per missing layer. */
export function missingLayerProblems(snapshots: readonly SnapshotRecord[]): { subject: string; message: string }[] {
  const ids = new Set(snapshots.map((s) => s.id));
  const problems: { subject: string; message: string }[] = [];
  for (const s of snapshots) {
    let record;
    try {
      record = layeredRecordOf(s);
    } catch (err) {
      problems.push({ subject: s.id, message: `endpoint snapshot ${s.id} has an unreadable layer record: ${isEbmError(err) ? err.message : String(err)}` });
      continue;
    }
    for (const l of record?.layers ?? []) {
      if (l.snapshot !== null && !ids.has(l.snapshot)) {
        problems.push({ subject: s.id, message: `endpoint snapshot ${s.id} (${s.dataset}) names layer ${l.id} snapshot ${l.snapshot}, which does not exist: that layer cannot be restored` });
      }
    }
  }
  return problems;
}

function safeRecord(s: SnapshotRecord): ReturnType<typeof layeredRecordOf> {
  try {
    return layeredRecordOf(s);
  } catch {
    // A malformed record still protects what it seems to name.
    const layers = (s.meta?.layered as { layers?: unknown } | undefined)?.layers;
    if (!Array.isArray(layers)) return undefined;
    return { layers: layers.filter((l): l is { snapshot: string } => typeof (l as { snapshot?: unknown })?.snapshot === 'string') } as unknown as ReturnType<typeof layeredRecordOf>;
  }
}

function names(endpoints: readonly SnapshotRecord[]): string {
  return endpoints.map((e) => `${e.id.slice(0, 8)} (${e.dataset})`).join(', ');
}
