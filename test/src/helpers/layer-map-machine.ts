import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { writeTree } from '@ebm/layer-overlay/testing';

/**
 * The machine of plugins/layer-overlay/src/testing/machine.ts (buildMachine),
 * deployed from its base image with `cp -a` instead of `fs.cp`: `cp -a` keeps
 * nanosecond mtimes, as a real deployment (tar, rsync -a, an image copy)
 * does, while Node's fs.cp sets them only roughly: a file whose mtime
 * differs from the base's is a change of its layer (read and stored again),
 * so with exact copies only the files the machine really changed are.
 *
 * Since deployment: etc/hosts edited, etc/old.conf deleted, usr/bin/ls
 * chmod'ed 0700, opt/tool/bin/tool, home/ann/notes.txt and var/log/app.log
 * added (var/ matches no pattern of MAP: user-data).
 */
export async function buildExactMachine(dir: string): Promise<{ root: string; base: string }> {
  const base = path.join(dir, 'base');
  const root = path.join(dir, 'machine');
  await writeTree(base, { 'usr/bin/ls': 'ls', 'usr/lib/libc.so': 'libc', 'etc/hosts': 'hosts', 'etc/old.conf': 'old', 'opt': null, 'home': null, 'var/log/boot.log': 'boot' });
  deploy(base, root);
  await fsp.writeFile(path.join(root, 'etc', 'hosts'), 'hosts edited');
  await fsp.rm(path.join(root, 'etc', 'old.conf'));
  await fsp.chmod(path.join(root, 'usr', 'bin', 'ls'), 0o700);
  await writeTree(root, { 'opt/tool/bin/tool': 'tool', 'home/ann/notes.txt': 'notes', 'var/log/app.log': 'app log' });
  return { root, base };
}

/** A new machine deployed from `base`: an exact copy (`cp -a`: modes, owners, nanosecond times). */
export function deploy(base: string, target: string): void {
  execFileSync('cp', ['-a', base, target]);
}
