import { getAttributeSync, listAttributesSync } from '@napi-rs/xattr';
import { Xattr } from '@ebm/sdk';
import { xattrErrno } from '../fs-errors';

export type XattrReadResult =
  | { readonly ok: true; readonly xattrs: readonly Xattr[] }
  /** `unsupported`: the filesystem has no xattrs (not worth a warning). */
  | { readonly ok: false; readonly errno: string | undefined; readonly unsupported: boolean };

/**
 * Reads the extended attributes of `path` itself, never following a symlink
 * (@napi-rs/xattr uses llistxattr/lgetxattr), sorted by name, values base64.
 *
 * Synchronous on purpose: one llistxattr per entry costs ~1–2 µs, an async
 * round trip through the thread pool ten times that, and this runs in the
 * plugin's own worker thread.
 */
export function readXattrs(path: string): XattrReadResult {
  let names: string[];
  try {
    names = listAttributesSync(path);
  } catch (err) {
    const errno = xattrErrno(err);
    return { ok: false, errno, unsupported: errno === 'ENOTSUP' };
  }
  if (names.length === 0) return EMPTY;
  names.sort();
  const xattrs: Xattr[] = [];
  for (const name of names) {
    let value: Buffer | null;
    try {
      value = getAttributeSync(path, name);
    } catch (err) {
      // Removed between list and get: the attribute is simply gone.
      if (xattrErrno(err) === 'ENODATA') continue;
      return { ok: false, errno: xattrErrno(err), unsupported: false };
    }
    if (value !== null) xattrs.push({ name, value: value.toString('base64') });
  }
  return { ok: true, xattrs };
}

const EMPTY: XattrReadResult = Object.freeze({ ok: true, xattrs: Object.freeze([]) as readonly Xattr[] });
