import { promises as fsp } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import * as path from 'node:path';
import { BackupContext, BackupOutcome, EbmError, throwIfCancelled } from '@ebm/sdk';
import { isNotFound, isPermissionDenied, messageOf } from '../fs-errors';
import { parseBackupOptions } from '../options';
import { BackupJob } from './backup-job';
import { buildExcludeMatcher } from './exclude-matcher';
import { walkTree } from './walk';
import { startTotalsCount } from './progress-totals';

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
    await job.visit({ relPath: source.name, absPath: source.absPath, stats: source.stats });
    await job.finish();
    return { meta: { ...TREE_FORMAT, singleFile: true } };
  }

  ctx.tree.setRoot(job.metadata('', source.absPath, source.stats));
  const walkOptions = { exclude, rootDev: options.oneFileSystem ? source.stats.dev : undefined, signal: ctx.signal };
  const totals = startTotalsCount(source.absPath, walkOptions, (t) => job.setTotals(t));
  try {
    for await (const item of walkTree(source.absPath, { ...walkOptions, warn: (w) => ctx.warn(w) })) {
      throwIfCancelled(ctx.signal, 'backup');
      await job.visit(item);
    }
    await job.finish();
  } finally {
    totals.stop();
  }
  return { meta: { ...TREE_FORMAT } };
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
