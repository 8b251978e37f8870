import type { Stats } from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { throwIfCancelled } from '@ebm/sdk';
import type { LayerEntryType } from '@ebm/sdk';
import { fsError } from './errors';
import { overlayMarks } from './overlay-marks';
import type { OverlayMarks } from './overlay-marks';

/** One entry of a layer directory, as the walk yields it. */
export interface WalkEntry {
  /** Source-relative POSIX path. */
  readonly path: string;
  readonly abs: string;
  readonly st: Stats;
  readonly type: LayerEntryType;
  readonly marks: OverlayMarks;
}

/**
 * Every entry under `root` (not `root` itself), depth-first pre-order with
 * names sorted, so every answer built from a walk is deterministic. Checks
 * the signal before each directory it reads. `skip` prunes a path and all
 * below it.
 */
export async function* walkLayer(root: string, signal: AbortSignal, op: string, skip?: (rel: string) => boolean, rel = ''): AsyncGenerator<WalkEntry> {
  throwIfCancelled(signal, op);
  const dir = rel === '' ? root : path.join(root, rel);
  let names: string[];
  try {
    names = (await fsp.readdir(dir)).sort();
  } catch (err) {
    throw fsError(err, dir, op);
  }
  for (const name of names) {
    const p = rel === '' ? name : `${rel}/${name}`;
    if (skip?.(p)) continue;
    const abs = path.join(dir, name);
    let st: Stats;
    try {
      st = await fsp.lstat(abs);
    } catch (err) {
      throw fsError(err, abs, op);
    }
    const entry: WalkEntry = { path: p, abs, st, type: typeOf(st), marks: overlayMarks(abs, st) };
    yield entry;
    if (entry.type === 'dir') yield* walkLayer(root, signal, op, skip, p);
  }
}

export function typeOf(st: Stats): LayerEntryType {
  return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other';
}

/** Collects items into batches of `size` (plain arrays: one structured clone each across a worker boundary). */
export async function* batched<T>(items: AsyncIterable<T>, size = 1000): AsyncGenerator<T[]> {
  let batch: T[] = [];
  for await (const item of items) {
    batch.push(item);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
