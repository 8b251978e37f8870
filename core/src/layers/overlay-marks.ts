import type { TreeEntry } from '@ebm/sdk';

/**
 * Overlay marks as the filesystem translator records them in a layer's tree
 * (entries with their xattrs, values base64). Both namespaces count:
 * `trusted.overlay.*` (mounts by root) and `user.overlay.*` (userxattr mounts).
 */
const PREFIXES = ['trusted.overlay.', 'user.overlay.'] as const;

function xattr(entry: TreeEntry, name: string): string | undefined {
  for (const x of entry.xattrs ?? []) {
    for (const p of PREFIXES) if (x.name === p + name) return Buffer.from(x.value, 'base64').toString('utf8');
  }
  return undefined;
}

/** A deletion: a character device 0/0, or a zero-size file carrying overlay.whiteout (an "xwhiteout"). */
export function isWhiteout(entry: TreeEntry): boolean {
  if (entry.kind === 'chardev') return (entry.rdev ?? -1) === 0;
  return (entry.kind === 'file' || entry.kind === 'hardlink') && (entry.size ?? 0) === 0 && xattr(entry, 'whiteout') !== undefined;
}

/** A directory that hides everything below it (overlay.opaque = "y"; "x" only announces xwhiteouts inside). */
export function isOpaque(entry: TreeEntry): boolean {
  return entry.kind === 'dir' && xattr(entry, 'opaque') === 'y';
}

/** overlay.redirect: the path below this layer a renamed directory (or metacopy file) continues. */
export function redirectOf(entry: TreeEntry): string | undefined {
  const value = xattr(entry, 'redirect');
  return value === undefined || value === '' ? undefined : value.replace(/\0+$/, '');
}

/** A file whose data stays in a lower layer (overlay.metacopy): this layer holds metadata only. */
export function isMetacopy(entry: TreeEntry): boolean {
  return entry.kind === 'file' && xattr(entry, 'metacopy') !== undefined;
}

/** The entry as the merged mount shows it: without overlay's private xattrs. */
export function withoutOverlayXattrs<T extends { readonly xattrs?: TreeEntry['xattrs'] }>(entry: T): T {
  if (entry.xattrs === undefined) return entry;
  const kept = entry.xattrs.filter((x) => !PREFIXES.some((p) => x.name.startsWith(p)));
  if (kept.length === entry.xattrs.length) return entry;
  const { xattrs: _dropped, ...rest } = entry;
  return (kept.length > 0 ? { ...rest, xattrs: kept } : rest) as T;
}
