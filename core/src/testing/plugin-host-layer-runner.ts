import { EbmError, toErrorRecord } from '@ebm/sdk';
import type { ErrorRecord, JobSpec, LayerReport, PluginDescriptor, Warning } from '@ebm/sdk';
import { localCopy } from '@ebm/sdk/testing';
import type { LayerPluginUnderTest, LayerRequest, LayerRunner, LayerRunResult } from '@ebm/sdk/testing';
import { HostEvents } from '../events/host-events';
import { discoverPlugins } from '../plugin-host/discovery';
import type { HostConfig } from '../plugin-host/host-config';
import { noBlobs } from '../plugin-host/no-blobs';
import { PluginHost } from '../plugin-host/plugin-host';

export interface PluginHostLayerRunnerOptions {
  /** Plugin host limits; the defaults suit tests (cancel grace 3 s, stall timeout 30 s, one worker). */
  readonly hostConfig?: Partial<HostConfig>;
  /** The layer queries' windowBatches (default: the protocol's). */
  readonly windowBatches?: number;
}

/**
 * A LayerRunner for `LayerProviderTester` that runs every request through
 * ebm's real plugin host: the package found by ebm's own plugin discovery
 * (a manifest the host would refuse fails here), a piscina worker with the
 * host's bootstrap, the supervisor's stall, crash and cancel handling.
 *
 *   new LayerProviderTester({ packageDir, fixtures, runners: [createInProcessLayerRunner(), createPluginHostLayerRunner()] }).run();
 *
 * Cancel points map to the job's signal: 'start' aborts it before the job
 * starts (the host refuses to start it: E_CANCELLED), 'first-progress' on
 * the first progress update, `afterBatches` when that many batches arrived
 * (the cancel goes out before their ack, so the provider always sees it).
 */
export function createPluginHostLayerRunner(options: PluginHostLayerRunnerOptions = {}): PluginHostLayerRunner {
  return new PluginHostLayerRunner(options);
}

export class PluginHostLayerRunner implements LayerRunner {
  readonly label = 'ebm plugin host';
  /** The plugin host's events (plugin loaded/crashed, job progress). */
  readonly events = new HostEvents();
  readonly #host: PluginHost;
  readonly #windowBatches: number | undefined;
  readonly #descriptors = new Map<string, PluginDescriptor>();
  #jobs = 0;

  constructor(options: PluginHostLayerRunnerOptions) {
    this.#host = new PluginHost({ cancelGraceMs: 3_000, stallTimeoutMs: 30_000, maxThreads: 1, idleTimeoutMs: 10_000, ...options.hostConfig }, this.events);
    this.#windowBatches = options.windowBatches;
  }

  async run(plugin: LayerPluginUnderTest, request: LayerRequest, stop: AbortSignal): Promise<LayerRunResult> {
    const descriptor = this.#descriptor(plugin);
    const abort = new AbortController();
    const warnings: Warning[] = [];
    const batches: unknown[] = [];
    let progressUpdates = 0;
    let cancelledAt: number | undefined;
    const cancel = (why: string): void => {
      if (abort.signal.aborted) return;
      cancelledAt ??= performance.now();
      abort.abort(new EbmError('E_CANCELLED', why));
    };
    const onStop = (): void => cancel('the conformance harness gave up on the request');
    stop.addEventListener('abort', onStop, { once: true });
    if (request.cancel === 'start') cancel('cancelled by the conformance harness');
    const common = {
      jobId: `layer-${++this.#jobs}`,
      signal: abort.signal,
      onWarning: (w: Warning) => warnings.push(w),
      onProgress: () => {
        progressUpdates += 1;
        if (request.cancel === 'first-progress') cancel('cancelled by the conformance harness');
      },
    };
    let outcome: { ok: true; report?: LayerReport } | { ok: false; error: ErrorRecord };
    try {
      if (request.op === 'discover') {
        const r = await this.#host.run(descriptor, { op: 'discover', source: request.source, options: request.options }, noBlobs('discover'), common);
        outcome = { ok: true, report: r.report as unknown as LayerReport };
      } else {
        const job: JobSpec = {
          op: request.op === 'files' ? 'layer-files' : 'layer-changes', source: request.source, layer: request.layer ?? '', options: request.options,
          ...(this.#windowBatches !== undefined ? { windowBatches: this.#windowBatches } : {}),
        };
        await this.#host.run(descriptor, job, noBlobs(job.op), {
          ...common,
          onBatch: (items) => {
            batches.push(items);
            const after = request.cancel;
            if (typeof after === 'object' && batches.length >= after.afterBatches) cancel('cancelled by the conformance harness');
          },
        });
        outcome = { ok: true };
      }
    } catch (err) {
      outcome = { ok: false, error: toErrorRecord(err, 'E_INTERNAL') };
    } finally {
      stop.removeEventListener('abort', onStop);
    }
    // Copied: piscina's results and the batches were built in Node's main realm (see localCopy).
    return localCopy({
      ...outcome,
      ...(request.op === 'discover' ? {} : { batches }),
      warnings,
      progressUpdates,
      // A cancel that reached the job always fails it; a job that succeeded ended before the cancel arrived.
      cancelled: cancelledAt !== undefined && !outcome.ok,
      ...(cancelledAt !== undefined ? { cancelLatencyMs: performance.now() - cancelledAt } : {}),
    });
  }

  async close(): Promise<void> {
    await this.#host.close();
  }

  /** The plugin as ebm's discovery finds it in its package (cached per package). */
  #descriptor(plugin: LayerPluginUnderTest): PluginDescriptor {
    const cached = this.#descriptors.get(plugin.packageDir);
    if (cached !== undefined) return cached;
    const found = discoverPlugins({ dirs: [plugin.packageDir], pluginPath: '', searchNodeModules: false });
    const problem = found.problems[0];
    if (problem !== undefined) throw EbmError.fromRecord(problem.error);
    const descriptor = found.plugins.find((p) => p.manifest.id === plugin.manifest.id);
    if (descriptor === undefined) throw new EbmError('E_PLUGIN_NOT_FOUND', `ebm's discovery does not find plugin ${plugin.manifest.id} in ${plugin.packageDir}`);
    this.#descriptors.set(plugin.packageDir, descriptor);
    return descriptor;
  }
}
