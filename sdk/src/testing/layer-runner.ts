import { performance } from 'node:perf_hooks';
import { EbmError, toErrorRecord } from '../errors/ebm-error';
import type { ErrorRecord } from '../errors/ebm-error';
import type { LayerInfo, LayerReport } from '../layers/layer';
import type { LayerProvider } from '../layers/layer-provider';
import type { OptionValue, PluginDescriptor } from '../manifest/manifest';
import { deepFreeze } from '../runtime/deep-freeze';
import type { Logger, Warning } from '../translator/context';

/** The layer provider being tested: its validated manifest and package, and the provider loaded in this thread. */
export interface LayerPluginUnderTest extends PluginDescriptor {
  readonly provider: LayerProvider;
}

/** When a run cancels its request: before it starts, at the provider's first progress update, or after N batches arrived. */
export type LayerCancelPoint = 'start' | 'first-progress' | { readonly afterBatches: number };

/** One request of the layer contract, as plain data (what a worker runner would post). */
export interface LayerRequest {
  readonly op: 'discover' | 'files' | 'changes';
  readonly source: string;
  /** files/changes: the layer's id. */
  readonly layer?: string;
  /** The provider's options (the runner passes them deep-frozen). */
  readonly options: Readonly<Record<string, OptionValue>>;
  readonly cancel?: LayerCancelPoint;
}

/** What a runner observed; a failure never rejects, it is `{ ok: false, error }`. */
export type LayerRunResult = (
  | { readonly ok: true; readonly report?: LayerReport; readonly batches?: readonly unknown[] }
  | { readonly ok: false; readonly error: ErrorRecord; readonly batches?: readonly unknown[] }
) & {
  readonly warnings: readonly Warning[];
  /** The layers a discovery announced before its report (LayerDiscoverContext.announce), in order. */
  readonly announced?: readonly LayerInfo[];
  /** Progress updates the provider sent. */
  readonly progressUpdates: number;
  /**
   * The runner cancelled the request and the cancel reached it before it
   * ended (in-process: whenever the runner aborted the signal; in a worker,
   * a cancel can cross the thread boundary after a short request finished).
   */
  readonly cancelled: boolean;
  /** Milliseconds from the cancel to the request's end. */
  readonly cancelLatencyMs?: number;
};

/**
 * Where the tester's requests run. The SDK ships the in-process runner and
 * a worker-thread runner (createWorkerLayerRunner: the host protocol's
 * discover / layer-files / layer-changes over a MessagePort);
 * `@ebm/core/testing` adds one through ebm's real plugin host.
 */
export interface LayerRunner {
  /** Names the runner in failures, e.g. 'in-process'. */
  readonly label: string;
  /**
   * Runs `request` against `plugin`. `stop` is aborted when the tester gave
   * up on the request (a hang): stop it as hard as the runner can.
   */
  run(plugin: LayerPluginUnderTest, request: LayerRequest, stop: AbortSignal): Promise<LayerRunResult>;
  close(): Promise<void>;
}

const SILENT: Logger = Object.freeze({ debug() {}, info() {}, warn() {}, error() {} });

/**
 * Runs requests in this thread: a frozen context (options deep-frozen, so a
 * provider that mutates what it was given fails), a real AbortSignal, and
 * errors turned into plain records as a worker boundary would (untyped ones
 * become E_PLUGIN_FAILED).
 */
export function createInProcessLayerRunner(): LayerRunner {
  return Object.freeze({
    label: 'in-process',
    async run(plugin: LayerPluginUnderTest, request: LayerRequest): Promise<LayerRunResult> {
      const abort = new AbortController();
      const warnings: Warning[] = [];
      const announced: LayerInfo[] = [];
      let progressUpdates = 0;
      let cancelledAt: number | undefined;
      const cancel = (): void => {
        if (cancelledAt !== undefined) return;
        cancelledAt = performance.now();
        abort.abort(new EbmError('E_CANCELLED', 'cancelled by the conformance harness'));
      };
      const ctx = Object.freeze({
        source: request.source,
        ...(request.layer !== undefined ? { layer: request.layer } : {}),
        options: deepFreeze(structuredClone(request.options)),
        signal: abort.signal,
        progress: Object.freeze({ update: () => { progressUpdates += 1; if (request.cancel === 'first-progress') cancel(); } }),
        log: SILENT,
        warn: (w: Warning) => { warnings.push(w); },
        ...(request.op === 'discover' ? { announce: (layer: LayerInfo) => { announced.push(structuredClone(layer)); } } : {}),
      });
      if (request.cancel === 'start') cancel();
      const batches: unknown[] = [];
      const end = (r: { ok: true; report?: LayerReport } | { ok: false; error: ErrorRecord }): LayerRunResult => ({
        ...r,
        ...(request.op === 'discover' ? {} : { batches }),
        warnings,
        ...(request.op === 'discover' ? { announced } : {}),
        progressUpdates,
        cancelled: cancelledAt !== undefined,
        ...(cancelledAt !== undefined ? { cancelLatencyMs: performance.now() - cancelledAt } : {}),
      });
      try {
        if (request.op === 'discover') return end({ ok: true, report: await plugin.provider.discover(ctx) });
        if (request.layer === undefined) throw new TypeError(`a ${request.op} request needs a layer`);
        const q = { ...ctx, layer: request.layer };
        const iterable = request.op === 'files' ? plugin.provider.files(q) : plugin.provider.changes(q);
        for await (const batch of iterable) {
          batches.push(batch);
          const after = request.cancel;
          if (typeof after === 'object' && batches.length >= after.afterBatches) cancel();
        }
        return end({ ok: true });
      } catch (err) {
        const record = toErrorRecord(err, 'E_PLUGIN_FAILED');
        return end({ ok: false, error: { ...record, plugin: record.plugin ?? plugin.manifest.id, op: record.op ?? request.op } });
      }
    },
    async close(): Promise<void> {},
  });
}
