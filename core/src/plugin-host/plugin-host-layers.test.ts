import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { EbmError } from '@ebm/sdk';
import type { LayerChange, LayerFile, LayerQueryJobSpec, OptionValue } from '@ebm/sdk';
import { HostEvents, PluginCrashedEvent } from '../events/host-events';
import type { HostConfig } from './host-config';
import { TEST_LAYER_REPORT, writeLayerProviderPackage } from './layer-provider.test-helper';
import { noBlobs } from './no-blobs';
import { PluginHost } from './plugin-host';
import { PluginRegistry } from './plugin-registry';

/** Layer queries through the real plugin host: piscina workers, the bootstrap, the supervisor. */
const dir = writeLayerProviderPackage();
const registry = PluginRegistry.discover({ dirs: [dir, path.resolve(__dirname, '../../test-fixtures/plugins/ok')], pluginPath: '', searchNodeModules: false });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FAST: Partial<HostConfig> = { stallTimeoutMs: 600, cancelGraceMs: 200, idleTimeoutMs: 10_000, maxThreads: 1, minHeapMiB: 16 };

async function failure(promise: Promise<unknown>): Promise<EbmError> {
  try {
    await promise;
  } catch (err) {
    return err as EbmError;
  }
  throw new Error('expected the job to fail');
}

describe('PluginHost layer queries', () => {
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

  const job = (op: LayerQueryJobSpec['op'], options: Record<string, OptionValue> = {}, layer = 'upper'): LayerQueryJobSpec =>
    ({ op, source: '/src', layer, options, report: TEST_LAYER_REPORT });
  const collect = (spec: LayerQueryJobSpec, extra: { signal?: AbortSignal; consumeMs?: number; onEach?: (n: number) => void } = {}) => {
    const batches: (readonly (LayerFile | LayerChange)[])[] = [];
    const result = host.run(registry.get('test-layers'), spec, noBlobs(spec.op), {
      jobId: `job-${++jobs}`,
      ...(extra.signal ? { signal: extra.signal } : {}),
      onBatch: async (batch) => {
        batches.push(batch);
        extra.onEach?.(batches.length);
        if (extra.consumeMs) await new Promise((r) => setTimeout(r, extra.consumeMs));
      },
    });
    return { batches, result };
  };

  async function expectStillWorks(): Promise<void> {
    const { batches, result } = collect(job('layer-changes'));
    expect(await result).toMatchObject({ op: 'layer-changes', batches: 4, items: 8 });
    expect(batches[3]).toEqual([{ path: 'b3', change: 'added', type: 'dir' }, { path: 'b3/f', change: 'added', type: 'file' }]);
  }

  it('delivers the files of a layer in order and resolves with the counts', async () => {
    const { batches, result } = collect(job('layer-files', { batches: 6 }));
    expect(await result).toMatchObject({ op: 'layer-files', batches: 6, items: 12, warnings: [] });
    expect(batches.flat().map((f) => f.path)).toEqual([0, 1, 2, 3, 4, 5].flatMap((i) => [`b${i}`, `b${i}/f`]));
    expect(batches[0]![1]).toEqual({ path: 'b0/f', type: 'file', size: 2 });
  });

  it('feeds the stall clock with batches, and does not run it while the consumer holds a batch', async () => {
    // 8 batches 200 ms apart take far longer than the 600 ms stall timeout; so does a consumer that takes 700 ms a batch.
    const slowProvider = collect(job('layer-files', { batches: 8, everyMs: 200 }));
    expect(await slowProvider.result).toMatchObject({ batches: 8 });
    const slowConsumer = collect(job('layer-changes', { batches: 3 }), { consumeMs: 700 });
    expect(await slowConsumer.result).toMatchObject({ batches: 3 });
  });

  it.each<[string, string, RegExp]>([
    ['throw', 'E_PLUGIN_FAILED', /^the provider exploded at b1$/],
    ['hang', 'E_PLUGIN_TIMEOUT', /^plugin test-layers sent nothing for 600 ms during layer-files job job-\d+ \(the stall timeout\); it ignored the cancel request for 200 ms, so its worker was terminated$/],
    ['spin', 'E_PLUGIN_TIMEOUT', /^plugin test-layers sent nothing for 600 ms during layer-files job .*its worker was terminated$/],
    ['exit', 'E_PLUGIN_CRASHED', /^plugin test-layers's worker exited with code 5 during layer-files job job-\d+$/],
  ])('fails a layer query whose provider does %s with %s, after the batches before it; the host carries on', async (mode, code, message) => {
    const { batches, result } = collect(job('layer-files', { mode }));
    const err = await failure(result);
    expect(err).toBeInstanceOf(EbmError);
    expect([err.code, err.plugin, err.op]).toEqual([code, 'test-layers', 'layer-files']);
    expect(err.message).toMatch(message);
    expect(batches).toHaveLength(1);
    if (code !== 'E_PLUGIN_FAILED') expect(crashes.map((c) => c.error.code)).toEqual([code]);
    await expectStillWorks();
  });

  it('cancels mid-stream: the provider stops at the cancel and the job fails E_CANCELLED', async () => {
    const controller = new AbortController();
    const { batches, result } = collect(job('layer-files', { mode: 'wait-for-cancel' }), { signal: controller.signal, onEach: () => controller.abort(new Error('operator stopped the scan')) });
    const err = await failure(result);
    expect(err.code).toBe('E_CANCELLED');
    expect(err.message).toBe(`layer-files job job-${jobs} was cancelled: operator stopped the scan`);
    expect(batches).toHaveLength(1);
    expect(crashes).toEqual([]);
    await expectStillWorks();
  });

  it('fails the job with the consumer\'s error, and an unknown layer with the provider\'s E_INVALID_SOURCE', async () => {
    const consumerFails = host.run(registry.get('test-layers'), job('layer-files'), noBlobs('layer-files'), {
      jobId: 'job-consumer',
      onBatch: () => Promise.reject(new EbmError('E_DISK_FULL', 'the catalog disk is full')),
    });
    expect(await failure(consumerFails)).toMatchObject({ code: 'E_DISK_FULL', message: 'the catalog disk is full', plugin: 'test-layers' });
    const unknown = collect(job('layer-changes', {}, 'nope'));
    expect(await failure(unknown.result)).toMatchObject({ code: 'E_INVALID_SOURCE', message: 'no layer nope', op: 'layer-changes' });
    expect(unknown.batches).toEqual([]);
  });

  it('refuses a layer query of a translator (E_NOT_SUPPORTED) and one without onBatch', async () => {
    const translator = host.run(registry.get('ok'), job('layer-changes'), noBlobs('layer-changes'), { jobId: 'job-t', onBatch: () => undefined });
    expect(await failure(translator)).toMatchObject({ code: 'E_NOT_SUPPORTED', plugin: 'ok', op: 'layer-changes' });
    expect((await failure(translator)).message).toMatch(/^plugin ok is not a layer provider/);
    await expect(host.run(registry.get('test-layers'), job('layer-files'), noBlobs('x'), { jobId: 'j' } as never)).rejects.toThrow(/needs options\.onBatch/);
  });
});
