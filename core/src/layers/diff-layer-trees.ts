import type { TreeEntry } from '@ebm/sdk';
import { sameEntry } from './same-entry';
import type { ViewDir, ViewNode } from './layer-view';

/** How a diff marks a deletion and a replaced directory (the overlay forms mergeLayerTrees reads). */
export const OPAQUE_XATTR = 'trusted.overlay.opaque';
const OPAQUE_VALUE = Buffer.from('y').toString('base64');

/** A whiteout entry as overlayfs writes one: a character device 0/0. */
export function whiteoutEntry(name: string): TreeEntry {
  return { name, kind: 'chardev', mode: 0o20000, uid: 0, gid: 0, rdev: 0 } as TreeEntry;
}

export interface LayerDiff {
  /** The layer: applied over `below` with the overlay rules (mergeLayerTrees) it gives `target`. */
  readonly layer: ViewDir;
  /** Entries written into the layer (files, links, directories, whiteouts). */
  readonly entries: number;
  readonly whiteouts: number;
}

/**
 * The overlay layer that turns the merged view `below` into `target` (both
 * overlay-clean views, e.g. merged layer trees or a scanned base):
 * - an entry of `target` equal to the one below (sameEntry: fingerprint and
 *   restorable metadata) is left out; a directory is left out when it is
 *   equal and nothing below it differs;
 * - any other entry is written with `target`'s metadata; a directory that
 *   differs somewhere below is written with only what differs under it;
 * - a path below but not in `target` becomes a whiteout (0/0 device);
 * - a directory that keeps nothing of the directory below it and needs
 *   whiteouts is written whole and marked opaque (overlay.opaque=y)
 *   instead, as overlayfs does for `rm -rf d; mkdir d`.
 * Only trees are compared; no file data is read. Pure.
 */
export function diffViews(below: ViewDir, target: ViewDir): LayerDiff {
  const counts = { entries: 0, whiteouts: 0 };
  const layer = diffDir(below, target, counts, false).layer;
  return { layer, ...counts };
}

interface DirDiff {
  readonly layer: ViewDir;
  /** Something of the directory below is kept (an equal entry left out). */
  readonly reused: boolean;
  /** The directory must be marked opaque (layer = the whole target directory). */
  readonly opaque: boolean;
}

function diffDir(below: ViewDir, target: ViewDir, counts: { entries: number; whiteouts: number }, mayBeOpaque: boolean): DirDiff {
  const out = new Map<string, ViewNode>();
  let reused = false;
  const added = { entries: 0, whiteouts: 0 };
  for (const [name, t] of target) {
    const b = below.get(name);
    if (t.entry.kind === 'dir' && b?.entry.kind === 'dir') {
      const sub = diffDir(b.children ?? new Map(), t.children ?? new Map(), added, true);
      if (sub.layer.size === 0 && !sub.opaque && sameEntry(b.entry, t.entry)) {
        reused = true;
        continue;
      }
      reused ||= sub.reused;
      added.entries++;
      out.set(name, { entry: sub.opaque ? markOpaque(t.entry) : t.entry, children: sub.layer });
    } else if (b !== undefined && t.entry.kind !== 'dir' && sameEntry(b.entry, t.entry)) {
      reused = true;
    } else {
      added.entries += 1 + countAll(t.children);
      out.set(name, t);
    }
  }
  const gone = [...below.keys()].filter((name) => !target.has(name));
  if (mayBeOpaque && gone.length > 0 && !reused) {
    counts.entries += countAll(target);
    return { layer: target, reused: false, opaque: true };
  }
  for (const name of gone) out.set(name, { entry: whiteoutEntry(name) });
  counts.entries += added.entries + gone.length;
  counts.whiteouts += added.whiteouts + gone.length;
  return { layer: out, reused, opaque: false };
}

function markOpaque(entry: TreeEntry): TreeEntry {
  const xattrs = [...(entry.xattrs ?? []).filter((x) => x.name !== OPAQUE_XATTR), { name: OPAQUE_XATTR, value: OPAQUE_VALUE }];
  return { ...entry, xattrs: xattrs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) };
}

function countAll(dir: ViewDir | undefined): number {
  let n = 0;
  for (const node of dir?.values() ?? []) n += 1 + countAll(node.children);
  return n;
}
