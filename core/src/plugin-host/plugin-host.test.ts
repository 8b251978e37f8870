import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { DEFAULT_CHUNKER_SIZES, EbmError } from '@ebm/sdk';
import type { BackupJobSpec, ErrorCode, OptionValue, PluginDescriptor } from '@ebm/sdk';
import { HostEvents, PluginCrashedEvent } from '../events/host-events';
import type { HostConfig } from './host-config';
import { MemoryBlobServer } from './memory-blob-server';
import { PluginHost } from './plugin-host';
import { PluginRegistry } from './plugin-registry';

/** Real worker threads running the hostile fixture plugins: every failure fails one job, never the host. */
const FIXTURES = path.resolve(__dirname, '../../test-fixtures/plugins');
const registry = PluginRegistry.discover({ dirs: [FIXTURES], pluginPath: '', searchNodeModules: false });
const idKey = randomBytes(32);
const gearKey = randomBytes(32);

function backupJob(options: Record<string, OptionValue> = {}): BackupJobSpec {
  return {
    op: 'backup',
    source: '/virtual/source',
    options,
    addressing: { idKey, chunker: { algorithm: 'fastcdc-gear32-v1', ...DEFAULT_CHUNKER_SIZES, gearKey } },
    windowBytes: 4 << 20,
  };
}

/**
 * Short timings. The stall timeout also covers starting a worker and loading
 * the plugin, and an out-of-memory death takes V8 a few hundred ms of
 * garbage collection on a busy machine: 3 s leaves room for both. The
 * plugins that stall on purpose get 500 ms.
 */
const FAST: Partial<HostConfig> = {
  stallTimeoutMs: 3000,
  stallTimeoutMsOverrides: { hangs: 500, 'busy-loop': 500, flaky: 2000 },
  cancelGraceMs: 200,
  idleTimeoutMs: 10_000,
  maxThreads: 1,
  minHeapMiB: 16,
};

async function failure(promise: Promise<unknown>): Promise<EbmError> {
  try {
    await promise;
  } catch (err) {
    return err as EbmError;
  }
  throw new Error('expected the job to fail');
}

