import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

/**
 * Relative paths of everything under `dir` (not following symlinks), sorted.
 * A missing directory lists as empty. Used to find files a task left behind.
 */
export async function listPaths(dir: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (rel: string): Promise<void> => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fsp.readdir(path.join(dir, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const child = rel === '' ? e.name : `${rel}/${e.name}`;
      out.push(child);
      if (e.isDirectory()) await visit(child);
    }
  };
  await visit('');
  return out.sort();
}

/** Regular files under `dir`, absolute paths, not following symlinks. */
export async function regularFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const rel of await listPaths(dir)) {
    const abs = path.join(dir, rel);
    if ((await fsp.lstat(abs)).isFile()) files.push(abs);
  }
  return files;
}

/** Paths in `after` that are not in `before`. */
export function added(before: readonly string[], after: readonly string[]): string[] {
  const known = new Set(before);
  return after.filter((p) => !known.has(p));
}
