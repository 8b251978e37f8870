import { peakRssKiB } from '../peak-rss';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { EbmError } from '@ebm/sdk';
import type { OptionValue, PluginDescriptor } from '@ebm/sdk';
import type { RegisterCommand } from '../command-types';
import { collect } from '../command-types';
import type { CliContext } from '../cli-context';
import { ProgressDisplay } from '../progress-display';
import { formatBytes, formatDuration, Output } from '../output';
import { RestoreService } from '../../restore/restore-service';
import { PluginRegistry } from '../../plugin-host/plugin-registry';
import { HostEvents } from '../../events/host-events';
import { addPluginOptions, pluginOptionValues } from '../plugin-options';
import { discoverPluginsForHelp } from './plugin-list';
import { resolveSnapshotArg } from './snapshot-arg';
import { importExport } from './export-import';
import { restoreLayers } from './restore-layers';
import { layeredRecordOf } from '../../layers/endpoint-snapshot';

interface RestoreOptions { target?: string; include?: string[]; overwrite?: boolean; dataset?: string; fromExport?: string; exportPasswordFile?: string; flatten?: boolean; native?: boolean; layer?: string; [k: string]: unknown }
const RESERVED = new Set(['target', 'include', 'overwrite', 'dataset', 'from-export', 'export-password-file', 'repo', 'json', 'quiet', 'password-file', 'option', 'flatten', 'native', 'layer']);

export const registerRestore: RegisterCommand = (program, run) => {
  const cmd: Command = program
    .command('restore')
    .description('restore a snapshot (all of it, or the --include paths) into a target directory; or, with --from-export FILE, an export file without the repository')
    .argument('[snapshot]', "snapshot id, id prefix, or 'latest' (optional with --from-export: the export holds one snapshot)")
    .argument('[command...]', 'for a stream snapshot with --to-command: the command to restore into, after --')
    .option('--target <dir>', 'directory to restore into (must be empty or absent unless --overwrite); not needed with --to-stdout or --to-command')
    .option('-i, --include <path>', 'restore only this snapshot path and what is below it (repeatable)', collect)
    .option('--overwrite', 'restore into a non-empty target, replacing what is in the way')
    .option('-d, --dataset <name>', "with 'latest': the latest snapshot of this dataset")
    .option('--from-export <file>', 'restore from an export file (`ebm export`) instead of a repository, as `ebm import FILE` does')
    .option('--export-password-file <file>', 'with --from-export: file whose first line is the export password (or EBM_EXPORT_PASSWORD)')
    .option('--flatten', 'an endpoint snapshot (ebm backup --provider): restore the merged view of its layers (the default)')
    .option('--native', 'an endpoint snapshot: restore each layer into its own directory under --target, whiteouts and overlay xattrs kept, ready to mount as the same overlay')
    .option('--layer <id>', 'an endpoint snapshot: restore only this layer, as stored');
  addPluginOptions(cmd, discoverPluginsForHelp(), 'restore', RESERVED);
  cmd.action(
    run(async (ctx: CliContext, snapshotArg: string | undefined, operands: string[], opts: RestoreOptions) => {
      if (opts.fromExport !== undefined) return restoreExport(ctx, snapshotArg, operands, opts);
      if (snapshotArg === undefined) throw new EbmError('E_USAGE', "missing the snapshot to restore (an id, a prefix or 'latest'), or --from-export FILE");
      const started = Date.now();
      const repo = await ctx.openRepository();
      const snapshot = await resolveSnapshotArg(repo, snapshotArg, opts.dataset);
      if (layeredRecordOf(snapshot) !== undefined) return restoreLayers(ctx, repo, snapshot, opts);
      if (opts.flatten || opts.native || opts.layer !== undefined) throw new EbmError('E_USAGE', `--flatten, --native and --layer restore endpoint snapshots (ebm backup --provider); snapshot ${snapshot.id.slice(0, 8)} is an ordinary ${snapshot.translator.id} snapshot`);
      const registry = ctx.container.resolve(PluginRegistry);
      const plugin = registry.get(snapshot.translator.id);
      const options = withCommandOperands(plugin, pluginOptionValues(plugin, 'restore', opts, registry.list()), operands);
      // A stream restored to standard output or into a command needs no directory, and
      // the CLI's own output must then stay off standard output.
      const elsewhere = options['to-stdout'] === true || options['to-command'] === true;
      if (opts.target === undefined && !elsewhere) throw new EbmError('E_USAGE', "required option '--target <dir>' not specified");
      const output = elsewhere ? new Output(ctx.output.json, ctx.output.quiet, process.stderr, process.stderr) : ctx.output;
      const target = opts.target ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ebm-restore-'));
      const where = opts.target ?? (options['to-stdout'] === true ? 'standard output' : `the command ${operands.join(' ')}`);
      try {
        const display = new ProgressDisplay('restore', output);
        // A whole restore writes what the snapshot holds: its summary gives the totals for an ETA.
        if ((opts.include ?? []).length === 0) {
          display.update({ files: 0, bytes: 0, totalFiles: snapshot.summary.files + snapshot.summary.dirs + snapshot.summary.others, totalBytes: snapshot.summary.bytesTotal });
        }
        const detach = display.attach(ctx.container.resolve(HostEvents));
        const result = await ctx.container.resolve(RestoreService).restore({
          repository: repo,
          snapshot,
          target,
          includes: opts.include ?? [],
          overwrite: Boolean(opts.overwrite),
          options,
          signal: ctx.signal,
        }).finally(detach);
        const ms = Date.now() - started;
        output.info(`restored snapshot ${snapshot.id.slice(0, 8)} to ${where}: ${result.files} files, ${result.dirs} dirs, ${formatBytes(result.bytes)} in ${formatDuration(ms)}`);
        output.line({ type: 'summary', ...result, op: 'restore', snapshot: snapshot.id, target: where, durationMs: ms, peakRssKiB: peakRssKiB() });
        return result.warnings.length > 0 ? 3 : 0;
      } catch (err) {
        if (!elsewhere) throw err;
        return output.error(err); // on standard error: standard output carries the stream
      } finally {
        if (opts.target === undefined) fs.rmSync(target, { recursive: true, force: true });
      }
    }),
  );
};

