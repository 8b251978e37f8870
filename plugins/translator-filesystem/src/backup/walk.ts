import { lstatSync, promises as fsp } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { EbmError, Warning, throwIfCancelled } from '@ebm/sdk';
import { isNotFound, isPermissionDenied, messageOf } from '../fs-errors';
import { ExcludeMatcher } from './exclude-matcher';

/** One entry found by the walk, with the only lstat the backup does for it. */
export interface WalkedEntry {
  /** POSIX path relative to the source root, e.g. 'etc/hosts'. */
  readonly relPath: string;
  readonly absPath: string;
  readonly stats: BigIntStats;
}

export interface WalkOptions {
  readonly exclude: ExcludeMatcher;
  /** When set, directories whose device differs are yielded but not entered. */
  readonly rootDev?: bigint;
  readonly signal: AbortSignal;
  warn(warning: Warning): void;
}

interface Level {
  readonly entries: readonly WalkedEntry[];
  index: number;
}

/**
 * Walks the directory `rootAbs` depth-first, pre-order (a directory before its
 * contents), names sorted, yielding every entry below the root (not the root).
 * Excluded paths are not yielded, and an excluded directory is not entered.
 * Items that vanish before their lstat, or that cannot be read, become
 * warnings (E_SOURCE_NOT_FOUND / E_PERMISSION), never failures; only the root
 * itself failing to list is fatal.
 */
export async function* walkTree(rootAbs: string, options: WalkOptions): AsyncGenerator<WalkedEntry> {
  const rootEntries = await listDirectory(rootAbs, '', options).catch((err: unknown) => {
    throw rootError(rootAbs, err);
  });
  const stack: Level[] = [{ entries: rootEntries, index: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.index >= top.entries.length) {
      stack.pop();
      continue;
    }
    const entry = top.entries[top.index++]!;
    yield entry;
    if (!entry.stats.isDirectory()) continue;
    if (options.rootDev !== undefined && entry.stats.dev !== options.rootDev) continue;
    throwIfCancelled(options.signal, 'backup');
    let children: WalkedEntry[];
    try {
      children = await listDirectory(entry.absPath, entry.relPath, options);
    } catch (err) {
      options.warn(problem(entry.relPath, err, 'directory could not be listed; recorded empty'));
      continue;
    }
    if (children.length > 0) stack.push({ entries: children, index: 0 });
  }
}

/**
 * Lists one directory: names sorted, excluded names dropped (before any
 * lstat), one lstat each. The lstats are synchronous: a few µs each on a
 * local filesystem, where a promise round trip costs ~15 µs of this thread —
 * and this is the plugin's own worker thread.
 */
async function listDirectory(absDir: string, relDir: string, options: WalkOptions): Promise<WalkedEntry[]> {
  const dirents = await fsp.readdir(absDir, { withFileTypes: true });
  dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: WalkedEntry[] = [];
  for (const d of dirents) {
    const relPath = relDir === '' ? d.name : `${relDir}/${d.name}`;
    if (options.exclude.excludes(relPath, d.isDirectory())) continue;
    const absPath = childPath(absDir, d.name);
    let stats: BigIntStats;
    try {
      stats = lstatSync(absPath, { bigint: true });
    } catch (err) {
      options.warn(problem(relPath, err, isNotFound(err) ? 'vanished before it could be read; skipped' : 'could not be examined; skipped'));
      continue;
    }
    out.push({ relPath, absPath, stats });
  }
  return out;
}

/**
 * `dir`/`name` for a directory path from realpath or from this walk (already
 * normal) and a name from readdir (one component): what path.join gives,
 * without its normalisation pass, which cost more than the lstat's own JS
 * side for every entry.
 */
export function childPath(dir: string, name: string): string {
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}

/** A warning for one item, with the catalogue code that matches the errno. */
export function problem(relPath: string, err: unknown, what: string): Warning {
  const code = isNotFound(err) ? 'E_SOURCE_NOT_FOUND' : isPermissionDenied(err) ? 'E_PERMISSION' : 'E_STORAGE_IO';
  return { path: relPath, code, message: `${relPath}: ${what} (${messageOf(err)})` };
}

function rootError(rootAbs: string, err: unknown): Error {
  if (isNotFound(err)) return new EbmError('E_SOURCE_NOT_FOUND', `backup source ${rootAbs} vanished while it was being listed`, { subject: rootAbs, cause: err });
  if (isPermissionDenied(err)) return new EbmError('E_PERMISSION', `cannot list backup source ${rootAbs}: permission denied`, { subject: rootAbs, cause: err });
  return err instanceof Error ? err : new Error(String(err));
}
