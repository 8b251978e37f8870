import type { JsonValue } from '../entry/entry';
import { EbmError, ErrorRecord, isEbmError, throwIfCancelled, toErrorRecord } from '../errors/ebm-error';
import {
  BackupJobSpec, BackupTaskResult, DiscoverJobSpec, DiscoverTaskResult, PROTOCOL_VERSION, RestoreJobSpec, RestoreTaskResult, TaskOp, TaskRequest, TaskResult,
} from '../protocol/messages';
import type { LayerInfo } from '../layers/layer';
import type { LayerDiscoverContext, LayerProvider } from '../layers/layer-provider';
import { validateLayerReport } from '../layers/validate-layer-report';
import type { BackupContext, DiscoverContext, DiscoveryReport, RestoreContext, TreeWriter } from '../translator/context';
import type { Discoverer, Translator } from '../translator/translator';
import { emptyBackupStats } from './backup-stats';
import { BlobShipper } from './blob-shipper';
import type { BlobEncoder } from './blob-shipper';
import { ContentWriter } from './content-writer';
import { deepFreeze } from './deep-freeze';
import { PortChannel } from './port-channel';
import { ParentSnapshot } from './previous-snapshot';
import { isLayerProvider, runLayerQuery } from './run-layer-query';
import { Reporting } from './reporting';
import { RestoreSession } from './restore-session';
import { SnapshotTreeWriter } from './tree-writer';
import { TreeLoader } from './tree-loader';

/**
 * Runs one backup, restore, discover or layer-query task of a plugin, worker
 * side: builds the context over the request's MessagePort, runs the plugin, and returns
 * the outcome as plain data. Never rejects: every failure comes back as
 * `{ ok: false, error }` — EbmErrors keep their code, a cancelled task gives
 * E_CANCELLED, anything else the plugin throws gives E_PLUGIN_FAILED with the
 * original message and stack; `plugin` and `op` are always set.
 * The port is closed when the task ends.
 *
 * `options.encoder` (supplied by the host's bootstrap worker) compresses the
 * blobs that are shipped, so compression runs on the worker's core.
 */
export interface RunTaskOptions {
  readonly encoder?: BlobEncoder;
}

/** What a plugin module exports: a translator (which may also discover), a layer provider, or another discoverer. */
export type TaskPlugin = Translator | LayerProvider | Discoverer;

const OPS: readonly TaskOp[] = ['backup', 'restore', 'discover', 'layer-files', 'layer-changes'];

export async function runTask(request: TaskRequest, plugin: TaskPlugin, pluginId: string, options: RunTaskOptions = {}): Promise<TaskResult> {
  const op: TaskOp = OPS.includes(request?.job?.op) ? request.job.op : 'backup';
  let channel: PortChannel | undefined;
  let reporting: Reporting | undefined;
  try {
    checkRequest(request, plugin, pluginId);
    channel = new PortChannel(request.port);
    reporting = new Reporting(channel);
    const job = request.job;
    const result = job.op === 'backup'
      ? await runBackup(job, plugin as Translator, channel, reporting, options.encoder)
      : job.op === 'restore'
        ? await runRestore(job, plugin as Translator, channel, reporting)
        : job.op === 'discover'
          ? await runDiscover(job, plugin as Discoverer | LayerProvider, pluginId, channel, reporting)
          : await runLayerQuery(job, plugin as LayerProvider, pluginId, channel, reporting, commonContext(job.options, channel.signal, reporting));
    return { ok: true, result };
  } catch (err) {
    return { ok: false, error: taskError(err, pluginId, op, channel?.signal) };
  } finally {
    reporting?.flush();
    channel?.close();
  }
}

async function runBackup(job: BackupJobSpec, translator: Translator, channel: PortChannel, reporting: Reporting, encoder: BlobEncoder | undefined): Promise<BackupTaskResult> {
  const signal = channel.signal;
  const stats = emptyBackupStats();
  const shipper = new BlobShipper(channel, job.windowBytes, stats, encoder);
  const content = new ContentWriter(job.addressing, shipper, signal, stats);
  const writer = new SnapshotTreeWriter(job.addressing.idKey, shipper, content, stats);
  const tree = Object.freeze<TreeWriter>({
    writeContent: (source) => writer.writeContent(source),
    add: (path, entry) => writer.add(path, entry),
    setRoot: (meta) => writer.setRoot(meta),
    reuseSubtree: (path, entry) => writer.reuseSubtree(path, entry),
  });
  const ctx = Object.freeze<BackupContext>({
    ...commonContext(job.options, signal, reporting),
    source: job.source,
    tree,
    ...(job.parent ? { previous: new ParentSnapshot(job.parent.id, job.parent.tree, new TreeLoader(channel), channel, job.parent.meta === undefined ? undefined : deepFreeze(job.parent.meta)) } : {}),
    ...(job.parent && job.changes?.since === job.parent.id ? { changes: deepFreeze({ since: job.changes.since, paths: [...job.changes.paths] }) } : {}),
  });
  const outcome = await translator.backup(ctx);
  throwIfCancelled(signal, 'backup');
  const root = await writer.finish();
  await shipper.drain();
  shipper.close();
  throwIfCancelled(signal, 'backup');
  return {
    op: 'backup',
    tree: root,
    ...(writer.rootMeta ? { root: plainJson(writer.rootMeta, 'the root metadata given to setRoot') } : {}),
    ...outcomeMeta(outcome),
    stats: { ...stats },
    warnings: [...reporting.warnings],
    warningsDropped: reporting.warningsDropped,
  };
}

