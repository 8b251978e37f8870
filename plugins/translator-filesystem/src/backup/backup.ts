import { promises as fsp } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import * as path from 'node:path';
import { BackupContext, BackupOutcome, EbmError, JsonValue, throwIfCancelled } from '@ebm/sdk';
import { isNotFound, isPermissionDenied, messageOf } from '../fs-errors';
import { parseBackupOptions } from '../options';
import { BackupJob, XATTRS_META } from './backup-job';
import { buildExcludeMatcher } from './exclude-matcher';
import { walkTree } from './walk';
import { journalWalk, JournalWalkStats } from './journal-walk';
import { backupPathList } from './path-list-walk';
import { startTotalsCount } from './progress-totals';
import type { Totals } from './progress-totals';

/** Recorded in the snapshot's translator metadata. */
export const TREE_FORMAT = { format: 'filesystem-tree', version: 1 } as const;

/**
 * Backs up `ctx.source`: a directory (its contents become the snapshot root,
 * its own metadata the root metadata) or a single file (the root holds one
 * entry named after it). A symlink given as the source is followed.
 */
export async function backupFilesystem(ctx: BackupContext): Promise<BackupOutcome> {
  const options = parseBackupOptions(ctx.options);
  const source = await resolveSource(ctx.source);
  const exclude = await buildExcludeMatcher(options.exclude, options.excludeFiles);
  const job = new BackupJob(ctx, options);

  if (!source.stats.isDirectory()) {
    if (options.pathsFrom !== undefined) throw new EbmError('E_INVALID_OPTION', `option --paths-from lists paths below a directory, but the source ${source.absPath} is a single file`, { subject: 'paths-from' });
    await job.visit({ relPath: source.name, absPath: source.absPath, stats: source.stats });
    await job.finish();
    return { meta: { ...TREE_FORMAT, [XATTRS_META]: options.xattrs, singleFile: true, ...blockModeMeta(job) } };
  }

  ctx.tree.setRoot(job.metadata('', source.absPath, source.stats));
  const walkOptions = { exclude, rootDev: options.oneFileSystem ? source.stats.dev : undefined, signal: ctx.signal };
  if (options.pathsFrom !== undefined) {
    // Exactly the listed entries (and their ancestors): nothing else is listed, statted or read.
    const scan = await backupPathList(ctx, job, source.absPath, options.pathsFrom, { ...walkOptions, warn: (w) => ctx.warn(w) });
    return { meta: { ...TREE_FORMAT, [XATTRS_META]: options.xattrs, scan: { ...scan }, ...blockModeMeta(job) } };
  }
  if (ctx.changes !== undefined && ctx.previous?.list !== undefined && ctx.changes.since === ctx.previous.id) {
    // A trusted change journal: look only at what it names (no counting walk either: it would stat everything).
    const scan: JournalWalkStats = { journalled: 0, statted: 0, reused: 0, subtreesReused: 0 };
    const walk = journalWalk(source.absPath, ctx.changes, ctx.previous, { ...walkOptions, warn: (w) => ctx.warn(w), subtreeReuse: ctx.tree.reuseSubtree !== undefined }, scan);
    for await (const step of walk) {
      throwIfCancelled(ctx.signal, 'backup');
      if (step.kind === 'walked') await job.visit(step.item);
      else if (step.kind === 'reuse-subtree') await job.reuseSubtree(step.relPath, step.entry);
      else await job.reuse(step.relPath, step.entry);
    }
    await job.finish();
    return { meta: { ...TREE_FORMAT, [XATTRS_META]: options.xattrs, scan: { mode: 'journal', ...scan }, ...blockModeMeta(job) } };
  }
  // An incremental's ETA comes from the parent's totals (its directories' tallies): no counting walk.
  const fromParent = await parentTotals(ctx.previous);
  if (fromParent !== undefined) job.setTotals(fromParent);
  const totals = fromParent !== undefined ? { stop() {} } : startTotalsCount(source.absPath, walkOptions, (t) => job.setTotals(t));
  try {
    for await (const item of walkTree(source.absPath, { ...walkOptions, warn: (w) => ctx.warn(w) })) {
      throwIfCancelled(ctx.signal, 'backup');
      await job.visit(item);
    }
    await job.finish();
  } finally {
    totals.stop();
  }
  return { meta: { ...TREE_FORMAT, [XATTRS_META]: options.xattrs, scan: { mode: 'full' }, ...blockModeMeta(job) } };
}

/**
 * What the parent snapshot held (entries that are not directories, and their
 * bytes), from its root listing and each directory's tally: an estimate for
 * the ETA of an incremental that costs one tree, not a walk. Undefined when
 * the parent cannot list or predates tallies.
 */
export async function parentTotals(previous: BackupContext['previous']): Promise<Totals | undefined> {
  const root = previous?.list !== undefined ? await previous.list('') : undefined;
  if (root === undefined) return undefined;
  let totalFiles = 0;
  let totalBytes = 0;
  for (const e of root) {
    if (e.kind !== 'dir') {
      totalFiles += 1;
      totalBytes += e.size ?? 0;
    } else if (e.tally !== undefined) {
      totalFiles += e.tally.files + e.tally.others;
      totalBytes += e.tally.bytes;
    } else {
      return undefined;
    }
  }
  return { totalFiles, totalBytes };
}

/** What block mode did (files, blocks, bytes read, extents method, reflink or live), when it was on. */
function blockModeMeta(job: BackupJob): { blockMode?: { readonly [key: string]: JsonValue } } {
  return job.blocks !== undefined ? { blockMode: job.blocks.summary() } : {};
}

interface Source {
  /** Real absolute path (symlinks resolved). */
  readonly absPath: string;
  /** The name a single-file source gets in the snapshot (the name the operator gave). */
  readonly name: string;
  readonly stats: BigIntStats;
}

async function resolveSource(given: string): Promise<Source> {
  const absGiven = path.resolve(given);
  try {
    const absPath = await fsp.realpath(absGiven);
    const stats = await fsp.lstat(absPath, { bigint: true });
    return { absPath, name: path.basename(absGiven), stats };
  } catch (err) {
    if (isNotFound(err)) {
      throw new EbmError('E_SOURCE_NOT_FOUND', `backup source ${absGiven} does not exist`, { subject: absGiven, op: 'backup' });
    }
    if (isPermissionDenied(err)) {
      throw new EbmError('E_PERMISSION', `backup source ${absGiven} is not accessible: permission denied`, { subject: absGiven, op: 'backup' });
    }
    throw new EbmError('E_INVALID_SOURCE', `backup source ${absGiven} cannot be examined: ${messageOf(err)}`, { subject: absGiven, op: 'backup', cause: err });
  }
}
