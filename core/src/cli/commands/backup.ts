import { peakRssKiB } from '../peak-rss';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { EbmError } from '@ebm/sdk';
import type { PluginDescriptor } from '@ebm/sdk';
import type { RegisterCommand } from '../command-types';
import { collect, EXIT_SAVED_WITH_WARNINGS } from '../command-types';
import type { CliContext } from '../cli-context';
import { addPluginOptions, pluginOptionValues } from '../plugin-options';
import { ProgressDisplay } from '../progress-display';
import { formatBytes, formatDuration } from '../output';
import { BackupService } from '../../backup/backup-service';
import { discoverPluginsForHelp } from './plugin-list';
import { PluginRegistry } from '../../plugin-host/plugin-registry';
import { HostEvents } from '../../events/host-events';
import { backupLayers } from './backup-layers';

interface BackupOptions {
  translator: string;
  dataset?: string;
  tag?: string[];
  full?: boolean;
  host?: string;
  compressionLevel?: number;
  provider?: string;
  lower?: string;
  upper?: string;
  layers?: string[];
  [plugin: string]: unknown;
}

const RESERVED = new Set(['translator', 'dataset', 'tag', 'full', 'host', 'compression-level', 'repo', 'json', 'quiet', 'password-file', 'option', 'provider', 'lower', 'upper', 'layers', 'base-name', 'base-snapshot']);

