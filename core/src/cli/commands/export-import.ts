import * as fs from 'node:fs';
import { EbmError } from '@ebm/sdk';
import type { RegisterCommand } from '../command-types';
import { collect, EXIT_SAVED_WITH_WARNINGS } from '../command-types';
import type { CliContext } from '../cli-context';
import { ProgressDisplay } from '../progress-display';
import { formatBytes, formatDuration } from '../output';
import { promptHidden } from '../password';
import { acquireLock } from '../../locks/lock';
import { BlobStore } from '../../repository/blob-store';
import { RestoreService } from '../../restore/restore-service';
import { HostEvents } from '../../events/host-events';
import { ExportBlobServer } from '../../export/export-blob-server';
import { ExportReader } from '../../export/export-reader';
import { writeExport } from '../../export/export-writer';
import { resolveSnapshotArg } from './snapshot-arg';
import { layeredRecordOf } from '../../layers/endpoint-snapshot';

interface ExportOptions { output: string; include?: string[]; encrypt?: boolean; exportPasswordFile?: string; dataset?: string }
export interface ImportOptions { target: string; include?: string[]; overwrite?: boolean; exportPasswordFile?: string }

/**
 * `ebm export`: the chosen files of a snapshot as one self-contained,
 * checksummed (optionally encrypted) file; `ebm import`: restores such a
 * file on any machine, without the repository it came from.
 */
export const registerExportImport: RegisterCommand = (program, run) => {
  program
    .command('export')
    .description('write a snapshot (or its --include paths) into one portable, checksummed file that restores without the repository')
    .argument('<snapshot>', "snapshot id, id prefix, or 'latest'")
    .requiredOption('-o, --output <file>', 'the export file to create (never replaces an existing file)')
    .option('-i, --include <path>', 'export only this snapshot path and what is below it (repeatable)', collect)
    .option('--encrypt', 'encrypt the export under its own password (EBM_EXPORT_PASSWORD, --export-password-file, or asked on a terminal)')
    .option('--export-password-file <file>', 'file whose first line is the export password (implies --encrypt)')
    .option('-d, --dataset <name>', "with 'latest': the latest snapshot of this dataset")
    .action(
      run(async (ctx: CliContext, snapshotArg: string, opts: ExportOptions) => {
        const started = Date.now();
        const repo = await ctx.openRepository();
        const snapshot = await resolveSnapshotArg(repo, snapshotArg, opts.dataset);
        if (layeredRecordOf(snapshot) !== undefined) {
          // Its own tree is empty: the files live in its layer snapshots.
          throw new EbmError('E_NOT_SUPPORTED', `snapshot ${snapshot.id.slice(0, 8)} is a layered endpoint (its files are in its layer snapshots): export its merged view with \`ebm synthesize ${snapshot.id.slice(0, 8)}\` and export that snapshot, or export one layer snapshot`, { subject: snapshot.id });
        }
        const password = opts.encrypt || opts.exportPasswordFile ? await exportPassword(opts.exportPasswordFile, true) : undefined;
        const lock = await acquireLock(repo, { exclusive: false, operation: `export ${snapshot.id.slice(0, 8)}` });
        const progress = new ProgressDisplay('export', ctx.output);
        try {
          const store = await BlobStore.open(repo);
          const report = await writeExport(store, snapshot, opts.output, {
            ...(opts.include ? { includes: opts.include } : {}),
            ...(password !== undefined ? { password } : {}),
            signal: ctx.signal,
            onProgress: (p) => progress.update({ files: p.blobs, totalFiles: p.totalBlobs, bytes: p.bytes, currentPath: 'blobs' }),
          }).finally(() => progress.done());
          ctx.output.info(`exported snapshot ${snapshot.id.slice(0, 8)} to ${report.file}: ${report.blobs} blobs (${report.trees} trees), ${formatBytes(report.plaintextBytes)} of content in a ${formatBytes(report.fileBytes)} ${report.encrypted ? 'encrypted ' : ''}file, in ${formatDuration(Date.now() - started)}`);
          ctx.output.line({ type: 'summary', op: 'export', snapshot: snapshot.id, ...report });
        } finally {
          await lock.release();
        }
      }),
    );

  program
    .command('import')
    .description('restore an export file (from `ebm export`) into a target directory; no repository needed')
    .argument('<file>', 'the export file')
    .requiredOption('--target <dir>', 'directory to restore into (must be empty or absent unless --overwrite)')
    .option('-i, --include <path>', 'restore only this path of the export (repeatable; default: everything it holds)', collect)
    .option('--overwrite', 'restore into a non-empty target, replacing what is in the way')
    .option('--export-password-file <file>', 'file whose first line is the export password (for an encrypted export)')
    .action(
      run((ctx: CliContext, file: string, opts: ImportOptions) => importExport(ctx, file, opts)),
    );
};

