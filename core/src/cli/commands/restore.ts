import type { Command } from 'commander';
import type { RegisterCommand } from '../command-types';
import { collect } from '../command-types';
import type { CliContext } from '../cli-context';
import { ProgressDisplay } from '../progress-display';
import { formatBytes, formatDuration } from '../output';
import { RestoreService } from '../../restore/restore-service';
import { PluginRegistry } from '../../plugin-host/plugin-registry';
import { HostEvents } from '../../events/host-events';
import { addPluginOptions, pluginOptionValues } from '../plugin-options';
import { discoverPluginsForHelp } from './plugin-list';
import { resolveSnapshotArg } from './snapshot-arg';

interface RestoreOptions { target: string; include?: string[]; overwrite?: boolean; dataset?: string; [k: string]: unknown }
const RESERVED = new Set(['target', 'include', 'overwrite', 'dataset', 'repo', 'json', 'quiet', 'password-file', 'option']);

export const registerRestore: RegisterCommand = (program, run) => {
  const cmd: Command = program
    .command('restore')
    .description('restore a snapshot (all of it, or the --include paths) into a target directory')
    .argument('<snapshot>', "snapshot id, id prefix, or 'latest'")
    .requiredOption('--target <dir>', 'directory to restore into (must be empty or absent unless --overwrite)')
    .option('-i, --include <path>', 'restore only this snapshot path and what is below it (repeatable)', collect)
    .option('--overwrite', 'restore into a non-empty target, replacing what is in the way')
    .option('-d, --dataset <name>', "with 'latest': the latest snapshot of this dataset");
  addPluginOptions(cmd, discoverPluginsForHelp(), 'restore', RESERVED);
  cmd.action(
    run(async (ctx: CliContext, snapshotArg: string, opts: RestoreOptions) => {
      const started = Date.now();
      const repo = await ctx.openRepository();
      const snapshot = await resolveSnapshotArg(repo, snapshotArg, opts.dataset);
      const registry = ctx.container.resolve(PluginRegistry);
      const plugin = registry.get(snapshot.translator.id);
      const options = pluginOptionValues(plugin, 'restore', opts, registry.list());
      const display = new ProgressDisplay('restore', ctx.output);
      // A whole restore writes what the snapshot holds: its summary gives the totals for an ETA.
      if ((opts.include ?? []).length === 0) {
        display.update({ files: 0, bytes: 0, totalFiles: snapshot.summary.files + snapshot.summary.dirs + snapshot.summary.others, totalBytes: snapshot.summary.bytesTotal });
      }
      const detach = display.attach(ctx.container.resolve(HostEvents));
      const result = await ctx.container.resolve(RestoreService).restore({
        repository: repo,
        snapshot,
        target: opts.target,
        includes: opts.include ?? [],
        overwrite: Boolean(opts.overwrite),
        options,
        signal: ctx.signal,
      }).finally(detach);
      const ms = Date.now() - started;
      ctx.output.info(`restored snapshot ${snapshot.id.slice(0, 8)} to ${opts.target}: ${result.files} files, ${result.dirs} dirs, ${formatBytes(result.bytes)} in ${formatDuration(ms)}`);
      ctx.output.line({ type: 'summary', ...result, op: 'restore', snapshot: snapshot.id, target: opts.target, durationMs: ms });
      return result.warnings.length > 0 ? 3 : 0;
    }),
  );
};
