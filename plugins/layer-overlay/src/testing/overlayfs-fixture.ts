import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { mountOverlay, unmount, writeTree, xattrWhiteout } from './overlay-mount';

/** A mounted three-layer overlay after the changes a user makes through it. */
export interface MountedStack {
  readonly mountPoint: string;
  readonly lower: readonly string[];
  readonly upper: string;
  teardown(): void;
}

/**
 * Two lower layers and an upper one, mounted with index, metacopy and
 * redirect_dir, then changed through the mount: a file deleted, a directory
 * replaced (opaque), a directory renamed (redirect), a file's mode changed
 * (metacopy: data stays below), a file rewritten, a file added. The second
 * lower layer deletes a file of the first with an xattr whiteout. Throws
 * (after unmounting) if anything fails.
 */
export async function buildMountedStack(dir: string): Promise<MountedStack> {
  const [l0, l1, upper, work, mountPoint] = ['lower0', 'lower1', 'upper', 'work', 'merged'].map((d) => path.join(dir, d)) as [string, string, string, string, string];
  for (const d of [l0, l1, upper, work, mountPoint]) await fsp.mkdir(d);
  await writeTree(l0, {
    'etc/hosts': '127.0.0.1 localhost\n', 'etc/motd': 'welcome\n', 'data/big.bin': 'B'.repeat(50_000),
    'opt/app/bin/run': '#!/bin/sh\necho run\n', 'opt/app/lib/a.so': 'lib a', 'srv/old/x': 'x', 'srv/old/y': 'y',
    'var/cache/c1': 'cache 1', 'lib/gone-in-l1': 'to be whited out by lower1',
  });
  await fsp.symlink('../etc/hosts', path.join(l0, 'data', 'hosts-link'));
  await writeTree(l1, { 'etc/motd': 'welcome to lower1\n', 'usr/share/doc/readme': 'docs' });
  await fsp.mkdir(path.join(l1, 'lib'));
  await xattrWhiteout(path.join(l1, 'lib', 'gone-in-l1'));
  mountOverlay(mountPoint, [l1, l0], upper, work, ['index=on', 'metacopy=on', 'redirect_dir=on']);
  try {
    await fsp.rm(path.join(mountPoint, 'etc', 'hosts'));
    await fsp.rm(path.join(mountPoint, 'var', 'cache'), { recursive: true });
    await fsp.mkdir(path.join(mountPoint, 'var', 'cache'));
    await fsp.writeFile(path.join(mountPoint, 'var', 'cache', 'fresh'), 'fresh cache');
    await fsp.rename(path.join(mountPoint, 'srv', 'old'), path.join(mountPoint, 'srv', 'new'));
    await fsp.chmod(path.join(mountPoint, 'data', 'big.bin'), 0o600);
    await fsp.writeFile(path.join(mountPoint, 'etc', 'motd'), 'changed in upper\n');
    await fsp.writeFile(path.join(mountPoint, 'home-note'), 'added in upper');
    await fsp.rename(path.join(mountPoint, 'opt', 'app'), path.join(mountPoint, 'app-moved'));
  } catch (err) {
    unmount(mountPoint);
    throw err;
  }
  return { mountPoint, lower: [l1, l0], upper, teardown: () => unmount(mountPoint) };
}
