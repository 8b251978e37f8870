import 'reflect-metadata';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Piscina } from 'piscina';
import { inject, injectable } from 'tsyringe';
import { dropIdleRings, EbmError, PROTOCOL_VERSION, toErrorRecord } from '@ebm/sdk';
import type {
  AnyTaskResult, BackupJobSpec, BackupTaskResult, DiscoverJobSpec, DiscoverTaskResult, JobSpec, LayerQueryJobSpec,
  LayerInfo, LayerQueryTaskResult, PluginDescriptor, ProgressUpdate, RestoreJobSpec, RestoreTaskResult, TaskOp, TaskResult, Warning,
} from '@ebm/sdk';
import { HostEvents } from '../events/host-events';
import type { BlobServer } from './blob-server';
import { HOST_CONFIG, HostConfig, resolveHostConfig } from './host-config';
import { batchReceiver } from './layer-batches';
import type { BatchConsumer } from './layer-batches';
import type { PluginLogEntry } from './host-session';
import { runSupervisedTask } from './task-runner';
import { applyWorkerOldSpaceFloor, applyYoungGenerationLimits } from './worker-heap';

/** The host-owned worker module piscina runs; it loads the plugin itself (see bootstrap-worker.ts). */
const BOOTSTRAP_WORKER = path.join(__dirname, 'bootstrap-worker.js');

/** Codes meaning the plugin's worker died or had to be killed. */
const CRASH_CODES = new Set(['E_PLUGIN_CRASHED', 'E_PLUGIN_OUT_OF_MEMORY', 'E_PLUGIN_TIMEOUT']);

export interface PluginRunOptions {
  /** Names the job in events and error messages. */
  readonly jobId: string;
  /** Aborting cancels the job: cooperative first, then the worker is terminated. The job fails with E_CANCELLED. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: ProgressUpdate) => void;
  readonly onLog?: (entry: PluginLogEntry) => void;
  readonly onWarning?: (warning: Warning) => void;
  /** A discovery's layer announced before its report (LayerDiscoverContext.announce). */
  readonly onLayerReady?: (layer: LayerInfo) => void;
}

/** A layer query's options: where its batches go. */
export interface LayerRunOptions extends PluginRunOptions {
  readonly onBatch: BatchConsumer;
}

/** One plugin's worker pool, created on first use and destroyed after idleTimeoutMs without jobs. */
interface PluginPool {
  readonly key: string;
  readonly pluginId: string;
  readonly pool: Piscina;
  readonly heapMiB: number;
  /** Jobs holding a worker slot. */
  active: number;
  /** Jobs waiting for a slot (at most maxThreads run at once; piscina never queues, so the stall clock only runs for started tasks). */
  readonly waiters: Array<{ grant: () => void; refuse: (err: EbmError) => void }>;
  idleTimer?: NodeJS.Timeout;
  /** A prewarm's preload still running: a job waits for it, so that it lands on the warm thread instead of starting a second, cold one. */
  preloading?: Promise<unknown>;
}

/**
 * Runs translator plugins in worker threads, one piscina pool per plugin.
 * A plugin failure never takes the host down: crashes, out-of-memory,
 * stalls, protocol violations and cancellations each fail only their job
 * with a typed EbmError, and the pool replaces the dead worker for the next
 * job. Register as a singleton; call close() on shutdown.
 */
@injectable()
export class PluginHost {
  readonly #config: HostConfig;
  readonly #events: HostEvents;
  readonly #pools = new Map<string, PluginPool>();
  #closed = false;

