import { register as globalRegistry } from 'prom-client';
import { createApiServer } from './api-server';
import type { ApiServer } from './api-server';
import { FakeRuntime } from './fake-runtime.test-support';
import { memoryLogger, request, TOKEN } from './http-client.test-support';

/** A sample of the Prometheus text exposition format 0.0.4: name, labels, value. */
interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * A strict reader of the text format: every line is a HELP, a TYPE or a
 * sample of a metric whose TYPE came before; anything else fails the test.
 */
function parsePrometheusText(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') {
        expect(['counter', 'gauge', 'histogram', 'summary', 'untyped']).toContain(meta[3]);
        types.set(meta[2]!, meta[3]!);
      }
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+]+|NaN|[+-]Inf)$/.exec(line);
    if (!sample) throw new Error(`not a line of the Prometheus text format: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const pair of (sample[2] ?? '').match(/[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"/g) ?? []) {
      const eq = pair.indexOf('=');
      labels[pair.slice(0, eq)] = pair.slice(eq + 2, -1);
    }
    expect(types.has(sample[1]!)).toBe(true);
    samples.push({ name: sample[1]!, labels, value: Number(sample[3]) });
  }
  return { types, samples };
}

/** Metrics over real HTTP from an in-memory runtime (the real runtime's counters are tested end to end by the host). */
describe('GET /metrics', () => {
  let runtime: FakeRuntime;
  let server: ApiServer;
  let port: number;

  beforeEach(async () => {
    runtime = new FakeRuntime();
    server = createApiServer(runtime, { token: TOKEN, logger: memoryLogger() });
    ({ port } = await server.listen('127.0.0.1', 0));
  });

  afterEach(() => server.close());

  const scrape = async (): Promise<ReturnType<typeof parsePrometheusText>> => {
    const res = await request(port, '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    return parsePrometheusText(res.text);
  };
  const value = (samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined =>
    samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

  it('exposes the runtime counters in the Prometheus text format', async () => {
    const { types, samples } = await scrape();
    expect(Object.fromEntries(types)).toMatchObject({
      ebm_jobs: 'gauge',
      ebm_bytes_read_total: 'counter',
      ebm_bytes_added_total: 'counter',
      ebm_queue_depth: 'gauge',
      ebm_budget_limit: 'gauge',
      ebm_budget_used: 'gauge',
      ebm_plugin_crashes_total: 'counter',
      ebm_mover_objects_written_total: 'counter',
      ebm_mover_bytes_written_total: 'counter',
      ebm_mover_retries_total: 'counter',
      ebm_mover_verify_failures_total: 'counter',
      ebm_api_event_stream_clients: 'gauge',
      ebm_api_requests_total: 'counter',
      ebm_process_resident_memory_bytes: 'gauge',
    });
    // Every state is present, 0 when the runtime has no job in it.
    expect(samples.filter((s) => s.name === 'ebm_jobs').map((s) => [s.labels.state, s.value])).toEqual([
      ['queued', 1], ['running', 2], ['verifying', 0], ['done', 5], ['failed', 0], ['cancelled', 0],
    ]);
    expect(value(samples, 'ebm_bytes_read_total')).toBe(1_048_576);
    expect(value(samples, 'ebm_bytes_added_total')).toBe(4096);
    expect(value(samples, 'ebm_queue_depth')).toBe(1);
    expect(value(samples, 'ebm_budget_used', { resource: 'memory_mib' })).toBe(300);
    expect(value(samples, 'ebm_budget_limit', { resource: 'workers' })).toBe(4);
    expect(value(samples, 'ebm_plugin_crashes_total', { plugin: 'flaky' })).toBe(3);
    expect(value(samples, 'ebm_mover_retries_total')).toBe(1);
    expect(value(samples, 'ebm_process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('reads the runtime at every scrape, and counts API requests by route template', async () => {
    await request(port, '/api/v1/jobs/job-9');
    runtime.metricsValue = { ...runtime.metricsValue, bytesRead: 2_000_000, pluginCrashes: { flaky: 4, ok: 1 } };
    const { samples } = await scrape();
    expect(value(samples, 'ebm_bytes_read_total')).toBe(2_000_000);
    expect(value(samples, 'ebm_plugin_crashes_total', { plugin: 'ok' })).toBe(1);
    expect(value(samples, 'ebm_api_requests_total', { route: '/api/v1/jobs/{id}', status: '404' })).toBe(1);
  });

  it('uses a private registry: nothing of ebm lands in prom-client\'s global one', async () => {
    await scrape();
    expect(await globalRegistry.metrics()).not.toMatch(/ebm_/);
    // A second server in the same process registers the same names in its own registry.
    let other: ApiServer | undefined;
    expect(() => (other = createApiServer(runtime, { token: TOKEN, logger: memoryLogger() }))).not.toThrow();
    await other?.close();
  });
});
