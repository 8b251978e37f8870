import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { setAttributeSync } from '@napi-rs/xattr';

/**
 * Real overlay mounts for tests (they run as root here). `mount` and
 * `mknod` are run as commands: Node has neither.
 */
export function mountOverlay(target: string, lower: readonly string[], upper?: string, work?: string, extra: readonly string[] = []): void {
  const opts = [`lowerdir=${lower.join(':')}`, ...(upper !== undefined ? [`upperdir=${upper}`, `workdir=${work!}`] : []), ...extra];
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', opts.join(','), target], { stdio: 'pipe' });
}

export function unmount(target: string): void {
  try {
    execFileSync('umount', [target], { stdio: 'pipe' });
  } catch {
    execFileSync('umount', ['-l', target], { stdio: 'pipe' });
  }
}

/** Why overlay cannot be mounted here, or undefined when it can (tried for real on a scratch stack). */
export async function overlayUnavailable(scratch: string): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'the tests do not run as root';
  const dirs = ['l', 'u', 'w', 'm'].map((d) => path.join(scratch, d));
  for (const d of dirs) await fsp.mkdir(d, { recursive: true });
  try {
    mountOverlay(dirs[3]!, [dirs[0]!], dirs[1]!, dirs[2]!);
    unmount(dirs[3]!);
    return undefined;
  } catch (err) {
    return `mount -t overlay failed: ${(err as { stderr?: Buffer }).stderr?.toString().trim() ?? (err as Error).message}`;
  } finally {
    await fsp.rm(scratch, { recursive: true, force: true });
  }
}

/** A whiteout as overlayfs and Docker write it: a character device 0/0. */
export function whiteout(p: string): void {
  execFileSync('mknod', [p, 'c', '0', '0']);
}

/** The xattr forms: an "xwhiteout" (zero-size file, parent marked opaque=x) and an opaque directory. */
export async function xattrWhiteout(p: string): Promise<void> {
  await fsp.writeFile(p, '');
  setAttributeSync(p, 'trusted.overlay.whiteout', '');
  setAttributeSync(path.dirname(p), 'trusted.overlay.opaque', 'x');
}

export function markOpaque(dir: string): void {
  setAttributeSync(dir, 'trusted.overlay.opaque', 'y');
}

/** Writes files (path → content; content null = directory) under `root`. */
export async function writeTree(root: string, files: Readonly<Record<string, string | Uint8Array | null>>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(root, rel);
    if (content === null) await fsp.mkdir(abs, { recursive: true });
    else {
      await fsp.mkdir(path.dirname(abs), { recursive: true });
      await fsp.writeFile(abs, content);
    }
  }
}
