import { peakRssKiB } from '../peak-rss';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EbmError } from '@ebm/sdk';
import type { CliContext } from '../cli-context';
import { EXIT_SAVED_WITH_WARNINGS } from '../command-types';
import { pluginOptionValues } from '../plugin-options';
import { ProgressDisplay } from '../progress-display';
import { formatBytes, formatDuration } from '../output';
import { LayeredBackupService } from '../../layers/layered-backup-service';
import { PluginRegistry } from '../../plugin-host/plugin-registry';
import { HostEvents } from '../../events/host-events';

export interface LayeredBackupOptions {
  provider: string;
  lower?: string;
  upper?: string;
  layers?: string[];
  dataset?: string;
  tag?: string[];
  full?: boolean;
  host?: string;
  compressionLevel?: number;
  baseName?: string;
  baseSnapshot?: string;
  [plugin: string]: unknown;
}

/**
 * `ebm backup --provider ID (SOURCE | --lower DIR[:DIR…] --upper DIR) --dataset NAME [--layers …]`:
 * the endpoint's layers, each as its own snapshot, and the endpoint snapshot
 * naming them (docs/layers.md, "Host features").
 */
export async function backupLayers(ctx: CliContext, operands: readonly string[], opts: LayeredBackupOptions): Promise<number> {
  const registry = ctx.container.resolve(PluginRegistry);
  const plugin = registry.get(opts.provider);
  if (plugin.manifest.kind !== 'layer-provider') throw new EbmError('E_USAGE', `--provider ${opts.provider}: ${opts.provider} is a ${plugin.manifest.kind}, not a layer provider (use --translator for translators)`);
  if (opts.dataset === undefined) throw new EbmError('E_USAGE', 'a layered backup needs --dataset NAME: the endpoint\'s name, under which its snapshots and its layers\' incrementals are filed');
  const source = layeredSource(operands, opts);
  const options = pluginOptionValues(plugin, 'backup', opts, registry.list());
  const service = ctx.container.resolve(LayeredBackupService);
  service.prewarm(plugin.manifest.id); // the workers start while the password's key is derived
  const repo = await ctx.openRepository();
  const display = new ProgressDisplay('backup', ctx.output);
  const detach = display.attach(ctx.container.resolve(HostEvents));
  const report = await service.backup({
    repository: repo,
    provider: plugin.manifest.id,
    source,
    dataset: opts.dataset,
    providerOptions: options,
    ...(opts.layers ? { layers: opts.layers } : {}),
    ...(opts.baseName !== undefined ? { baseName: opts.baseName } : {}),
    ...(opts.baseSnapshot !== undefined ? { baseSnapshot: opts.baseSnapshot } : {}),
    tags: opts.tag ?? [],
    full: Boolean(opts.full),
    ...(opts.host ? { host: opts.host } : {}),
    ...(opts.compressionLevel !== undefined ? { compressionLevel: opts.compressionLevel } : {}),
    signal: ctx.signal,
    onLayer: (layer, action) => ctx.output.info(`layer ${layer.order} ${layer.id} (${layer.kind}): ${action === 'store' ? 'reading' : action === 'reference' ? `base ${layer.digest?.slice(0, 19) ?? ''}… already stored, referenced` : 'not selected'}`),
    onWarning: (w) => ctx.output.warn(`${w.path}: ${w.message}`),
  }).finally(detach);
  const s = report.snapshot.summary;
  ctx.output.info(`endpoint snapshot ${report.snapshotId.slice(0, 8)} saved (dataset ${opts.dataset}, ${report.report.layout}, ${report.layers.length} layers)`);
  for (const l of report.layers) {
    const what = l.action === 'stored' && l.deltaOf ? `new base version ${l.snapshot!.slice(0, 8)} stored as ${l.deltaOf.slice(0, 8)} + delta: ${l.filesRead} files / ${formatBytes(l.bytesRead)} read, ${formatBytes(l.bytesAdded)} added`
      : l.action === 'stored' ? `stored ${l.snapshot!.slice(0, 8)}${l.parent ? ` (incremental on ${l.parent.slice(0, 8)})` : ''}: ${l.filesRead} files / ${formatBytes(l.bytesRead)} read, ${formatBytes(l.bytesAdded)} added`
      : l.action === 'referenced' ? `referenced base ${l.snapshot!.slice(0, 8)}: nothing read`
      : l.action === 'previous' ? `not selected: latest snapshot ${l.snapshot!.slice(0, 8)}`
      : 'not selected and never stored: MISSING from this endpoint snapshot';
    ctx.output.info(`  ${l.order} ${l.id} (${l.kind}${l.immutable ? ', immutable' : ''}): ${what}`);
  }
  ctx.output.info(`  total: ${formatBytes(s.bytesRead)} read, ${formatBytes(s.bytesAdded)} added, took ${formatDuration(s.durationMs)}`);
  ctx.output.line({
    type: 'summary', op: 'backup', snapshot: report.snapshotId, parent: report.snapshot.parent ?? null, dataset: opts.dataset,
    provider: plugin.manifest.id, layout: report.report.layout, source: report.report.source, ...s,
    layers: report.layers.map((l) => ({ ...l })),
    peakRssKiB: peakRssKiB(),
  });
  return s.warnings.length > 0 ? EXIT_SAVED_WITH_WARNINGS : 0;
}

/** SOURCE as given (an existing path made absolute), or `overlayfs:lowerdir=…,upperdir=…` from --lower/--upper. */
export function layeredSource(operands: readonly string[], opts: Pick<LayeredBackupOptions, 'lower' | 'upper'>): string {
  const dirs = opts.lower !== undefined || opts.upper !== undefined;
  if (dirs && operands.length > 0) throw new EbmError('E_USAGE', `give either a SOURCE or --lower/--upper, not both (got ${operands.join(' ')})`);
  if (dirs) {
    if (opts.lower === undefined) throw new EbmError('E_USAGE', '--upper needs --lower DIR[:DIR…] (the lower directories, uppermost first, as in lowerdir=)');
    const abs = (d: string): string => {
      if (/[,:]/.test(path.resolve(d))) throw new EbmError('E_USAGE', `${d}: a directory name with ',' or ':' cannot be given with --lower/--upper; name it in a SOURCE string instead`);
      return path.resolve(d);
    };
    const lower = opts.lower.split(':').filter((d) => d !== '').map(abs);
    return `overlayfs:lowerdir=${lower.join(':')}${opts.upper !== undefined ? `,upperdir=${abs(opts.upper)}` : ''}`;
  }
  if (operands.length !== 1) throw new EbmError('E_USAGE', `a layered backup takes one SOURCE (or --lower/--upper), got ${operands.length}`);
  const source = operands[0]!;
  return fs.existsSync(source) ? path.resolve(source) : source;
}
