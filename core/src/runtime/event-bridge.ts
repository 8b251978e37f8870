import { EventEmitter } from 'eventemitter3';
import type { HostEventMap, HostEvents } from '../events/host-events';
import type { JobEventMap, JobEvents } from '../jobs/job-events';
import type { Logger } from '../logging/logger';
import type { RuntimeEvent, RuntimeEventListener, RuntimeEventSource } from '../api/runtime-facade';

/**
 * One ordered channel of plain-data runtime events (jobs, plugins,
 * schedules) for the API's event stream, and structured log lines with the
 * job and plugin ids on every line. Counts plugin crashes for /metrics.
 */
export class EventBridge implements RuntimeEventSource {
  readonly #emitter = new EventEmitter<{ event: [RuntimeEvent] }>();
  readonly crashes: Record<string, number> = {};
  readonly #detach: Array<() => void> = [];

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
      this.log.info('job queued', { job: job.id, kind: job.kind, dataset: datasetOf(job.request) });
    });
    onJobs('job:state', (e) => {
      const dataset = datasetOf(e.job.request);
      this.emit({
        type: 'job:state',
        data: { jobId: e.job.id, ...(dataset ? { dataset } : {}), state: e.to, previous: e.from, attempt: e.job.attempt, ...(e.job.error ? { error: e.job.error } : {}) },
      });
      const level = e.to === 'failed' ? 'error' : 'info';
      this.log.log(level, `job ${e.to}`, { job: e.job.id, kind: e.job.kind, dataset, attempt: e.job.attempt, from: e.from, error: e.job.error ? `${e.job.error.code}: ${e.job.error.message}` : undefined });
    });
    onJobs('job:progress', (e) => this.emit({ type: 'job:progress', data: { jobId: e.jobId, progress: e.progress } }));
    onJobs('job:log', (e) => {
      this.emit({ type: 'job:log', data: { jobId: e.jobId, line: e.line } });
      this.log.log(e.line.level, e.line.message, { job: e.jobId, ...(e.line.fields ?? {}) });
    });
    onJobs('job:done', (job) => this.emit({ type: 'job:done', data: { job } }));
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
    onHost('job:log', (e) => this.log.log(e.level, e.message, { job: e.jobId, plugin: e.pluginId, ...(e.fields ?? {}) }));
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
  }
}

function datasetOf(request: { readonly kind: string; readonly dataset?: string }): string | undefined {
  return request.dataset;
}