  constructor(@inject(HOST_CONFIG) config: Partial<HostConfig>, @inject(HostEvents) events: HostEvents) {
    this.#config = resolveHostConfig(config);
    this.#events = events;
    // Before any worker exists: the flags are read when a worker's heap is set up.
    applyWorkerOldSpaceFloor(this.#config.workerOldSpaceFloorMiB);
    applyYoungGenerationLimits();
  }

  get config(): HostConfig {
    return this.#config;
  }

  /** Ids of plugins that currently have a worker pool (are loaded). */
  loadedPlugins(): string[] {
    return [...new Set([...this.#pools.values()].map((p) => p.pluginId))].sort();
  }

  run(descriptor: PluginDescriptor, job: BackupJobSpec, server: BlobServer, options: PluginRunOptions): Promise<BackupTaskResult>;
  run(descriptor: PluginDescriptor, job: RestoreJobSpec, server: BlobServer, options: PluginRunOptions): Promise<RestoreTaskResult>;
  run(descriptor: PluginDescriptor, job: DiscoverJobSpec, server: BlobServer, options: PluginRunOptions): Promise<DiscoverTaskResult>;
  run(descriptor: PluginDescriptor, job: LayerQueryJobSpec, server: BlobServer, options: LayerRunOptions): Promise<LayerQueryTaskResult>;
  run(descriptor: PluginDescriptor, job: JobSpec, server: BlobServer, options: PluginRunOptions | LayerRunOptions): Promise<AnyTaskResult>;
  /**
   * Runs one job of a plugin (a translator's backup or restore, any
   * plugin's discovery, a layer provider's files or changes of one layer,
   * streamed to `options.onBatch`) and resolves with its result; rejects
   * with an EbmError whose `plugin` and `op` are set (E_PLUGIN_FAILED,
   * E_PLUGIN_LOAD, E_PLUGIN_CRASHED, E_PLUGIN_OUT_OF_MEMORY, E_PLUGIN_TIMEOUT,
   * E_PROTOCOL, E_CANCELLED, or the plugin's own catalogue code).
   */
  async run(descriptor: PluginDescriptor, job: JobSpec, server: BlobServer, options: PluginRunOptions | LayerRunOptions): Promise<AnyTaskResult> {
    const pluginId = descriptor.manifest.id;
    const { jobId } = options;
    const started = performance.now();
    const finish = (outcome: TaskResult): AnyTaskResult => {
      const durationMs = Math.round(performance.now() - started);
      if (outcome.ok) {
        this.#events.emit('job:finished', { jobId, pluginId, op: job.op, ok: true, durationMs });
        return outcome.result;
      }
      if (CRASH_CODES.has(outcome.error.code)) this.#events.emit('plugin:crashed', { pluginId, jobId, error: outcome.error });
      this.#events.emit('job:finished', { jobId, pluginId, op: job.op, ok: false, error: outcome.error, durationMs });
      throw EbmError.fromRecord(outcome.error);
    };
    let onBatch: LayerRunOptions['onBatch'] | undefined;
    if (job.op === 'layer-files' || job.op === 'layer-changes') {
      const given = (options as Partial<LayerRunOptions>).onBatch;
      if (typeof given !== 'function') throw new TypeError(`PluginHost.run: a ${job.op} job needs options.onBatch to receive its batches`);
      onBatch = batchReceiver(job, pluginId, given);
    }
    this.#events.emit('job:started', { jobId, pluginId, op: job.op });
    if (this.#closed) return finish({ ok: false, error: closedRecord(pluginId, job.op) });

    const entry = this.#poolFor(descriptor);
    try {
      await this.#acquire(entry, options.signal, job.op);
    } catch (err) {
      this.#scheduleIdle(entry);
      return finish({ ok: false, error: toErrorRecord(err) });
    }
    try {
      if (entry.preloading !== undefined) await entry.preloading;
      const outcome = await runSupervisedTask({
        request: {
          protocol: PROTOCOL_VERSION,
          jobId,
          plugin: { id: pluginId, version: descriptor.version, entryPath: descriptor.entryPath },
          job,
        },
        server,
        ctx: { pluginId, jobId, op: job.op, heapMiB: entry.heapMiB },
        ...(options.signal ? { signal: options.signal } : {}),
        stallTimeoutMs: this.#config.stallTimeoutMsOverrides[pluginId] ?? this.#config.stallTimeoutMs,
        cancelGraceMs: this.#config.cancelGraceMs,
        handlers: {
          onProgress: (progress) => {
            this.#events.emit('job:progress', { jobId, pluginId, progress });
            options.onProgress?.(progress);
          },
          onLog: (log) => {
            this.#events.emit('job:log', { jobId, pluginId, ...log });
            options.onLog?.(log);
          },
          onWarning: (warning) => {
            this.#events.emit('job:warning', { jobId, pluginId, warning });
            options.onWarning?.(warning);
          },
          ...(onBatch !== undefined ? { onBatch } : {}),
          ...(options.onLayerReady !== undefined ? { onLayerReady: options.onLayerReady } : {}),
        },
        start: (request, transferList, hardAbort) => entry.pool.run(request, { transferList, signal: hardAbort }),
      });
      return finish(outcome);
    } finally {
      this.#release(entry);
    }
  }

  /** How many worker threads `pluginId`'s pools have now (for status and tests). */
  workerThreads(pluginId: string): number {
    let n = 0;
    for (const entry of this.#pools.values()) if (entry.pluginId === pluginId) n += entry.pool.threads.length;
    return n;
  }

  /**
   * Starts a worker of `descriptor`'s plugin and loads its entry module ahead
   * of a job that will surely follow (a layered backup knows it will run the
   * filesystem translator while its provider still walks the layers), so the
   * job finds a warm thread: about 100 ms less on its critical path. Best
   * effort: a failure to load is not reported here but by the job that
   * follows. Takes no job slot; the warm thread is an idle pool thread, ended
   * by the pool's idle timeout when no job comes.
   */
  prewarm(descriptor: PluginDescriptor): void {
    if (this.#closed) return;
    const entry = this.#poolFor(descriptor);
    if (entry.preloading !== undefined || entry.pool.threads.length > 0) return;
    const preloading = entry.pool.run({ id: descriptor.manifest.id, entryPath: descriptor.entryPath }, { name: 'preload' }).catch(() => undefined);
    entry.preloading = preloading;
    void preloading.then(() => {
      if (entry.preloading === preloading) entry.preloading = undefined;
      this.#scheduleIdle(entry);
    });
  }

  /** Terminates every worker (running jobs fail with E_CANCELLED) and refuses new jobs. */
  async close(): Promise<void> {
    this.#closed = true;
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((entry) => this.#destroy(entry, 'closed')));
  }

  /** The heap limit of a plugin's workers: operator override, else manifest, else default; never below the floor. */
  heapLimitMiB(descriptor: PluginDescriptor): number {
    const id = descriptor.manifest.id;
    const wanted = this.#config.heapMiBOverrides[id] ?? descriptor.manifest.resources?.memoryMiB ?? this.#config.defaultHeapMiB;
    return Math.max(this.#config.minHeapMiB, wanted);
  }

  #poolFor(descriptor: PluginDescriptor): PluginPool {
    const pluginId = descriptor.manifest.id;
    // Keyed by entry too: a re-discovered plugin at another path gets its own pool.
    const key = `${pluginId}\0${descriptor.entryPath}`;
    const existing = this.#pools.get(key);
    if (existing !== undefined) {
      clearTimeout(existing.idleTimer);
      return existing;
    }
    const heapMiB = this.heapLimitMiB(descriptor);
    const pool = new Piscina({
      filename: BOOTSTRAP_WORKER,
      name: 'default',
      minThreads: 0,
      maxThreads: this.#config.maxThreads,
      idleTimeout: this.#config.idleTimeoutMs,
      // A small young generation: translators stream many large Buffers, and a
      // small nursery lets scavenges free their wrappers (and so the memory
      // outside the heap) promptly instead of letting garbage pile up.
      resourceLimits: { maxOldGenerationSizeMb: heapMiB, maxYoungGenerationSizeMb: 6 },
      // No Atomics.wait between tasks: it would stall a worker's timers and port messages.
      atomics: 'disabled',
    });
    // A worker that fails while running no task (e.g. a plugin's stray timer throws) must not crash the host.
    pool.on('error', (err: unknown) => {
      const error = new EbmError('E_PLUGIN_CRASHED', `plugin ${pluginId}'s worker failed outside any job: ${(err as Error)?.message ?? String(err)}`, { plugin: pluginId }).toRecord();
      this.#events.emit('plugin:crashed', { pluginId, error });
    });
    const entry: PluginPool = { key, pluginId, pool, heapMiB, active: 0, waiters: [] };
    this.#pools.set(key, entry);
    this.#events.emit('plugin:loaded', { pluginId, version: descriptor.version, heapMiB, maxThreads: this.#config.maxThreads });
    return entry;
  }

  #acquire(entry: PluginPool, signal: AbortSignal | undefined, op: TaskOp): Promise<void> {
    if (signal?.aborted) return Promise.reject(new EbmError('E_CANCELLED', `${op} job was cancelled before plugin ${entry.pluginId} started`, { plugin: entry.pluginId, op }));
    if (entry.active < this.#config.maxThreads) {
      entry.active++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const i = entry.waiters.indexOf(waiter);
        if (i >= 0) entry.waiters.splice(i, 1);
        reject(new EbmError('E_CANCELLED', `${op} job was cancelled while waiting for a worker of plugin ${entry.pluginId}`, { plugin: entry.pluginId, op }));
      };
      const waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        refuse: (err: EbmError) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      entry.waiters.push(waiter);
    });
  }

  #release(entry: PluginPool): void {
    const next = entry.waiters.shift();
    if (next !== undefined) {
      next.grant(); // the slot passes on; active stays the same
      return;
    }
    entry.active--;
    this.#scheduleIdle(entry);
  }

  #scheduleIdle(entry: PluginPool): void {
    if (entry.active > 0 || entry.waiters.length > 0 || this.#pools.get(entry.key) !== entry) return;
    clearTimeout(entry.idleTimer);
    entry.idleTimer = setTimeout(() => {
      if (entry.active > 0 || entry.waiters.length > 0 || this.#pools.get(entry.key) !== entry) return;
      this.#pools.delete(entry.key);
      // Nothing loaded: the restore rings the host kept for the next job (BlobLoans) go to the collector too.
      if (this.#pools.size === 0) dropIdleRings();
      void this.#destroy(entry, 'idle');
    }, this.#config.idleTimeoutMs);
    entry.idleTimer.unref(); // an idle plugin must not keep the process alive
  }

  async #destroy(entry: PluginPool, reason: 'idle' | 'closed'): Promise<void> {
    clearTimeout(entry.idleTimer);
    for (const waiter of entry.waiters.splice(0)) waiter.refuse(EbmError.fromRecord(closedRecord(entry.pluginId)));
    await entry.pool.destroy().catch(() => undefined);
    this.#events.emit('plugin:unloaded', { pluginId: entry.pluginId, reason });
  }
}

function closedRecord(pluginId: string, op?: string) {
  return new EbmError('E_CANCELLED', `the plugin host is closed; plugin ${pluginId} cannot run`, { plugin: pluginId, ...(op ? { op } : {}) }).toRecord();
}
