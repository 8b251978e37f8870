import { lstatSync, promises as fsp } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import * as path from 'node:path';
import { EbmError, throwIfCancelled } from '@ebm/sdk';
import type { BackupContext } from '@ebm/sdk';
import { isNotFound, messageOf } from '../fs-errors';
import type { BackupJob } from './backup-job';
import { problem } from './walk';
import type { WalkedEntry, WalkOptions } from './walk';

/** What a path-list backup looked at, recorded in the snapshot's metadata (`scan`). */
export interface PathListScan {
  readonly mode: 'path-list';
  /** Distinct paths the list named. */
  listed: number;
  /** lstat calls on the source: listed paths and their ancestor directories, nothing else. */
  statted: number;
  /** Listed paths that did not exist (or sat below something that is not a directory): warned about and left out. */
  missing: number;
}

/** A node of the list as a tree: `listed` paths are backed up; unlisted nodes are ancestors only. */
interface ListNode {
  listed: boolean;
  readonly children: Map<string, ListNode>;
}

/**
 * The `paths-from` option: back up exactly the entries a list names, and
 * nothing else. Each listed path is one entry — a listed directory is the
 * directory itself, not its contents (list the contents too to get them).
 * The ancestor directories of listed paths are added as directories with
 * their real metadata, so the snapshot is a tree like any other; unlisted
 * siblings are never listed, statted nor read. Incremental as usual: a
 * listed file is reused from the parent snapshot when size, mtime, ctime
 * and inode match. Excludes and --one-file-system still apply.
 *
 * The list is a file of snapshot-relative paths (a leading '/' is ignored):
 * NUL-separated when the file holds a NUL byte (any name works), otherwise
 * one per line. Used by the host for layered backups of layer-map sources
 * (docs/layers.md), where several layers share one directory.
 */
export async function backupPathList(ctx: BackupContext, job: BackupJob, rootAbs: string, listFile: string, options: WalkOptions): Promise<PathListScan> {
  const tree = await readPathList(listFile);
  const scan: PathListScan = { mode: 'path-list', listed: tree.listed, statted: 0, missing: 0 };
  for await (const item of pathListWalk(rootAbs, tree.root, options, scan)) {
    throwIfCancelled(ctx.signal, 'backup');
    await job.visit(item);
  }
  await job.finish();
  return scan;
}

/** Reads the list into a tree of names; a path with an empty, '.' or '..' component is refused (E_INVALID_OPTION). */
export async function readPathList(file: string): Promise<{ readonly root: ListNode; readonly listed: number }> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    throw new EbmError('E_INVALID_OPTION', `option --paths-from: the path list ${file} cannot be read (${messageOf(err)}); give a file of paths relative to the source, one per line or NUL-separated`, { subject: 'paths-from', cause: err });
  }
  const root: ListNode = { listed: false, children: new Map() };
  let listed = 0;
  for (const raw of text.split(text.includes('\0') ? '\0' : '\n')) {
    const p = raw.replace(/^\/+/, '').replace(/\/+$/, '');
    if (p === '') continue; // blank lines, the trailing separator; the root is always recorded anyway
    const parts = p.split('/');
    if (parts.some((c) => c === '' || c === '.' || c === '..')) {
      throw new EbmError('E_INVALID_OPTION', `option --paths-from: ${file} lists ${JSON.stringify(raw)}, which is not a plain path below the source (no empty, "." or ".." components)`, { subject: 'paths-from' });
    }
    let node = root;
    for (const name of parts) {
      let child = node.children.get(name);
      if (child === undefined) node.children.set(name, (child = { listed: false, children: new Map() }));
      node = child;
    }
    if (!node.listed) listed++;
    node.listed = true;
  }
  return { root, listed };
}

/**
 * The listed entries and their ancestors, depth-first pre-order with names
 * sorted (as walkTree), one lstat each. Only lstat'ed directories are
 * entered, so a symlink in place of an ancestor is never followed.
 */
export async function* pathListWalk(rootAbs: string, root: ListNode, options: WalkOptions, scan: PathListScan): AsyncGenerator<WalkedEntry> {
  const missing = (relPath: string, node: ListNode, why: string): void => {
    const n = countListed(node);
    if (n === 0) return;
    scan.missing += n;
    options.warn({ path: relPath, code: 'E_SOURCE_NOT_FOUND', message: `${relPath}: ${why}; ${n === 1 ? 'the listed path was' : `${n} listed paths were`} skipped` });
  };
  async function* visit(relDir: string, absDir: string, dir: ListNode): AsyncGenerator<WalkedEntry> {
    throwIfCancelled(options.signal, 'backup');
    for (const name of [...dir.children.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
      const node = dir.children.get(name)!;
      const relPath = relDir === '' ? name : `${relDir}/${name}`;
      const absPath = path.join(absDir, name);
      let stats: BigIntStats;
      scan.statted++;
      try {
        stats = lstatSync(absPath, { bigint: true });
      } catch (err) {
        if (isNotFound(err) || (err as NodeJS.ErrnoException).code === 'ENOTDIR') missing(relPath, node, 'listed, but not found in the source');
        else options.warn(problem(relPath, err, 'could not be examined; skipped with everything listed below it'));
        continue;
      }
      if (options.exclude.excludes(relPath, stats.isDirectory())) continue;
      if (node.listed || stats.isDirectory()) yield { relPath, absPath, stats };
      if (node.children.size === 0) continue;
      if (!stats.isDirectory()) {
        const below = { listed: false, children: node.children };
        missing(relPath, below, node.listed ? 'is not a directory, so nothing listed below it exists' : 'is not a directory, so the paths listed below it do not exist');
        continue;
      }
      if (options.rootDev !== undefined && stats.dev !== options.rootDev) continue; // --one-file-system: a mount point stays empty
      yield* visit(relPath, absPath, node);
    }
  }
  yield* visit('', rootAbs, root);
}

function countListed(node: ListNode): number {
  let n = node.listed ? 1 : 0;
  for (const child of node.children.values()) n += countListed(child);
  return n;
}