export const registerBackup: RegisterCommand = (program, run) => {
  const cmd: Command = program
    .command('backup')
    .description('back up a source through a translator plugin (the filesystem translator by default)')
    .argument('[source...]', 'what to back up: a directory or file for the filesystem translator; for a streaming translator a command after -- (--from-command), or nothing for standard input')
    .option('-t, --translator <id>', 'translator plugin id (see `ebm plugins`)', 'filesystem')
    .option('-d, --dataset <name>', 'dataset name; incrementals are taken against its latest snapshot (default: the absolute source path)')
    .option('--tag <tag>', 'tag the snapshot (repeatable)', collect)
    .option('--full', 'ignore the parent snapshot and read everything (a new baseline)')
    .option('--host <name>', 'host name recorded in the snapshot (default: this machine)')
    .option('--compression-level <0-22>', "zstd level for the data this backup adds: 0 stores, 1 fast … 22 small (default: the repository's)", parseCompressionLevel)
    .option('-p, --provider <id>', 'back up an endpoint layer by layer through this layer provider (e.g. overlay); base layers are stored once per repository (docs/layers.md)')
    .option('--lower <dir[:dir…]>', 'with --provider overlay: the overlay lower directories, uppermost first (as lowerdir=)')
    .option('--upper <dir>', 'with --provider overlay: the overlay upper directory')
    .option('--layers <id|kind,…>', 'with --provider: back up only these layers (ids or kinds, comma-separated or repeated); the others are referenced as last stored', collect)
    .option('--base-name <name>', 'with --provider: name the bottom (base) layer across versions; a new version is stored as the older one plus a delta (docs/layers.md)')
    .option('--base-snapshot <snapshot>', "with --provider and a layer map: the base image is this earlier snapshot (id, prefix or latest:DATASET), referenced instead of read; each layer stores only its changes from it (docs/layers.md)");
  addPluginOptions(cmd, discoverPluginsForHelp(), 'backup', RESERVED);
  cmd.action(
    run(async (ctx: CliContext, operands: string[], opts: BackupOptions) => {
      if (opts.provider !== undefined) {
        if (opts.translator !== 'filesystem') throw new EbmError('E_USAGE', '--provider backs up each layer with the filesystem translator; --translator cannot be combined with it');
        return backupLayers(ctx, operands, { ...opts, provider: opts.provider });
      }
      if (opts.lower !== undefined || opts.upper !== undefined || opts.layers !== undefined || opts['baseName'] !== undefined || opts['baseSnapshot'] !== undefined) throw new EbmError('E_USAGE', '--lower, --upper, --layers, --base-name and --base-snapshot need --provider (e.g. --provider overlay)');
      const registry = ctx.container.resolve(PluginRegistry);
      const plugin = registry.get(opts.translator);
      const options = pluginOptionValues(plugin, 'backup', opts, registry.list());
      const resolved = sourceFromOperands(operands, plugin);
      if (resolved === '-' && opts.dataset === undefined) throw new EbmError('E_USAGE', 'standard input has no name to file its snapshots under: pass --dataset <name>');
      const dataset = opts.dataset ?? resolved;
      const service = ctx.container.resolve(BackupService);
      service.prewarm(plugin.manifest.id); // the translator's worker starts while the password's key is derived
      const repo = await ctx.openRepository();
      const detach = new ProgressDisplay('backup', ctx.output).attach(ctx.container.resolve(HostEvents));
      const report = await service.backup({
        repository: repo,
        translator: opts.translator,
        source: resolved,
        dataset,
        tags: opts.tag ?? [],
        options,
        full: Boolean(opts.full),
        ...(opts.host ? { host: opts.host } : {}),
        ...(opts.compressionLevel !== undefined ? { compressionLevel: opts.compressionLevel } : {}),
        signal: ctx.signal,
      }).finally(detach);
      const s = report.snapshot.summary;
      ctx.output.info(`snapshot ${report.snapshotId.slice(0, 8)} saved (dataset ${dataset}${report.parent ? `, parent ${report.parent.slice(0, 8)}` : ', baseline'})`);
      // "Files" are what the filesystem translator stores; other translators' entries are their own units (a stream, a table, a page run).
      if (plugin.manifest.id === 'filesystem') ctx.output.info(`  files: ${s.files} (${s.filesRead} read, ${s.filesReused} unchanged), dirs: ${s.dirs}, other: ${s.others}`);
      else ctx.output.info(`  entries: ${s.files + s.others} stored by ${plugin.manifest.id} (${s.filesRead} read, ${s.filesReused} reused from the parent)`);
      ctx.output.info(`  bytes: ${formatBytes(s.bytesTotal)} in snapshot, ${formatBytes(s.bytesRead)} read, ${formatBytes(s.bytesAdded)} added to the repository`);
      const warnings = s.warnings.length + s.warningsDropped;
      ctx.output.info(`  took ${formatDuration(s.durationMs)}${warnings ? `, ${warnings} warning(s)` : ''}`);
      ctx.output.line({ type: 'summary', op: 'backup', snapshot: report.snapshotId, parent: report.parent ?? null, dataset, ...s, peakRssKiB: peakRssKiB() });
      return s.warnings.length > 0 ? EXIT_SAVED_WITH_WARNINGS : 0;
    }),
  );
};

/**
 * The operands become the translator's source: one word as it is (a path that
 * exists is made absolute, so the dataset is stable across working
 * directories); several words — a command given after `--` — as a JSON array
 * of strings (its argv, exact); none only for a translator with the
 * 'streaming' capability, which then reads standard input ('-').
 */
function sourceFromOperands(operands: readonly string[], plugin: PluginDescriptor): string {
  const streaming = plugin.manifest.capabilities.includes('streaming');
  if (operands.length === 0) {
    if (!streaming) throw new EbmError('E_USAGE', `missing the source to back up (the ${plugin.manifest.id} translator needs one)`);
    return '-';
  }
  if (operands.length > 1) {
    if (!streaming) throw new EbmError('E_USAGE', `the ${plugin.manifest.id} translator takes one source, got ${operands.length}: ${operands.join(' ')}`);
    return JSON.stringify(operands);
  }
  const source = operands[0]!;
  return fs.existsSync(source) ? path.resolve(source) : source;
}

function parseCompressionLevel(text: string): number {
  const level = Number(text);
  if (!/^\d+$/.test(text) || level > 22) throw new EbmError('E_USAGE', `--compression-level ${JSON.stringify(text)}: need an integer 0..22 (0 stores uncompressed)`);
  return level;
}
