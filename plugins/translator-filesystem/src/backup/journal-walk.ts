import { lstatSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import * as path from 'node:path';
import { EbmError, throwIfCancelled } from '@ebm/sdk';
import type { ChangedPaths, PreviousSnapshot, TreeEntry } from '@ebm/sdk';
import { isNotFound } from '../fs-errors';
import { WalkedEntry, WalkOptions, problem, walkTree } from './walk';

/** What the journal walk yields: an entry to look at (it was lstat'ed), or a parent entry to keep as it is. */
export type JournalItem =
  | { readonly kind: 'walked'; readonly item: WalkedEntry }
  | { readonly kind: 'reuse'; readonly relPath: string; readonly entry: TreeEntry }
  | { readonly kind: 'reuse-subtree'; readonly relPath: string; readonly entry: TreeEntry };

/** Counts of what a journal walk looked at, recorded in the snapshot's metadata. */
export interface JournalWalkStats {
  /** Paths the journal listed. */
  journalled: number;
  /** lstat calls on the source (journalled paths, their ancestor directories, and everything below a changed directory). */
  statted: number;
  /** Parent entries kept without looking at the source (a reused subtree counts as one). */
  reused: number;
  /** Of those, directories kept whole with their subtree (their trees were not even read). */
  subtreesReused: number;
}

/**
 * The tree walk of an incremental backup with a trusted change journal: it
 * never lists an unchanged directory nor stats an unchanged file. Starting
 * from the parent snapshot's tree, it yields
 * - every parent entry outside the journalled paths as it is ('reuse'), whole
 *   unchanged subtrees included (read from the parent's trees, not the disk);
 * - a journalled path after an lstat ('walked'; gone → left out); a journalled
 *   directory is walked in full, because a directory that was created, moved
 *   in or replaced has children the journal never named;
 * - each ancestor directory of a journalled path after an lstat (its mtime
 *   changed with its entries), then its children by the same rules.
 * Order is depth-first pre-order, as the TreeWriter requires. Excludes and
 * --one-file-system apply as in a full walk.
 *
 * Contract: `previous.list` must be available (SDK ≥ the one that added it);
 * the caller falls back to a full walk otherwise.
 */
export async function* journalWalk(
  rootAbs: string,
  changes: ChangedPaths,
  previous: PreviousSnapshot,
  options: WalkOptions & { readonly subtreeReuse: boolean },
  stats: JournalWalkStats,
): AsyncGenerator<JournalItem> {
  const list = previous.list?.bind(previous);
  if (list === undefined) throw new EbmError('E_INTERNAL', 'journalWalk needs previous.list');
  const plan = planChanges(changes.paths);
  stats.journalled = changes.paths.length;

  const lstat = (absPath: string): BigIntStats | undefined => {
    stats.statted++;
    try {
      return lstatSync(absPath, { bigint: true });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };

  /** An unchanged parent entry: a directory whole (one step) when the tree format allows, else entry by entry. */
  async function* keep(relPath: string, entry: TreeEntry): AsyncGenerator<JournalItem> {
    stats.reused++;
    if (entry.kind === 'dir' && options.subtreeReuse && entry.tally !== undefined && entry.subtree !== undefined) {
      stats.subtreesReused++;
      yield { kind: 'reuse-subtree', relPath, entry };
      return;
    }
    yield { kind: 'reuse', relPath, entry };
    if (entry.kind === 'dir') for (const child of (await list!(relPath)) ?? []) yield* keep(join(relPath, child.name), child);
  }

  async function* fullWalk(item: WalkedEntry): AsyncGenerator<JournalItem> {
    for await (const below of walkTree(item.absPath, { ...options, warn: options.warn })) {
      stats.statted++;
      yield { kind: 'walked', item: { ...below, relPath: join(item.relPath, below.relPath) } };
    }
  }

  async function* visitDir(relDir: string, absDir: string): AsyncGenerator<JournalItem> {
    const before = new Map(((await list!(relDir)) ?? []).map((e) => [e.name, e]));
    const names = new Set([...before.keys(), ...(plan.namesIn.get(relDir) ?? [])]);
    for (const name of [...names].sort()) {
      throwIfCancelled(options.signal, 'backup');
      const relPath = join(relDir, name);
      const absPath = path.join(absDir, name);
      const parentEntry = before.get(name);
      const changed = plan.changed.has(relPath);
      if (!changed && !plan.dirty.has(relPath)) {
        // Untouched since the parent: keep its entry (and everything below it).
        if (parentEntry === undefined || options.exclude.excludes(relPath, parentEntry.kind === 'dir')) continue;
        yield* keep(relPath, parentEntry);
        continue;
      }
      let st: BigIntStats | undefined;
      try {
        st = lstat(absPath);
      } catch (err) {
        options.warn(problem(relPath, err, 'could not be examined; skipped'));
        continue;
      }
      if (st === undefined) continue; // deleted since the parent
      if (options.exclude.excludes(relPath, st.isDirectory())) continue;
      const item: WalkedEntry = { relPath, absPath, stats: st };
      yield { kind: 'walked', item };
      if (!st.isDirectory()) continue;
      if (options.rootDev !== undefined && st.dev !== options.rootDev) continue;
      if (changed || parentEntry?.kind !== 'dir') yield* fullWalk(item);
      else yield* visitDir(relPath, absPath);
    }
  }

  yield* visitDir('', rootAbs);
}

interface ChangePlan {
  /** The journalled paths. */
  readonly changed: ReadonlySet<string>;
  /** Proper ancestors of journalled paths (the root '' excluded: it is always visited). */
  readonly dirty: ReadonlySet<string>;
  /** For each directory, the names of journalled paths directly inside it (new entries are found this way). */
  readonly namesIn: ReadonlyMap<string, Set<string>>;
}

function planChanges(paths: readonly string[]): ChangePlan {
  const changed = new Set<string>();
  const dirty = new Set<string>();
  const namesIn = new Map<string, Set<string>>();
  for (const raw of paths) {
    const p = raw.replace(/^\/+|\/+$/g, '');
    if (p === '' || p.split('/').some((c) => c === '' || c === '.' || c === '..')) continue; // the root itself is always re-examined
    changed.add(p);
    let child = p;
    for (let i = p.lastIndexOf('/'); ; i = child.lastIndexOf('/')) {
      const dir = i < 0 ? '' : child.slice(0, i);
      const names = namesIn.get(dir) ?? new Set<string>();
      names.add(child.slice(i + 1));
      namesIn.set(dir, names);
      if (dir === '' || dirty.has(dir)) break;
      dirty.add(dir);
      child = dir;
    }
  }
  return { changed, dirty, namesIn };
}

function join(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}
