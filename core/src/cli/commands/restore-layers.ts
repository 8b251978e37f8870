import { peakRssKiB } from '../peak-rss';
import { EbmError } from '@ebm/sdk';
import type { CliContext } from '../cli-context';
import { ProgressDisplay } from '../progress-display';
import { formatBytes, formatDuration } from '../output';
import { HostEvents } from '../../events/host-events';
import { LayeredRestoreService } from '../../layers/layered-restore-service';
import type { SnapshotRecord } from '../../repository/types';
import type { Repository } from '../../repository/repository';

export interface LayeredRestoreOptions {
  target?: string;
  include?: string[];
  overwrite?: boolean;
  flatten?: boolean;
  native?: boolean;
  layer?: string;
}

/**
 * `ebm restore ENDPOINT_SNAP --target DIR [--flatten | --native] [--layer ID]`:
 * an endpoint snapshot restored flattened (the merged view, default), as
 * one directory per layer (--native), or one layer alone (--layer).
 */
export async function restoreLayers(ctx: CliContext, repo: Repository, snapshot: SnapshotRecord, opts: LayeredRestoreOptions): Promise<number> {
  if (opts.flatten && opts.native) throw new EbmError('E_USAGE', 'give --flatten or --native, not both');
  if (opts.layer !== undefined && (opts.flatten || opts.native)) throw new EbmError('E_USAGE', '--layer restores one layer as stored; it takes neither --flatten nor --native');
  if (opts.target === undefined) throw new EbmError('E_USAGE', "required option '--target <dir>' not specified");
  const started = Date.now();
  const mode = opts.native ? 'native' : 'flatten';
  const display = new ProgressDisplay('restore', ctx.output);
  const detach = display.attach(ctx.container.resolve(HostEvents));
  const result = await ctx.container.resolve(LayeredRestoreService).restore({
    repository: repo, snapshot, target: opts.target, mode,
    ...(opts.layer !== undefined ? { layer: opts.layer } : {}),
    includes: opts.include ?? [], overwrite: Boolean(opts.overwrite), signal: ctx.signal,
  }).finally(detach);
  const ms = Date.now() - started;
  const how = opts.layer !== undefined ? `layer ${opts.layer}` : mode === 'native' ? `${result.layers.length} layers, one directory each` : 'flattened';
  ctx.output.info(`restored endpoint snapshot ${snapshot.id.slice(0, 8)} (${how}) to ${opts.target}: ${result.files} files, ${result.dirs} dirs, ${formatBytes(result.bytes)} in ${formatDuration(ms)}`);
  for (const l of result.layers) ctx.output.info(`  ${l.order} ${l.id} (${l.kind}) → ${l.dir}`);
  if (result.mountOptions) ctx.output.info(`  mount: mount -t overlay overlay -o ${result.mountOptions},workdir=WORKDIR MOUNTPOINT (add metacopy=on,redirect_dir=on if the original used them)`);
  for (const w of result.warnings) ctx.output.warn(`${w.path}: ${w.message}`);
  ctx.output.line({
    type: 'summary', op: 'restore', snapshot: snapshot.id, target: opts.target, mode: opts.layer !== undefined ? 'layer' : mode,
    files: result.files, dirs: result.dirs, bytes: result.bytes, warnings: result.warnings.map((w) => ({ ...w })),
    layers: result.layers.map((l) => ({ ...l })), ...(result.mountOptions ? { mountOptions: result.mountOptions } : {}),
    durationMs: ms, peakRssKiB: peakRssKiB(),
  });
  return result.warnings.length > 0 ? 3 : 0;
}
