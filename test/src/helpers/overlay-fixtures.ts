import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { getAttributeSync, listAttributesSync } from '@napi-rs/xattr';
import { markOpaque, mountOverlay as mountWith, unmount, whiteout, writeTree } from '@ebm/layer-overlay/testing';

/**
 * Real overlay stacks for the layered-endpoint e2e tests (as root). The mount,
 * whiteout and tree helpers are layer-overlay's own test fixtures
 * (@ebm/layer-overlay/testing); this file adds what the host's tests need:
 * the mount options they use, a base image, changes made through a mount, and
 * tree manifests.
 */
export const OVERLAY_OPTIONS = ['metacopy=on', 'redirect_dir=on'] as const;

export { unmount, whiteout, markOpaque, writeTree };

/** mountOverlay of @ebm/layer-overlay/testing, with metacopy and redirect_dir on unless told otherwise. */
export function mountOverlay(target: string, lower: readonly string[], upper?: string, work?: string, extra: readonly string[] = OVERLAY_OPTIONS): void {
  mountWith(target, lower, upper, work, extra);
}

/** The shared base image (an overlay lowerdir): ~2 MiB of random data plus small files, foreign owners, a symlink. */
export async function buildBase(dir: string): Promise<void> {
  await writeTree(dir, {
    'etc/hosts': '127.0.0.1 localhost\n', 'etc/motd': 'welcome\n', 'etc/app.conf': 'v=1\n',
    'usr/lib/libbig.so': randomBytes(2 * 1024 * 1024), 'usr/bin/tool': '#!/bin/sh\necho tool\n',
    'srv/old/x': 'x', 'srv/old/y': 'y', 'var/cache/c1': 'cache 1', 'var/cache/c2': 'cache 2', 'home/user/notes': 'notes',
  });
  await fsp.chmod(path.join(dir, 'usr/bin/tool'), 0o755);
  await fsp.chown(path.join(dir, 'home/user'), 1234, 5678);
  await fsp.chown(path.join(dir, 'home/user/notes'), 1234, 5678);
  await fsp.symlink('../etc/hosts', path.join(dir, 'usr', 'hosts-link'));
}

/**
 * Changes made THROUGH a mounted overlay (so the kernel writes the upper
 * layer): a deletion (whiteout), a directory replaced (opaque), a directory
 * renamed (redirect), a mode change of the big file (metacopy: its data
 * stays below), a rewrite, additions of `uniqueBytes` of fresh data.
 */
export async function changeThroughMount(merged: string, tag: string, uniqueBytes: number): Promise<void> {
  await fsp.rm(path.join(merged, 'etc/hosts'));
  await fsp.rm(path.join(merged, 'var/cache'), { recursive: true });
  await fsp.mkdir(path.join(merged, 'var/cache'));
  await fsp.writeFile(path.join(merged, 'var/cache/fresh'), `fresh cache of ${tag}`);
  await fsp.rename(path.join(merged, 'srv/old'), path.join(merged, 'srv/new'));
  await fsp.chmod(path.join(merged, 'usr/lib/libbig.so'), 0o600);
  await fsp.writeFile(path.join(merged, 'etc/motd'), `welcome to ${tag}\n`);
  await fsp.writeFile(path.join(merged, `data-${tag}.bin`), randomBytes(uniqueBytes));
  await fsp.chown(path.join(merged, `data-${tag}.bin`), 42, 43);
}

export interface ManifestEntry {
  readonly type: string;
  readonly mode: string;
  readonly uid: number;
  readonly gid: number;
  readonly size?: number;
  readonly sha256?: string;
  readonly target?: string;
  readonly rdev?: number;
  /** Whole microseconds: restore keeps times to the microsecond. */
  readonly mtimeUs?: bigint;
  readonly xattrs: string;
}

/**
 * What a user checks, per path below `root` (lstat, never following links):
 * type, mode, owner, size and SHA-256 of files, link targets, device
 * numbers, xattrs, and the mtime of non-directories (`dirTimes` adds
 * directories').
 */
export async function readManifest(root: string, dirTimes = false): Promise<Record<string, ManifestEntry>> {
  const out: Record<string, ManifestEntry> = {};
  const visit = async (rel: string): Promise<void> => {
    for (const name of (await fsp.readdir(path.join(root, rel))).sort()) {
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const abs = path.join(root, childRel);
      const st = await fsp.lstat(abs, { bigint: true });
      const type = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : st.isCharacterDevice() ? 'chardev' : 'other';
      const base = {
        type, mode: (Number(st.mode) & 0o7777).toString(8), uid: Number(st.uid), gid: Number(st.gid),
        ...(type !== 'dir' || dirTimes ? { mtimeUs: st.mtimeNs / 1000n } : {}),
        xattrs: listAttributesSync(abs).sort().map((n) => `${n}=${getAttributeSync(abs, n)?.toString('base64') ?? ''}`).join(','),
      };
      if (type === 'file') {
        const bytes = await fsp.readFile(abs);
        out[childRel] = { ...base, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
      } else if (type === 'symlink') out[childRel] = { ...base, target: await fsp.readlink(abs) };
      else if (type === 'chardev') out[childRel] = { ...base, rdev: Number(st.rdev) };
      else out[childRel] = base;
      if (type === 'dir') await visit(childRel);
    }
  };
  await visit('');
  return out;
}

/** Bytes of every file under `dir` (the repository's size on disk, without block rounding). */
export async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
    const abs = path.join(dir, e.name);
    total += e.isDirectory() ? await treeBytes(abs) : (await fsp.lstat(abs)).size;
  }
  return total;
}
