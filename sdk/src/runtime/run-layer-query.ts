import { EbmError, isEbmError, throwIfCancelled } from '../errors/ebm-error';
import type { LayerChange, LayerFile, LayerReport } from '../layers/layer';
import type { LayerProvider, LayerQueryContext } from '../layers/layer-provider';
import { validateLayerBatch, validateLayerReport } from '../layers/validate-layer-report';
import { DEFAULT_LAYER_WINDOW_BATCHES } from '../protocol/messages';
import type { LayerQueryJobSpec, LayerQueryTaskResult } from '../protocol/messages';
import type { Logger } from '../translator/context';
import { ByteWindow } from './byte-window';
import type { PortChannel } from './port-channel';
import type { Reporting } from './reporting';

/** What a layer query's context is made of besides source and layer (built by runTask). */
export type LayerCommonContext = Omit<LayerQueryContext, 'source' | 'layer'>;

const SILENT: Logger = Object.freeze({ debug() {}, info() {}, warn() {}, error() {} });

/** True when the plugin object is a layer provider (discover, files and changes). */
export function isLayerProvider(plugin: unknown): plugin is LayerProvider {
  const p = plugin as Partial<LayerProvider> | null | undefined;
  return typeof p?.discover === 'function' && typeof p.files === 'function' && typeof p.changes === 'function';
}

/**
 * Runs a provider's `files` or `changes` for one layer, worker side, and
 * streams the answer to the host: each yielded batch is validated against
 * the job's report (validateLayerBatch: a bad batch is E_PLUGIN_FAILED naming
 * the field) and sent as one layer-batch message; at most `windowBatches`
 * batches wait for the host's ack, so a slow consumer slows the provider
 * instead of filling memory. A cancel from the host aborts `ctx.signal` and
 * fails the batches in flight with E_CANCELLED.
 */
export async function runLayerQuery(
  job: LayerQueryJobSpec, provider: LayerProvider, pluginId: string, channel: PortChannel, reporting: Reporting, common: LayerCommonContext,
): Promise<LayerQueryTaskResult> {
  const what = job.op === 'layer-files' ? 'files' : 'changes';
  const signal = channel.signal;
  const ctx: LayerQueryContext = Object.freeze({ ...common, source: job.source, layer: job.layer });
  const window = new ByteWindow(job.windowBatches ?? DEFAULT_LAYER_WINDOW_BATCHES);
  const inFlight = new Set<Promise<void>>();
  let report: LayerReport | undefined = job.report;
  let batches = 0;
  let items = 0;

  const iterable = what === 'files' ? provider.files(ctx) : provider.changes(ctx);
  if (typeof (iterable as Partial<AsyncIterable<unknown>>)?.[Symbol.asyncIterator] !== 'function') {
    throw new TypeError(`${what}(ctx) returned something that is not an async iterable of batches (write it as an async generator)`);
  }
  for await (const raw of iterable as AsyncIterable<unknown>) {
    throwIfCancelled(signal, job.op);
    // Without a report from the host, discover once (silently) to have one to validate against.
    report ??= validateLayerReport(await provider.discover(Object.freeze({ ...common, source: job.source, progress: { update() {} }, log: SILENT, warn() {} })), pluginId);
    throwIfCancelled(signal, job.op);
    const batch = what === 'files' ? validateLayerBatch(raw, 'files', report, job.layer, pluginId) : validateLayerBatch(raw, 'changes', report, job.layer, pluginId);
    const index = batches;
    await window.acquire(1);
    const sent: Promise<void> = channel.request({ t: 'layer-batch', items: batch as readonly (LayerFile | LayerChange)[] }).then(
      () => {
        inFlight.delete(sent);
        window.release(1);
      },
      (err: unknown) => {
        inFlight.delete(sent);
        window.fail(sendError(err, index, what, job.layer, pluginId));
      },
    );
    inFlight.add(sent);
    batches += 1;
    items += batch.length;
  }
  while (inFlight.size > 0) await Promise.all([...inFlight]);
  throwIfCancelled(signal, job.op);
  window.tryAcquire(0); // throws the window's failure: a batch the host refused or the port could not carry
  return { op: job.op, batches, items, warnings: [...reporting.warnings], warningsDropped: reporting.warningsDropped };
}

/** A batch the port could not carry is the provider's fault when it is not structured-clone safe. */
function sendError(err: unknown, index: number, what: string, layer: string, pluginId: string): unknown {
  const cause = (err as { cause?: { name?: unknown; message?: unknown } } | null)?.cause;
  if (isEbmError(err) && err.code === 'E_PROTOCOL' && cause?.name === 'DataCloneError') {
    return new EbmError('E_PLUGIN_FAILED', `layer provider ${pluginId} yielded batch ${index} of the ${what} of layer ${layer} that is not plain data (structured clone failed: ${String(cause.message)}); yield arrays of plain objects`, {
      plugin: pluginId, op: what, subject: `batch ${index}`, cause: err,
    });
  }
  return err;
}
