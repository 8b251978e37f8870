import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { JsonValue } from '@ebm/sdk';
import type { DirLayer } from '../shared/dir-stack';
import { fsError, invalidSource } from '../shared/errors';
import { overlayDirs, readMountInfo } from './mountinfo';
import type { OverlayDirs } from './mountinfo';

/** An overlayfs stack: its layers bottom first, and facts for the report. */
export interface OverlayfsStack {
  readonly source: string;
  readonly layers: readonly DirLayer[];
  readonly meta: { readonly [key: string]: JsonValue };
}

/**
 * Resolves an overlayfs source. `spec` is what follows "overlayfs:":
 * - a mount point: its lowerdir/upperdir come from /proc/self/mountinfo;
 * - `lowerdir=TOP:…:BOTTOM[,upperdir=UPPER]`: the directories themselves
 *   (mount-option syntax; without upperdir every layer is a lower one).
 * Layers: each lowerdir is an immutable 'base' layer (id lower-0 at the
 * bottom, lower-1 above, …) with a tree digest; the upperdir is the mutable
 * 'upper' layer (id upper).
 */
export async function resolveOverlayfs(spec: string, op: string): Promise<OverlayfsStack> {
  let dirs: OverlayDirs;
  let mountPoint: string | undefined;
  if (/^(lowerdir|lowerdir\+|upperdir)=/.test(spec)) {
    dirs = overlayDirs(spec);
  } else {
    mountPoint = await realDir(spec, op);
    const mounts = (await readMountInfo()).filter((m) => m.mountPoint === mountPoint);
    const top = mounts[mounts.length - 1];
    if (top === undefined || top.fsType !== 'overlay') {
      throw invalidSource(`${spec} is not an overlay mount point (${top === undefined ? 'no mount there' : `its filesystem is ${top.fsType}`}); name an overlay mount point, or the directories as overlayfs:lowerdir=TOP:…:BOTTOM,upperdir=UPPER`, spec, op);
    }
    dirs = overlayDirs(top.superOptions);
  }
  if (dirs.lower.length === 0) throw invalidSource(`the overlay source ${spec} names no lowerdir`, spec, op);
  if (dirs.dataOnly.length > 0) throw invalidSource(`the overlay ${spec} has data-only lower layers (${dirs.dataOnly.join(', ')}), which this provider does not support yet`, spec, op);
  for (const d of [...dirs.lower, ...(dirs.upper !== undefined ? [dirs.upper] : [])]) {
    if (!path.isAbsolute(d)) {
      throw invalidSource(`the overlay ${spec} names the relative directory "${d}" (it was mounted with relative paths); give the directories as overlayfs:lowerdir=/abs/top:/abs/bottom,upperdir=/abs/upper`, spec, op);
    }
    await realDir(d, op);
  }
  const lowers = [...dirs.lower].reverse();
  const layers: DirLayer[] = lowers.map((root, i) => ({ id: `lower-${i}`, kind: 'base', name: `lowerdir ${root}`, root, immutable: true }));
  if (dirs.upper !== undefined) layers.push({ id: 'upper', kind: 'upper', name: `upperdir ${dirs.upper}`, root: dirs.upper, immutable: false });
  const normal = `overlayfs:${mountPoint ?? `lowerdir=${dirs.lower.join(':')}${dirs.upper !== undefined ? `,upperdir=${dirs.upper}` : ''}`}`;
  const options = dirs.options.filter((o) => /^(metacopy|redirect_dir|index|userxattr|xino|nfs_export|volatile)/.test(o));
  return { source: normal, layers, meta: { ...(mountPoint !== undefined ? { mountPoint } : {}), mountOptions: options } };
}

async function realDir(p: string, op: string): Promise<string> {
  try {
    const real = await fsp.realpath(p);
    if (!(await fsp.stat(real)).isDirectory()) throw invalidSource(`${p} is not a directory`, p, op);
    return real;
  } catch (err) {
    throw fsError(err, p, op);
  }
}
