import { Counter, Gauge, Registry } from 'prom-client';
import type { JobState } from '../jobs/job-types';
import { TERMINAL_STATES } from '../jobs/job-types';
import type { RuntimeFacade, RuntimeMetrics } from './runtime-facade';

const JOB_STATES: readonly JobState[] = ['queued', 'running', 'verifying', ...TERMINAL_STATES];

/**
 * GET /metrics: Prometheus text exposition of the runtime's counters, read
 * from `facade.metrics()` at scrape time. A private Registry (never
 * prom-client's global one), so two hosts in one process — or a test next to
 * a host — never share metrics.
 *
 * The runtime keeps the cumulative totals; the exported counters are set to
 * them at each scrape (reset + inc), which is what a Prometheus counter means.
 */
export class ApiMetrics {
  readonly #registry = new Registry();
  readonly #facade: RuntimeFacade;
  readonly #jobs: Gauge<'state'>;
  readonly #bytesRead: Counter;
  readonly #bytesAdded: Counter;
  readonly #queueDepth: Gauge;
  readonly #budgetLimit: Gauge<'resource'>;
  readonly #budgetUsed: Gauge<'resource'>;
  readonly #pluginCrashes: Counter<'plugin'>;
  readonly #moverObjects: Counter;
  readonly #moverBytes: Counter;
  readonly #moverRetries: Counter;
  readonly #moverVerifyFailures: Counter;
  readonly #requests: Counter<'route' | 'status'>;

  constructor(facade: RuntimeFacade, eventStreamClients: () => number) {
    this.#facade = facade;
    const registers = [this.#registry];
    this.#jobs = new Gauge({ name: 'ebm_jobs', help: 'Jobs known to the host, by state', labelNames: ['state'], registers });
    this.#bytesRead = new Counter({ name: 'ebm_bytes_read_total', help: 'Bytes read from backup sources', registers });
    this.#bytesAdded = new Counter({ name: 'ebm_bytes_added_total', help: 'Bytes added to repositories (packed, compressed, encrypted)', registers });
    this.#queueDepth = new Gauge({ name: 'ebm_queue_depth', help: 'Jobs waiting for admission', registers });
    this.#budgetLimit = new Gauge({ name: 'ebm_budget_limit', help: 'Configured budget (workers: threads, memory_mib: MiB)', labelNames: ['resource'], registers });
    this.#budgetUsed = new Gauge({ name: 'ebm_budget_used', help: 'Budget taken by admitted jobs (workers: threads, memory_mib: MiB)', labelNames: ['resource'], registers });
    this.#pluginCrashes = new Counter({ name: 'ebm_plugin_crashes_total', help: 'Plugin worker deaths (crash, out of memory, timeout), by plugin', labelNames: ['plugin'], registers });
    this.#moverObjects = new Counter({ name: 'ebm_mover_objects_written_total', help: 'Objects the data mover wrote and verified', registers });
    this.#moverBytes = new Counter({ name: 'ebm_mover_bytes_written_total', help: 'Bytes the data mover wrote', registers });
    this.#moverRetries = new Counter({ name: 'ebm_mover_retries_total', help: 'Transient backend failures the data mover retried', registers });
    this.#moverVerifyFailures = new Counter({ name: 'ebm_mover_verify_failures_total', help: 'Objects whose read-back checksum did not match', registers });
    // Read at scrape time by their collect hooks.
    new Gauge({ name: 'ebm_api_event_stream_clients', help: 'Connected GET /api/v1/events clients', registers, collect() { this.set(eventStreamClients()); } });
    this.#requests = new Counter({ name: 'ebm_api_requests_total', help: 'HTTP API requests, by route template and status', labelNames: ['route', 'status'], registers });
    new Gauge({ name: 'ebm_process_resident_memory_bytes', help: 'Resident memory of the host process', registers, collect() { this.set(process.memoryUsage.rss()); } });
  }

  /** Counts a finished request (`route` is the template, or 'unmatched'). */
  countRequest(route: string, status: number): void {
    this.#requests.inc({ route, status: String(status) });
  }

  async render(): Promise<{ contentType: string; text: string }> {
    this.#apply(await this.#facade.metrics());
    return { contentType: this.#registry.contentType, text: await this.#registry.metrics() };
  }

  #apply(m: RuntimeMetrics): void {
    for (const state of JOB_STATES) this.#jobs.set({ state }, m.jobsByState[state] ?? 0);
    setCounter(this.#bytesRead, m.bytesRead);
    setCounter(this.#bytesAdded, m.bytesAdded);
    this.#queueDepth.set(m.queueDepth);
    this.#budgetLimit.set({ resource: 'workers' }, m.budgets.workers.limit);
    this.#budgetLimit.set({ resource: 'memory_mib' }, m.budgets.memoryMiB.limit);
    this.#budgetUsed.set({ resource: 'workers' }, m.budgets.workers.used);
    this.#budgetUsed.set({ resource: 'memory_mib' }, m.budgets.memoryMiB.used);
    this.#pluginCrashes.reset();
    for (const [plugin, count] of Object.entries(m.pluginCrashes)) this.#pluginCrashes.inc({ plugin }, Math.max(0, count));
    setCounter(this.#moverObjects, m.mover.objectsWritten);
    setCounter(this.#moverBytes, m.mover.bytesWritten);
    setCounter(this.#moverRetries, m.mover.retries);
    setCounter(this.#moverVerifyFailures, m.mover.verifyFailures);
  }
}

function setCounter(counter: Counter, total: number): void {
  counter.reset();
  counter.inc(Math.max(0, total));
}
