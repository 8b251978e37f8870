import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
import { EbmError } from '../errors/ebm-error';
import type { ErrorRecord } from '../errors/ebm-error';
import type { LayerInfo, LayerReport } from '../layers/layer';
import { PROTOCOL_VERSION } from '../protocol/messages';
import type { HostToWorker, JobSpec, TaskRequest, TaskResult, WorkerToHost } from '../protocol/messages';
import type { Warning } from '../translator/context';
import type { HarnessWorkerInput, HarnessWorkerOutput } from './harness-worker';
import type { LayerPluginUnderTest, LayerRequest, LayerRunner, LayerRunResult } from './layer-runner';
import { localCopy } from './local-copy';

const HARNESS_WORKER = path.join(__dirname, 'harness-worker.js');

export interface WorkerLayerRunnerOptions {
  /** Batches the worker may send ahead of the acks (the job's windowBatches; default: the protocol's). */
  readonly windowBatches?: number;
}

/**
 * A LayerRunner that runs each request in a fresh, real worker thread: the
 * worker loads the plugin's compiled entry module (not `options.provider`)
 * and runs the SDK's runTask over a transferred MessagePort — the
 * conversation ebm's plugin host has with its workers (discover, or
 * layer-files / layer-changes streamed as layer-batch messages with acks).
 * The worker validates the report and every batch as the host's does, so a
 * contract violation comes back as E_PLUGIN_FAILED naming the field.
 *
 * Cancel points become the protocol's cancel message: 'start' is queued on
 * the port before the task starts, 'first-progress' is sent on the first
 * progress message, `afterBatches` once that many batches arrived (before
 * their ack). A request the tester gives up on (`stop`) has its worker
 * terminated and ends with E_PLUGIN_TIMEOUT.
 */
export function createWorkerLayerRunner(options: WorkerLayerRunnerOptions = {}): LayerRunner {
  const live = new Set<Worker>();
  return Object.freeze({
    label: 'SDK worker thread',
    run: (plugin: LayerPluginUnderTest, request: LayerRequest, stop: AbortSignal) => runInWorker(plugin, request, stop, live, options),
    async close(): Promise<void> {
      await Promise.all([...live].map((w) => w.terminate()));
      live.clear();
    },
  });
}

function jobOf(request: LayerRequest, windowBatches: number | undefined): JobSpec {
  if (request.op === 'discover') return { op: 'discover', source: request.source, options: request.options };
  return {
    op: request.op === 'files' ? 'layer-files' : 'layer-changes',
    source: request.source,
    // An absent layer is passed on as '' so the worker refuses the request (E_PROTOCOL), as a host would.
    layer: request.layer ?? '',
    options: request.options,
    ...(windowBatches !== undefined ? { windowBatches } : {}),
  };
}