async function runRestore(job: RestoreJobSpec, translator: Translator, channel: PortChannel, reporting: Reporting): Promise<RestoreTaskResult> {
  const signal = channel.signal;
  const session = new RestoreSession(channel, new TreeLoader(channel), job.tree, job.snapshot.id, job.includes ?? []);
  const ctx = Object.freeze<RestoreContext>({
    ...commonContext(job.options, signal, reporting),
    target: job.target,
    overwrite: job.overwrite === true,
    snapshot: deepFreeze(job.snapshot),
    entries: () => session.entries(),
    directories: () => session.directories(),
    readContent: (entry, options) => session.readContent(entry, options),
  });
  const outcome = await translator.restore(ctx);
  throwIfCancelled(signal, 'restore');
  return {
    op: 'restore',
    files: session.files,
    dirs: session.dirs,
    bytes: session.bytes,
    ...outcomeMeta(outcome),
    warnings: [...reporting.warnings],
    warningsDropped: reporting.warningsDropped,
  };
}

/**
 * A translator's discovery answers any plain JSON object; a layer provider's
 * must be a LayerReport (validateLayerReport: E_PLUGIN_FAILED naming the
 * field), copied by structured clone as every layer answer is.
 */
async function runDiscover(job: DiscoverJobSpec, plugin: Discoverer | LayerProvider, pluginId: string, channel: PortChannel, reporting: Reporting): Promise<DiscoverTaskResult> {
  const signal = channel.signal;
  const common = { ...commonContext(job.options, signal, reporting), source: job.source };
  // A layer provider may announce layers before its report (LayerDiscoverContext.announce); the host checks them against it.
  const announced: LayerInfo[] = [];
  const announce = (layer: LayerInfo): void => {
    const copy = plainClone(layer, 'an announced layer');
    announced.push(copy);
    channel.notify({ t: 'layer-ready', layer: copy });
  };
  const ctx = Object.freeze<DiscoverContext | LayerDiscoverContext>(isLayerProvider(plugin) ? { ...common, announce } : common);
  const report: unknown = await plugin.discover(ctx as DiscoverContext & LayerDiscoverContext);
  throwIfCancelled(signal, 'discover');
  if (isLayerProvider(plugin)) {
    return {
      op: 'discover',
      report: plainClone(validateLayerReport(report, pluginId), 'the report returned by discover') as unknown as DiscoveryReport,
      warnings: [...reporting.warnings],
      warningsDropped: reporting.warningsDropped,
      ...(announced.length > 0 ? { announced } : {}),
    };
  }
  if (typeof report !== 'object' || report === null || Array.isArray(report)) {
    throw new TypeError('discover returned something other than a plain object (a DiscoveryReport)');
  }
  return {
    op: 'discover',
    report: plainJson<DiscoveryReport>(report as DiscoveryReport, 'the report returned by discover'),
    warnings: [...reporting.warnings],
    warningsDropped: reporting.warningsDropped,
  };
}

function commonContext(options: BackupJobSpec['options'] | undefined, signal: AbortSignal, reporting: Reporting) {
  return {
    options: deepFreeze(options ?? {}),
    signal,
    progress: reporting.progress,
    log: reporting.log,
    warn: (warning: Parameters<Reporting['warn']>[0]) => reporting.warn(warning),
  };
}

