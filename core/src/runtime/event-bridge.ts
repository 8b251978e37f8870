import { EventEmitter } from 'eventemitter3';
import type { HostEventMap, HostEvents } from '../events/host-events';
import type { JobEventMap, JobEvents } from '../jobs/job-events';
import type { JobRecord } from '../jobs/job-types';
import type { Logger } from '../logging/logger';
import type { RuntimeEvent, RuntimeEventListener, RuntimeEventSource } from '../api/runtime-facade';

/**
 * One ordered channel of plain-data runtime events (jobs, plugins,
 * schedules) for the API's event stream, and structured log lines with the
 * job and plugin ids on every line. Counts plugin crashes for /metrics.
 *
 * Every log line that has `job` has `plugin` too: the job's translator (or
 * layer provider) — a backup's from its request, a restore's from the
 * plugin host once it starts the translator the snapshot names — and null
 * for a job that runs no plugin (verify, forget, prune) or a restore whose
 * translator is not known yet.
 */
export class EventBridge implements RuntimeEventSource {
  readonly #emitter = new EventEmitter<{ event: [RuntimeEvent] }>();
  readonly crashes: Record<string, number> = {};
  readonly #detach: Array<() => void> = [];
  /** The plugin of each live job (see the class comment). */
  readonly #plugins = new Map<string, string>();

  constructor(jobs: JobEvents, host: HostEvents, private readonly log: Logger) {
    const onJobs = <K extends keyof JobEventMap>(name: K, fn: (...args: JobEventMap[K]) => void) => {
      jobs.on(name, fn as never);
      this.#detach.push(() => jobs.off(name, fn as never));
    };
    const onHost = <K extends keyof HostEventMap>(name: K, fn: (...args: HostEventMap[K]) => void) => {
      host.on(name, fn as never);
      this.#detach.push(() => host.off(name, fn as never));
    };
    onJobs('job:queued', (job) => {
      this.emit({ type: 'job:queued', data: { job } });
      this.log.info('job queued', { job: job.id, plugin: this.#pluginOf(job), kind: job.kind, dataset: datasetOf(job.request) });
    });
    onJobs('job:state', (e) => {
      const dataset = datasetOf(e.job.request);
      this.emit({
        type: 'job:state',
        data: { jobId: e.job.id, ...(dataset ? { dataset } : {}), state: e.to, previous: e.from, attempt: e.job.attempt, ...(e.job.error ? { error: e.job.error } : {}) },
      });
      const level = e.to === 'failed' ? 'error' : 'info';
      this.log.log(level, `job ${e.to}`, { job: e.job.id, plugin: this.#pluginOf(e.job), kind: e.job.kind, dataset, attempt: e.job.attempt, from: e.from, error: e.job.error ? `${e.job.error.code}: ${e.job.error.message}` : undefined });
    });
    onJobs('job:progress', (e) => this.emit({ type: 'job:progress', data: { jobId: e.jobId, progress: e.progress } }));
    onJobs('job:log', (e) => {
      this.emit({ type: 'job:log', data: { jobId: e.jobId, line: e.line } });
      this.log.log(e.line.level, e.line.message, { ...(e.line.fields ?? {}), job: e.jobId, plugin: this.#plugins.get(e.jobId) ?? null });
    });
    onJobs('job:done', (job) => {
      this.emit({ type: 'job:done', data: { job } });
      this.#plugins.delete(job.id);
    });
    onHost('plugin:loaded', (e) => {
      this.emit({ type: 'plugin:loaded', data: { pluginId: e.pluginId, version: e.version } });
      this.log.info('plugin loaded', { plugin: e.pluginId, version: e.version, heapMiB: e.heapMiB });
    });
    onHost('plugin:unloaded', (e) => {
      this.emit({ type: 'plugin:unloaded', data: { pluginId: e.pluginId, reason: e.reason } });
      this.log.info('plugin unloaded', { plugin: e.pluginId, reason: e.reason });
    });
    onHost('plugin:crashed', (e) => {
      this.crashes[e.pluginId] = (this.crashes[e.pluginId] ?? 0) + 1;
      this.emit({ type: 'plugin:crashed', data: { pluginId: e.pluginId, ...(e.jobId ? { jobId: e.jobId } : {}), error: e.error } });
      this.log.error('plugin worker failed', { plugin: e.pluginId, job: e.jobId, error: `${e.error.code}: ${e.error.message}` });
    });
    // The plugin host names the plugin a job runs (a restore's translator is known only from its snapshot).
    onHost('job:started', (e) => {
      if (!this.#plugins.has(e.jobId)) this.#plugins.set(e.jobId, e.pluginId);
    });
    onHost('job:log', (e) => this.log.log(e.level, e.message, { ...(e.fields ?? {}), job: e.jobId, plugin: e.pluginId }));
  }

  emit(event: RuntimeEvent): void {
    this.#emitter.emit('event', event);
  }

  on(name: 'event', listener: RuntimeEventListener): this {
    this.#emitter.on(name, listener);
    return this;
  }

  off(name: 'event', listener: RuntimeEventListener): this {
    this.#emitter.off(name, listener);
    return this;
  }

  listenerCount(name: 'event'): number {
    return this.#emitter.listenerCount(name);
  }

  close(): void {
    for (const d of this.#detach.splice(0)) d();
    this.#plugins.clear();
  }

  /** The job's plugin id, or null when it runs none (or it is not known yet). */
  #pluginOf(job: JobRecord): string | null {
    if (job.request.kind === 'backup') this.#plugins.set(job.id, job.request.translator);
    return this.#plugins.get(job.id) ?? null;
  }
}

function datasetOf(request: { readonly kind: string; readonly dataset?: string }): string | undefined {
  return request.dataset;
}