describe('PluginHost with failing plugins', () => {
  let host: PluginHost;
  let events: HostEvents;
  let crashes: PluginCrashedEvent[];
  let jobs = 0;

  beforeEach(() => {
    events = new HostEvents();
    crashes = [];
    events.on('plugin:crashed', (e) => crashes.push(e));
    host = new PluginHost(FAST, events);
  });
  afterEach(async () => {
    await host.close();
  });

  const run = (id: string, options: Record<string, OptionValue> = {}) =>
    host.run(registry.get(id), backupJob(options), new MemoryBlobServer(idKey), { jobId: `job-${++jobs}` });

  async function expectOkStillWorks(): Promise<void> {
    const result = await run('ok');
    expect(result.op).toBe('backup');
    expect(result.stats.files).toBe(3);
  }

  it.each<[string, ErrorCode, RegExp]>([
    ['throws', 'E_PLUGIN_FAILED', /fixture exploded: the source is on fire/],
    ['hangs', 'E_PLUGIN_TIMEOUT', /^plugin hangs sent nothing for 500 ms during backup job job-\d+ \(the stall timeout\); it ignored the cancel request for 200 ms, so its worker was terminated$/],
    ['busy-loop', 'E_PLUGIN_TIMEOUT', /^plugin busy-loop sent nothing for 500 ms .*its worker was terminated$/],
    ['exits', 'E_PLUGIN_CRASHED', /^plugin exits's worker exited with code 7 during backup job job-\d+$/],
    ['oom', 'E_PLUGIN_OUT_OF_MEMORY', /^plugin oom ran out of memory during backup job job-\d+ \(worker heap limit 32 MiB\)/],
    ['load-error', 'E_PLUGIN_LOAD', /^plugin load-error could not be loaded from .*load-error\/index\.js: fixture load failure: cannot find native binding libfixture\.so$/],
    ['no-export', 'E_PLUGIN_LOAD', /^plugin no-export \(.*no-export\/index\.js\) exports no translator/],
  ])('fails a job of the %s plugin with %s, and the host keeps running', async (id, code, message) => {
    const err = await failure(run(id));
    expect(err).toBeInstanceOf(EbmError);
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
    expect(err.plugin).toBe(id);
    expect(err.op).toBe(code === 'E_PLUGIN_LOAD' ? 'load' : 'backup');
    if (['E_PLUGIN_TIMEOUT', 'E_PLUGIN_CRASHED', 'E_PLUGIN_OUT_OF_MEMORY'].includes(code)) {
      expect(crashes.map((c) => [c.pluginId, c.error.code])).toEqual([[id, code]]);
    }
    await expectOkStillWorks();
  });

  it('replaces dead workers: one pool survives every kind of failure, then succeeds', async () => {
    const loaded: string[] = [];
    events.on('plugin:loaded', (e) => loaded.push(e.pluginId));
    expect((await failure(run('flaky', { mode: 'exit' }))).code).toBe('E_PLUGIN_CRASHED');
    expect((await failure(run('flaky', { mode: 'oom' }))).code).toBe('E_PLUGIN_OUT_OF_MEMORY');
    expect((await failure(run('flaky', { mode: 'spin' }))).code).toBe('E_PLUGIN_TIMEOUT'); // after flaky's 2 s stall timeout
    expect((await failure(run('flaky', { mode: 'throw' }))).code).toBe('E_PLUGIN_FAILED');
    const result = await run('flaky', { mode: 'ok' });
    expect(result.meta).toEqual({ mode: 'ok' });
    expect(loaded).toEqual(['flaky']); // one pool throughout
  });

  it('cancels a running job promptly when the plugin cooperates', async () => {
    const controller = new AbortController();
    const progress: unknown[] = [];
    const job = host.run(registry.get('flaky'), backupJob({ mode: 'wait-for-cancel' }), new MemoryBlobServer(idKey), {
      jobId: 'job-cancel',
      signal: controller.signal,
      onProgress: (p) => {
        progress.push(p);
        controller.abort(new Error('operator pressed Ctrl-C'));
      },
    });
    const started = Date.now();
    const err = await failure(job);
    expect(err.code).toBe('E_CANCELLED');
    expect(err.message).toBe('backup job job-cancel was cancelled: operator pressed Ctrl-C');
    expect(progress.length).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(crashes).toEqual([]);
    await expectOkStillWorks();
  });

  it('cancels a job whose plugin ignores the request by terminating its worker after the grace period', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const slowHost = new PluginHost({ ...FAST, stallTimeoutMs: 60_000, stallTimeoutMsOverrides: {} }, events);
    try {
      const started = Date.now();
      const err = await failure(slowHost.run(registry.get('hangs'), backupJob(), new MemoryBlobServer(idKey), { jobId: 'job-x', signal: controller.signal }));
      expect(err.code).toBe('E_CANCELLED');
      expect(err.message).toBe('backup job job-x was cancelled; plugin hangs did not stop within 200 ms, so its worker was terminated');
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      await slowHost.close();
    }
  });

  it('fails running jobs with E_CANCELLED when the host is closed, and refuses new ones', async () => {
    const slowHost = new PluginHost({ ...FAST, stallTimeoutMs: 60_000, stallTimeoutMsOverrides: {} }, events);
    const job = failure(slowHost.run(registry.get('hangs'), backupJob(), new MemoryBlobServer(idKey), { jobId: 'job-y' }));
    await new Promise((r) => setTimeout(r, 200));
    await slowHost.close();
    const err = await job;
    expect(err.code).toBe('E_CANCELLED');
    expect(err.message).toContain('the plugin host was closed');
    const refused = await failure(slowHost.run(registry.get('ok'), backupJob(), new MemoryBlobServer(idKey), { jobId: 'job-z' }));
    expect(refused.code).toBe('E_CANCELLED');
  });

  it('uses the manifest memory limit, raised to the floor, unless the operator overrides it', () => {
    const desc = (memoryMiB?: number): PluginDescriptor => {
      const base = registry.get('ok');
      return { ...base, manifest: { ...base.manifest, ...(memoryMiB ? { resources: { memoryMiB } } : { resources: undefined }) } };
    };
    const h = new PluginHost({ minHeapMiB: 64, defaultHeapMiB: 256, heapMiBOverrides: { ok: 1024 } }, events);
    const plain = new PluginHost({ minHeapMiB: 64, defaultHeapMiB: 256 }, events);
    expect(plain.heapLimitMiB(desc(32))).toBe(64);
    expect(plain.heapLimitMiB(desc(300))).toBe(300);
    expect(plain.heapLimitMiB(desc())).toBe(256);
    expect(h.heapLimitMiB(desc(32))).toBe(1024);
  });
});