function checkRequest(request: TaskRequest, plugin: TaskPlugin, pluginId: string): void {
  if (typeof request !== 'object' || request === null || typeof request.port?.postMessage !== 'function') {
    throw new EbmError('E_PROTOCOL', 'the task request has no MessagePort');
  }
  if (request.protocol !== PROTOCOL_VERSION) {
    throw new EbmError('E_PROTOCOL', `the host speaks protocol version ${request.protocol}, this SDK speaks ${PROTOCOL_VERSION}`);
  }
  const job = request.job;
  if (job?.op === 'backup') {
    if (!(job.addressing?.idKey instanceof Uint8Array) || !Number.isSafeInteger(job.windowBytes) || job.windowBytes <= 0) {
      throw new EbmError('E_PROTOCOL', 'the backup job lacks its id key or a positive windowBytes');
    }
  } else if (job?.op === 'layer-files' || job?.op === 'layer-changes') {
    if (typeof job.source !== 'string' || typeof job.layer !== 'string' || job.layer === '') throw new EbmError('E_PROTOCOL', `the ${job.op} job lacks its source or layer`);
    if (job.windowBatches !== undefined && (!Number.isSafeInteger(job.windowBatches) || job.windowBatches <= 0)) throw new EbmError('E_PROTOCOL', `the ${job.op} job's windowBatches must be a positive integer, got ${job.windowBatches}`);
    if (job.report !== undefined && !Array.isArray((job.report as { layers?: unknown })?.layers)) throw new EbmError('E_PROTOCOL', `the ${job.op} job's report is not a layer report`);
  } else if (job?.op !== 'restore' && job?.op !== 'discover') {
    throw new EbmError('E_PROTOCOL', `unknown task operation ${JSON.stringify((job as { op?: unknown })?.op)}`);
  }
  if (job.op === 'layer-files' || job.op === 'layer-changes') {
    if (!isLayerProvider(plugin)) {
      throw new EbmError('E_NOT_SUPPORTED', `plugin ${pluginId} is not a layer provider (it exports no discover, files and changes functions), so it cannot answer ${job.op}`, { plugin: pluginId, op: job.op });
    }
  } else if (job.op === 'discover') {
    if (typeof (plugin as Partial<Discoverer>)?.discover !== 'function') {
      throw new EbmError('E_NOT_SUPPORTED', `plugin ${pluginId} does not implement discovery (it exports no discover function)`, { plugin: pluginId, op: 'discover' });
    }
  } else if (typeof (plugin as Partial<Translator>)?.backup !== 'function' || typeof (plugin as Partial<Translator>)?.restore !== 'function') {
    throw new EbmError('E_PLUGIN_LOAD', 'the plugin module does not export a translator (backup and restore functions)');
  }
}

function outcomeMeta(outcome: { readonly meta?: unknown } | void): { meta?: { readonly [key: string]: JsonValue } } {
  if (outcome === undefined || outcome === null || outcome.meta === undefined) return {};
  if (typeof outcome.meta !== 'object' || outcome.meta === null || Array.isArray(outcome.meta)) {
    throw new TypeError('the translator returned a meta that is not a plain object');
  }
  return { meta: plainJson(outcome.meta as { readonly [key: string]: JsonValue }, 'the meta returned by the translator') };
}

/** A JSON-only copy (what the snapshot can record); throws a TypeError naming `what` otherwise. */
function plainJson<T>(value: T, what: string): T {
  try {
    return JSON.parse(JSON.stringify(value)) as T;
  } catch (err) {
    throw new TypeError(`${what} is not JSON-serialisable: ${(err as Error).message}`);
  }
}

/** A structured-clone copy (what crosses the worker boundary); throws a TypeError naming `what` otherwise. */
function plainClone<T>(value: T, what: string): T {
  try {
    return structuredClone(value);
  } catch (err) {
    throw new TypeError(`${what} is not plain data (structured clone failed: ${(err as Error).message})`);
  }
}

/** The plain error record of a failed task, attributed to the plugin and operation. */
function taskError(err: unknown, plugin: string, op: string, signal: AbortSignal | undefined): ErrorRecord {
  let record: ErrorRecord;
  if (signal?.aborted) {
    record = toErrorRecord(isEbmError(signal.reason) ? signal.reason : new EbmError('E_CANCELLED', 'the operation was cancelled'));
  } else if (isEbmError(err) || (err as Error)?.name === 'AbortError') {
    record = toErrorRecord(err);
  } else {
    const e = err as { message?: unknown; stack?: unknown; path?: unknown } | undefined;
    const message = typeof e === 'object' && e !== null && typeof e.message === 'string' ? e.message : String(err);
    record = {
      code: 'E_PLUGIN_FAILED',
      message,
      retryable: false,
      ...(typeof e?.stack === 'string' ? { stack: e.stack } : {}),
      ...(typeof e?.path === 'string' ? { subject: e.path } : {}),
    };
  }
  return { ...record, plugin: record.plugin ?? plugin, op: record.op ?? op };
}
