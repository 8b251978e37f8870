import { existsSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';

/**
 * Where plugin packages are looked for, without reading any of them. Pure
 * directory listing: nothing here executes plugin code. Synchronous on
 * purpose: discovery is a one-time startup cost of a few milliseconds, and
 * the CLI needs it while it builds its command definitions.
 */

/** Where a candidate package directory came from (explicit ones must be plugins). */
export type CandidateOrigin = 'explicit' | 'EBM_PLUGIN_PATH' | 'node_modules';

export interface PackageCandidate {
  readonly dir: string;
  readonly origin: CandidateOrigin;
  /** True when the operator named this very directory: a missing "ebm" field is then a problem. */
  readonly named: boolean;
}

/** The node_modules folders Node's resolution visits from `fromDir` upward (like require.resolve.paths). */
export function nodeModulesPath(fromDir: string): string[] {
  const dirs: string[] = [];
  let dir = path.resolve(fromDir);
  for (;;) {
    if (path.basename(dir) !== 'node_modules') dirs.push(path.join(dir, 'node_modules'));
    const parent = path.dirname(dir);
    if (parent === dir) return dirs;
    dir = parent;
  }
}

/** The nearest directory at or above `fromDir` that holds a package.json (core's own package dir from its dist). */
export function owningPackageDir(fromDir: string): string {
  let dir = path.resolve(fromDir);
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(fromDir);
    dir = parent;
  }
}

/** Splits EBM_PLUGIN_PATH (colon-separated on POSIX; empty parts ignored). */
export function splitPluginPath(value: string | undefined): string[] {
  return (value ?? '').split(path.delimiter).map((p) => p.trim()).filter((p) => p !== '');
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory(); // stat, not lstat: follows workspace symlinks
  } catch {
    return false;
  }
}

function readdirOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir).filter((name) => !name.startsWith('.')).sort();
  } catch {
    return [];
  }
}

/** Package directories directly inside `folder`, including scoped `@scope/name` ones. Missing folder → []. */
export function listPackageDirs(folder: string): string[] {
  const dirs: string[] = [];
  for (const name of readdirOrEmpty(folder)) {
    const full = path.join(folder, name);
    if (!isDirectory(full)) continue;
    if (!name.startsWith('@')) dirs.push(full);
    else for (const inner of readdirOrEmpty(full)) if (isDirectory(path.join(full, inner))) dirs.push(path.join(full, inner));
  }
  return dirs;
}

/**
 * Expands one operator-named directory: a package dir (has package.json) is
 * itself a candidate; otherwise it is a folder of packages. Returns undefined
 * when the directory does not exist.
 */
export function expandNamedDir(dir: string, origin: CandidateOrigin): PackageCandidate[] | undefined {
  const abs = path.resolve(dir);
  if (!isDirectory(abs)) return undefined;
  if (existsSync(path.join(abs, 'package.json'))) return [{ dir: abs, origin, named: true }];
  return listPackageDirs(abs).map((d) => ({ dir: d, origin, named: false }));
}
