import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { getAttributeSync, listAttributesSync } from '@napi-rs/xattr';

/** What a user checks after a restore, per path. */
export interface ManifestEntry {
  readonly type: 'dir' | 'file' | 'symlink' | 'fifo' | 'chardev' | 'blockdev' | 'socket';
  readonly mode: string;
  readonly uid: number;
  readonly gid: number;
  readonly size?: number;
  readonly sha256?: string;
  readonly target?: string;
  readonly rdev?: number;
  readonly mtimeNs: bigint;
  readonly xattrs: string;
}

export interface TreeManifest {
  readonly entries: Record<string, ManifestEntry>;
  /** Paths grouped by inode, for groups of more than one path (hardlinks). */
  readonly linkGroups: string[][];
}

/** Reads every entry below `root` (not the root itself) with lstat, never following symlinks. */
export async function readManifest(root: string): Promise<TreeManifest> {
  const entries: Record<string, ManifestEntry> = {};
  const inodes = new Map<string, string[]>();
  const visit = async (rel: string): Promise<void> => {
    const abs = path.join(root, rel);
    const names = (await fsp.readdir(abs)).sort();
    for (const name of names) {
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const childAbs = path.join(root, childRel);
      const st = await fsp.lstat(childAbs, { bigint: true });
      const type = typeOf(st);
      const base = {
        type,
        mode: (Number(st.mode) & 0o7777).toString(8),
        uid: Number(st.uid),
        gid: Number(st.gid),
        mtimeNs: st.mtimeNs,
        xattrs: xattrsOf(childAbs),
      };
      if (type === 'file') {
        const bytes = await fsp.readFile(childAbs);
        entries[childRel] = { ...base, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
        if (st.nlink > 1n) {
          const key = `${st.dev}:${st.ino}`;
          inodes.set(key, [...(inodes.get(key) ?? []), childRel]);
        }
      } else if (type === 'symlink') {
        entries[childRel] = { ...base, target: await fsp.readlink(childAbs) };
      } else if (type === 'chardev' || type === 'blockdev') {
        entries[childRel] = { ...base, rdev: Number(st.rdev) };
      } else {
        entries[childRel] = base;
      }
      if (type === 'dir') await visit(childRel);
    }
  };
  await visit('');
  return { entries, linkGroups: [...inodes.values()].filter((g) => g.length > 1).map((g) => g.sort()) };
}

function typeOf(st: import('node:fs').BigIntStats): ManifestEntry['type'] {
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isCharacterDevice()) return 'chardev';
  if (st.isBlockDevice()) return 'blockdev';
  return 'socket';
}

function xattrsOf(abs: string): string {
  return listAttributesSync(abs)
    .sort()
    .map((name) => `${name}=${getAttributeSync(abs, name)?.toString('base64') ?? ''}`)
    .join(',');
}


/**
 * Lists every difference between two manifests as readable lines (empty when
 * they match): missing or extra paths, any differing field, mtimes that differ in
 * whole microseconds (restore keeps times truncated to microseconds: see
 * README, "Time precision"), and different hardlink groups.
 */
export function diffManifests(expected: TreeManifest, actual: TreeManifest): string[] {
  const out: string[] = [];
  for (const [rel, want] of Object.entries(expected.entries)) {
    const got = actual.entries[rel];
    if (got === undefined) {
      out.push(`${rel}: missing`);
      continue;
    }
    for (const key of Object.keys(want) as (keyof ManifestEntry)[]) {
      if (key === 'mtimeNs') continue;
      if (want[key] !== got[key]) out.push(`${rel}: ${key} ${String(got[key])} instead of ${String(want[key])}`);
    }
    if (want.mtimeNs / 1000n !== got.mtimeNs / 1000n) out.push(`${rel}: mtime ${got.mtimeNs} ns instead of ${want.mtimeNs} ns`);
  }
  for (const rel of Object.keys(actual.entries)) if (!(rel in expected.entries)) out.push(`${rel}: unexpected`);
  const groups = (m: TreeManifest): string => JSON.stringify([...m.linkGroups].sort());
  if (groups(expected) !== groups(actual)) out.push(`hardlink groups ${groups(actual)} instead of ${groups(expected)}`);
  return out;
}
