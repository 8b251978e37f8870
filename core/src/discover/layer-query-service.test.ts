import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { EbmError } from '@ebm/sdk';
import type { LayerChange } from '@ebm/sdk';
import { HostEvents } from '../events/host-events';
import { TEST_LAYER_REPORT, writeLayerProviderPackage } from '../plugin-host/layer-provider.test-helper';
import { PluginHost } from '../plugin-host/plugin-host';
import { PluginRegistry } from '../plugin-host/plugin-registry';
import { LayerQueryService } from './layer-query-service';

/** The service over the real plugin host: a provider in a worker thread, its batches as an async iterable. */
const dir = writeLayerProviderPackage();
const registry = PluginRegistry.discover({ dirs: [dir, path.resolve(__dirname, '../../test-fixtures/plugins/ok')], pluginPath: '', searchNodeModules: false });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('LayerQueryService', () => {
  let host: PluginHost;
  let service: LayerQueryService;
  const finished: { op: string; ok: boolean; code?: string }[] = [];

  beforeEach(() => {
    const events = new HostEvents();
    finished.length = 0;
    events.on('job:finished', (e) => finished.push({ op: e.op, ok: e.ok, ...(e.error ? { code: e.error.code } : {}) }));
    host = new PluginHost({ stallTimeoutMs: 5_000, cancelGraceMs: 200, maxThreads: 1 }, events);
    service = new LayerQueryService(host, registry);
  });
  afterEach(() => host.close());

  it('streams a layer\'s changes, discovering the source first when no report is given', async () => {
    const seen: LayerChange[] = [];
    for await (const batch of service.changes({ plugin: 'test-layers', source: '/src', layer: 'upper', options: { batches: 5 } })) seen.push(...batch);
    expect(seen.map((c) => `${c.change} ${c.path}`)).toEqual([0, 1, 2, 3, 4].flatMap((i) => [`added b${i}`, `added b${i}/f`]));
    expect(finished).toEqual([{ op: 'discover', ok: true }, { op: 'layer-changes', ok: true }]);
  });

  it('uses the report it is given, and lets the consumer set the pace', async () => {
    let batches = 0;
    for await (const batch of service.files({ plugin: 'test-layers', source: '/src', layer: 'base', report: TEST_LAYER_REPORT, windowBatches: 1 })) {
      expect(batch).toEqual([{ path: `b${batches}`, type: 'dir', size: 0 }, { path: `b${batches}/f`, type: 'file', size: 2 }]);
      batches += 1;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(batches).toBe(4);
    expect(finished).toEqual([{ op: 'layer-files', ok: true }]);
  });

  it('cancels the job when the consumer stops early, and throws the job\'s typed error', async () => {
    for await (const batch of service.files({ plugin: 'test-layers', source: '/src', layer: 'upper', report: TEST_LAYER_REPORT, options: { batches: 50 } })) {
      expect(batch[0]!.path).toBe('b0');
      break;
    }
    expect(finished).toEqual([{ op: 'layer-files', ok: false, code: 'E_CANCELLED' }]);
    const failing = async (): Promise<void> => {
      for await (const _ of service.files({ plugin: 'test-layers', source: '/src', layer: 'upper', report: TEST_LAYER_REPORT, options: { mode: 'throw' } })) void _;
    };
    await expect(failing()).rejects.toMatchObject({ code: 'E_PLUGIN_FAILED', message: 'the provider exploded at b1', plugin: 'test-layers' });
  });

  it('cancels on the caller\'s signal, and refuses a plugin that is not a layer provider', async () => {
    const controller = new AbortController();
    const reading = async (): Promise<number> => {
      let n = 0;
      for await (const _ of service.changes({ plugin: 'test-layers', source: '/src', layer: 'upper', report: TEST_LAYER_REPORT, options: { mode: 'wait-for-cancel' }, signal: controller.signal })) {
        n += 1;
        controller.abort(new Error('shutting down'));
      }
      return n;
    };
    await expect(reading()).rejects.toMatchObject({ code: 'E_CANCELLED' });
    const translator = async (): Promise<void> => {
      for await (const _ of service.changes({ plugin: 'ok', source: '/src', layer: 'upper' })) void _;
    };
    await expect(translator()).rejects.toThrow(EbmError);
    await expect(translator()).rejects.toMatchObject({ code: 'E_NOT_SUPPORTED', message: expect.stringMatching(/^plugin ok is a translator, not a layer provider/) });
  });
});