function runInWorker(plugin: LayerPluginUnderTest, request: LayerRequest, stop: AbortSignal, live: Set<Worker>, options: WorkerLayerRunnerOptions): Promise<LayerRunResult> {
  const pluginId = plugin.manifest.id;
  return new Promise<LayerRunResult>((resolve) => {
    const channel = new MessageChannel();
    const host = channel.port1;
    const warnings: Warning[] = [];
    const announced: LayerInfo[] = [];
    const batches: unknown[] = [];
    let progressUpdates = 0;
    let cancelledAt: number | undefined;
    const send = (message: HostToWorker): void => host.postMessage(message);
    const cancel = (): void => {
      if (cancelledAt !== undefined) return;
      cancelledAt = Date.now();
      send({ t: 'cancel', reason: 'cancelled by the conformance harness' });
    };

    host.on('message', (message: WorkerToHost) => {
      switch (message?.t) {
        case 'progress':
          progressUpdates += 1;
          if (request.cancel === 'first-progress') cancel();
          break;
        case 'warning':
          warnings.push(message.warning);
          break;
        case 'log':
          break;
        case 'layer-ready':
          announced.push(message.layer);
          break;
        case 'layer-batch': {
          batches.push(message.items);
          const after = request.cancel;
          if (typeof after === 'object' && batches.length >= after.afterBatches) cancel();
          send({ t: 'layer-batch-ack', seq: message.seq });
          break;
        }
        default: {
          const seq = (message as { seq?: unknown })?.seq;
          if (typeof seq === 'number') send({ t: 'reply-error', seq, error: new EbmError('E_PROTOCOL', `a layer provider's ${request.op} has no repository: '${String(message?.t)}' is not part of it`).toRecord() });
        }
      }
    });
    if (request.cancel === 'start') cancel(); // queued on the port: the worker sees it before the provider runs

    const tmp = mkdtempSync(path.join(os.tmpdir(), 'ebm-layer-worker-'));
    const worker = new Worker(HARNESS_WORKER, {
      env: { ...process.env, TMPDIR: tmp, TMP: tmp, TEMP: tmp },
      resourceLimits: { maxOldGenerationSizeMb: Math.max(64, plugin.manifest.resources?.memoryMiB ?? 512) },
    });
    live.add(worker);
    let done = false;
    const finish = (result: TaskResult, endedAt: number): void => {
      if (done) return;
      done = true;
      stop.removeEventListener('abort', onStop);
      live.delete(worker);
      void worker.terminate();
      host.close();
      rmSync(tmp, { recursive: true, force: true });
      resolve(toRunResult(request, result, { warnings, announced, batches, progressUpdates, cancelledAt, endedAt }));
    };
    const failed = (error: ErrorRecord): void => finish({ ok: false, error: { ...error, plugin: pluginId, op: request.op } }, Date.now());
    const onStop = (): void => failed(new EbmError('E_PLUGIN_TIMEOUT', `plugin ${pluginId} overran the harness's time bound; its worker was terminated`).toRecord());
    stop.addEventListener('abort', onStop, { once: true });
    worker.once('message', (output: HarnessWorkerOutput) => finish(output.result, output.endedAt));
    worker.once('error', (err: Error & { code?: unknown }) => {
      const code = err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'E_PLUGIN_OUT_OF_MEMORY' : 'E_PLUGIN_CRASHED';
      failed(new EbmError(code, `plugin ${pluginId}'s worker failed: ${err.message}`).toRecord());
    });
    worker.once('exit', (exitCode) => failed(new EbmError('E_PLUGIN_CRASHED', `plugin ${pluginId}'s worker exited with code ${exitCode}`).toRecord()));
    const task: TaskRequest = {
      protocol: PROTOCOL_VERSION,
      jobId: randomUUID(),
      plugin: { id: pluginId, version: plugin.version, entryPath: plugin.entryPath },
      job: jobOf(request, options.windowBatches),
      port: channel.port2,
    };
    const input: HarnessWorkerInput = { request: task, entryPath: plugin.entryPath, pluginId, kind: 'layer-provider' };
    worker.postMessage(input, [channel.port2]);
    if (stop.aborted) onStop();
  });
}

interface Observed {
  readonly warnings: readonly Warning[];
  readonly announced: readonly LayerInfo[];
  readonly batches: readonly unknown[];
  readonly progressUpdates: number;
  readonly cancelledAt: number | undefined;
  readonly endedAt: number;
}

/** The worker's TaskResult as the tester's plain LayerRunResult (the shape the in-process runner gives). */
function toRunResult(request: LayerRequest, raw: TaskResult, o: Observed): LayerRunResult {
  const result = localCopy(raw);
  const common = {
    warnings: localCopy(o.warnings),
    progressUpdates: o.progressUpdates,
    // A cancel that reached the task before it ended always fails it (runTask checks the signal last, and a
    // layer query waits for the ack the cancel precedes); a task that succeeded ended before the cancel arrived.
    cancelled: o.cancelledAt !== undefined && !raw.ok,
    ...(o.cancelledAt !== undefined ? { cancelLatencyMs: Math.max(0, o.endedAt - o.cancelledAt) } : {}),
  };
  const batches = request.op === 'discover' ? {} : { batches: localCopy(o.batches) };
  if (!result.ok) return { ok: false, error: result.error, ...batches, ...common };
  if (result.result.op === 'discover') return { ok: true, report: result.result.report as unknown as LayerReport, announced: localCopy(o.announced), ...common };
  return { ok: true, ...batches, ...common };
}