/** `ebm restore [SNAP] --from-export FILE --target DIR`: `ebm import` under the name operators look for. */
function restoreExport(ctx: CliContext, snapshotArg: string | undefined, operands: readonly string[], opts: RestoreOptions): Promise<number> {
  if (opts.target === undefined) throw new EbmError('E_USAGE', "required option '--target <dir>' not specified (an export restores into a directory)");
  if (operands.length > 0) throw new EbmError('E_USAGE', `--from-export restores into --target only; unexpected operands: ${operands.join(' ')}`);
  const expected = snapshotArg === undefined || snapshotArg === 'latest' ? undefined : snapshotArg;
  return importExport(ctx, opts.fromExport!, {
    target: opts.target,
    ...(opts.include ? { include: opts.include } : {}),
    ...(opts.overwrite ? { overwrite: true } : {}),
    ...(opts.exportPasswordFile ? { exportPasswordFile: opts.exportPasswordFile } : {}),
  }, expected);
}

/**
 * Operands after the snapshot (a command given after `--`) become the
 * translator's `command` option — only for a translator that declares one
 * (the stream translator's --to-command).
 */
function withCommandOperands(plugin: PluginDescriptor, options: Record<string, OptionValue>, operands: readonly string[]): Record<string, OptionValue> {
  if (operands.length === 0) return options;
  const spec = (plugin.manifest.options ?? []).find((o) => o.name === 'command' && o.type === 'string[]' && o.appliesTo !== 'backup');
  if (spec === undefined) throw new EbmError('E_USAGE', `unexpected arguments after the snapshot: ${operands.join(' ')} (the ${plugin.manifest.id} translator takes no command)`);
  return { ...options, command: [...operands] };
}
