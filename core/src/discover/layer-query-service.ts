import { randomUUID } from 'node:crypto';
import { inject, injectable } from 'tsyringe';
import { EbmError, validateLayerReport } from '@ebm/sdk';
import type { LayerBatch, LayerChange, LayerFile, LayerQueryTaskResult, LayerReport, OptionValue, PluginDescriptor, ProgressUpdate, Warning } from '@ebm/sdk';
import { noBlobs } from '../plugin-host/no-blobs';
import { PluginHost } from '../plugin-host/plugin-host';
import { PluginRegistry } from '../plugin-host/plugin-registry';

export interface LayerQueryRequest {
  /** A layer provider's plugin id, or its descriptor (a plugin the registry does not hold, e.g. in tests). */
  readonly plugin: string | PluginDescriptor;
  readonly source: string;
  /** The layer's id, from a discovery of the same source. */
  readonly layer: string;
  readonly options?: Readonly<Record<string, OptionValue>>;
  /**
   * The discovery the layer id comes from. Every batch is validated against
   * it. Without it the service runs a discovery first (a task of its own).
   */
  readonly report?: LayerReport;
  /** Batches the worker may send ahead of the consumer (default: the protocol's, 4). */
  readonly windowBatches?: number;
  readonly jobId?: string;
  /** Aborting cancels the query (the iteration then throws E_CANCELLED). */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: ProgressUpdate) => void;
  readonly onWarning?: (warning: Warning) => void;
}

/**
 * A layer provider's `files` and `changes` of one layer, as async iterables
 * of batches (plain arrays, ~1000 entries, depth-first pre-order across the
 * stream). The provider runs in its plugin's worker thread like any job
 * (same crash, memory, stall and cancellation handling).
 *
 *   for await (const batch of service.changes({ plugin: 'overlay', source, layer: 'upper', report })) …
 *
 * Backpressure reaches the provider: a batch is acknowledged only when the
 * consumer asks for the next one, and the worker keeps at most its window
 * of batches unacknowledged. Stopping early (`break`, `return`, a throw in
 * the loop body) cancels the job and waits for its worker to let go. A
 * failure of the job is thrown from the iteration as its EbmError.
 */
@injectable()
export class LayerQueryService {
  constructor(
    @inject(PluginHost) private readonly host: PluginHost,
    @inject(PluginRegistry) private readonly registry: PluginRegistry,
  ) {}

  files(request: LayerQueryRequest): AsyncIterable<LayerBatch<LayerFile>> {
    return this.#stream<LayerFile>(request, 'layer-files');
  }

  changes(request: LayerQueryRequest): AsyncIterable<LayerBatch<LayerChange>> {
    return this.#stream<LayerChange>(request, 'layer-changes');
  }

  /** A discovery of `source` by the provider, validated (the report a query needs). */
  async report(request: Omit<LayerQueryRequest, 'layer' | 'report' | 'windowBatches'>): Promise<LayerReport> {
    const descriptor = this.#descriptor(request.plugin);
    const result = await this.host.run(descriptor, { op: 'discover', source: request.source, options: request.options ?? {} }, noBlobs('discover'), {
      jobId: request.jobId ?? randomUUID(),
      ...(request.signal ? { signal: request.signal } : {}),
      ...(request.onProgress ? { onProgress: request.onProgress } : {}),
      ...(request.onWarning ? { onWarning: request.onWarning } : {}),
    });
    return validateLayerReport(result.report, descriptor.manifest.id);
  }

  #descriptor(plugin: string | PluginDescriptor): PluginDescriptor {
    const descriptor = typeof plugin === 'string' ? this.registry.get(plugin) : plugin;
    if (descriptor.manifest.kind !== 'layer-provider') {
      throw new EbmError('E_NOT_SUPPORTED', `plugin ${descriptor.manifest.id} is a ${descriptor.manifest.kind}, not a layer provider; name a plugin of kind layer-provider`, { plugin: descriptor.manifest.id });
    }
    return descriptor;
  }

  async *#stream<T extends LayerFile | LayerChange>(request: LayerQueryRequest, op: 'layer-files' | 'layer-changes'): AsyncGenerator<LayerBatch<T>, void, undefined> {
    const descriptor = this.#descriptor(request.plugin);
    const report = request.report ?? (await this.report(request));
    const abort = new AbortController();
    const onAbort = (): void => abort.abort(request.signal?.reason);
    if (request.signal?.aborted) onAbort();
    request.signal?.addEventListener('abort', onAbort, { once: true });

    const queue: { readonly items: LayerBatch<T>; readonly taken: () => void }[] = [];
    let wake: (() => void) | undefined;
    let ended: { readonly result?: LayerQueryTaskResult; readonly error?: unknown } | undefined;
    const job = this.host.run(descriptor, {
      op, source: request.source, layer: request.layer, options: request.options ?? {}, report,
      ...(request.windowBatches !== undefined ? { windowBatches: request.windowBatches } : {}),
    }, noBlobs(op), {
      jobId: request.jobId ?? randomUUID(),
      signal: abort.signal,
      ...(request.onProgress ? { onProgress: request.onProgress } : {}),
      ...(request.onWarning ? { onWarning: request.onWarning } : {}),
      onBatch: (items) => new Promise<void>((taken) => {
        queue.push({ items: items as LayerBatch<T>, taken });
        wake?.();
      }),
    });
    job.then((result) => (ended = { result }), (error: unknown) => (ended = { error })).finally(() => wake?.());

    let delivered = 0;
    let items = 0;
    try {
      for (;;) {
        const next = queue.shift();
        if (next !== undefined) {
          delivered += 1;
          items += next.items.length;
          yield next.items;
          next.taken(); // the consumer asked for more: acknowledge
          continue;
        }
        if (ended !== undefined) break;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
      if (ended.error !== undefined) throw ended.error;
      const r = ended.result!;
      if (r.batches !== delivered || r.items !== items) {
        throw new EbmError('E_PROTOCOL', `plugin ${descriptor.manifest.id} reported ${r.batches} batches (${r.items} items) for the ${op} of layer ${request.layer}, but the host received ${delivered} (${items})`, { plugin: descriptor.manifest.id, op });
      }
    } finally {
      request.signal?.removeEventListener('abort', onAbort);
      if (ended === undefined) {
        // The consumer stopped early: cancel the job and wait until its worker let go.
        abort.abort(new EbmError('E_CANCELLED', 'the consumer stopped reading the batches'));
        for (const q of queue.splice(0)) q.taken();
        await job.catch(() => undefined);
      }
    }
  }
}