/**
 * Restores an export file into `opts.target` (`ebm import FILE`, and
 * `ebm restore --from-export FILE`). Exit code 3 when anything was damaged
 * or lost: every undamaged file is still restored.
 */
export async function importExport(ctx: CliContext, file: string, opts: ImportOptions, expectedSnapshot?: string): Promise<number> {
  const started = Date.now();
  const reader = await ExportReader.open(file, () => exportPassword(opts.exportPasswordFile, false));
  try {
    const { contents } = reader;
    if (expectedSnapshot !== undefined && !contents.snapshot.id.startsWith(expectedSnapshot)) {
      throw new EbmError('E_SNAPSHOT_NOT_FOUND', `${file} holds snapshot ${contents.snapshot.id.slice(0, 8)}, not ${expectedSnapshot}: leave the snapshot out with --from-export, or name the right export file`, { subject: file });
    }
    for (const d of reader.damage) {
      ctx.output.warn(`export damaged at bytes ${d.offset}–${d.offset + d.length} (${d.reason}); the files whose content was there are reported below`);
    }
    if (!reader.complete) ctx.output.warn(`${file} has no intact end record: it may be truncated; restoring what it holds`);
    const display = new ProgressDisplay('import', ctx.output);
    const detach = display.attach(ctx.container.resolve(HostEvents));
    const result = await ctx.container.resolve(RestoreService).restoreFrom({
      blobs: new ExportBlobServer(reader),
      snapshot: contents.snapshot,
      target: opts.target,
      includes: opts.include ?? contents.includes,
      overwrite: Boolean(opts.overwrite),
      signal: ctx.signal,
    }).finally(detach);
    const ms = Date.now() - started;
    ctx.output.info(`restored export of snapshot ${contents.snapshot.id.slice(0, 8)} (${contents.snapshot.dataset}) to ${opts.target}: ${result.files} files, ${result.dirs} dirs, ${formatBytes(result.bytes)} in ${formatDuration(ms)}`);
    ctx.output.line({ type: 'summary', ...result, op: 'import', snapshot: contents.snapshot.id, target: opts.target, damagedRanges: reader.damage.length, durationMs: ms });
    return result.warnings.length > 0 || reader.damage.length > 0 || !reader.complete ? EXIT_SAVED_WITH_WARNINGS : 0;
  } finally {
    reader.close();
  }
}

/** The export's own password: --export-password-file, EBM_EXPORT_PASSWORD, else a prompt on a terminal. */
async function exportPassword(file: string | undefined, confirm: boolean): Promise<string> {
  if (file !== undefined) {
    try {
      return fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new EbmError('E_USAGE', `cannot read export password file ${file}: ${(err as Error).message}`, { subject: file });
    }
  }
  const env = process.env.EBM_EXPORT_PASSWORD;
  if (env !== undefined && env !== '') return env;
  if (!process.stdin.isTTY) throw new EbmError('E_NO_PASSWORD', 'no export password: set EBM_EXPORT_PASSWORD, pass --export-password-file FILE, or run on a terminal to be asked');
  const first = await promptHidden('export password: ');
  if (confirm && (await promptHidden('enter the export password again: ')) !== first) throw new EbmError('E_USAGE', 'the passwords do not match');
  if (first === '') throw new EbmError('E_USAGE', 'an empty export password is not allowed');
  return first;
}
