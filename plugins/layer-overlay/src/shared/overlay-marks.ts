import type { Stats } from 'node:fs';
import { getAttributeSync, listAttributesSync } from '@napi-rs/xattr';

/**
 * What overlayfs records about one entry of a layer directory. overlayfs
 * keeps these in xattrs named `trusted.overlay.*`, or `user.overlay.*` on
 * mounts with `userxattr` (rootless); both are read, trusted first.
 * (@napi-rs/xattr uses llistxattr/lgetxattr: a symlink's own xattrs.)
 */
export interface OverlayMarks {
  /** A deletion: a character device 0/0, or a zero-size file with `overlay.whiteout`. */
  readonly whiteout: boolean;
  /** A directory with `overlay.opaque = "y"` hides everything below it in lower layers. ("x" only flags xwhiteouts inside.) */
  readonly opaque: boolean;
  /** `overlay.redirect`: the lower path a renamed directory (or metacopy file) continues. */
  readonly redirect?: string;
  /** `overlay.metacopy`: the file holds metadata only; its data is in a lower layer. */
  readonly metacopy: boolean;
}

const PREFIXES = ['trusted.overlay.', 'user.overlay.'] as const;
const NONE: OverlayMarks = Object.freeze({ whiteout: false, opaque: false, metacopy: false });

export function overlayMarks(abs: string, st: Stats): OverlayMarks {
  if (st.isCharacterDevice() && st.rdev === 0) return { ...NONE, whiteout: true };
  let names: string[];
  try {
    names = listAttributesSync(abs).filter((n) => PREFIXES.some((p) => n.startsWith(p)));
  } catch {
    return NONE; // no xattr support on this filesystem: nothing overlay-specific can be recorded either
  }
  if (names.length === 0) return NONE;
  const value = (key: string): string | undefined => {
    for (const prefix of PREFIXES) {
      if (!names.includes(prefix + key)) continue;
      try {
        return getAttributeSync(abs, prefix + key)?.toString('utf8') ?? '';
      } catch {
        return undefined;
      }
    }
    return undefined;
  };
  const redirect = value('redirect');
  return {
    whiteout: st.isFile() && st.size === 0 && value('whiteout') !== undefined,
    opaque: st.isDirectory() && value('opaque') === 'y',
    metacopy: st.isFile() && value('metacopy') !== undefined,
    ...(redirect !== undefined && redirect !== '' ? { redirect } : {}),
  };
}

/** The source-relative path a redirect names: absolute values from the root, others beside the entry. */
export function resolveRedirect(entryPath: string, redirect: string): string {
  if (redirect.startsWith('/')) return redirect.replace(/^\/+/, '');
  const parent = entryPath.includes('/') ? entryPath.slice(0, entryPath.lastIndexOf('/')) : '';
  return parent === '' ? redirect : `${parent}/${redirect}`;
}
