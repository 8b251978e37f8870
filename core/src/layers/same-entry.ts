import { canonicalJson } from '@ebm/sdk';
import type { TreeEntry } from '@ebm/sdk';
import { fingerprint } from '../catalog/entry-row';

/**
 * Fields that do not change what a restore writes, or that are derived:
 * times a restore cannot set (ctime) or that every read changes (atime),
 * the inode number and link count (change detection only), a directory's
 * subtree id and tally (its children are compared separately), and the
 * content id list (compared through its fingerprint).
 */
const NOT_COMPARED = new Set(['name', 'atimeNs', 'ctimeNs', 'inode', 'links', 'subtree', 'tally', 'content']);

/**
 * Two entries at the same path are the same for the tree algebra (diff,
 * rebase, base updates) when a restore would write the same thing: same
 * kind, same content fingerprint (the catalog's: sha256 of the ordered
 * content blob ids — comparing never reads file data), and the same
 * restorable metadata (mode, owner, size, mtime, target, rdev, xattrs,
 * translator meta). A directory's children are not part of its equality.
 */
export function sameEntry(a: TreeEntry, b: TreeEntry): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind !== 'dir' && fingerprint(a) !== fingerprint(b)) return false;
  return canonicalJson(comparable(a)) === canonicalJson(comparable(b));
}

function comparable(e: TreeEntry): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) if (!NOT_COMPARED.has(k)) out[k] = v;
  return out;
}
