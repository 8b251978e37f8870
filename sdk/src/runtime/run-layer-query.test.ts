import type { ErrorRecord } from '../errors/ebm-error';
import type { LayerReport } from '../layers/layer';
import type { LayerQueryJobSpec, LayerQueryTaskResult, TaskResult } from '../protocol/messages';
import { createWorkerLayerRunner } from '../testing/layer-worker-runner';
import type { LayerPluginUnderTest } from '../testing/layer-runner';
import { runLayerJobInWorker, writeTestLayerProvider } from './layer-provider.test-helper';

/**
 * The layer operations of the protocol with the provider in a real worker
 * thread (the SDK's harness worker loads a compiled plugin entry and runs
 * runTask over a transferred port); the host's side is played by hand.
 */
const entry = writeTestLayerProvider();
const REPORT: LayerReport = {
  contractVersion: 1, source: '/src', layout: 'layer-map',
  layers: [
    { id: 'base', kind: 'base', name: 'base', order: 0, immutable: true, digest: `sha256:${'a'.repeat(64)}`, bytes: 0, files: 0 },
    { id: 'upper', kind: 'upper', name: 'upper', order: 1, immutable: false, bytes: 0, files: 0 },
  ],
};

const query = (op: 'layer-files' | 'layer-changes', mode: string, extra: Partial<LayerQueryJobSpec> = {}): LayerQueryJobSpec =>
  ({ op, source: '/src', layer: 'upper', options: { mode }, report: REPORT, ...extra });

function ok(result: TaskResult): LayerQueryTaskResult {
  if (!result.ok) throw new Error(`expected success, got ${result.error.code}: ${result.error.message}`);
  return result.result as LayerQueryTaskResult;
}
function failed(result: TaskResult): ErrorRecord {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.result)}`);
  return result.error;
}

describe('layer queries in a worker thread', () => {
  it('streams every batch in order, counts them, and keeps at most windowBatches unacknowledged', async () => {
    const out = await runLayerJobInWorker(entry, query('layer-files', 'ok', { windowBatches: 2 }), { ackDelayMs: 30 });
    expect(ok(out.result)).toMatchObject({ op: 'layer-files', batches: 5, items: 15 });
    expect(out.batches.map((b) => b.map((f) => (f as { path: string }).path))).toEqual(
      [0, 1, 2, 3, 4].map((i) => [`b${i}`, `b${i}/f1`, `b${i}/f2`]),
    );
    expect(out.batches[0]![1]).toEqual({ path: 'b0/f1', type: 'file', size: 1 });
    expect(out.maxUnacked).toBe(2);
  });

  it('streams changes, and without a report from the host discovers one to validate against', async () => {
    const out = await runLayerJobInWorker(entry, query('layer-changes', 'ok', { report: undefined }));
    expect(ok(out.result)).toMatchObject({ op: 'layer-changes', batches: 5, items: 15 });
    expect(out.batches[2]![0]).toEqual({ path: 'b2', change: 'added', type: 'dir' });
    const bad = await runLayerJobInWorker(entry, query('layer-changes', 'metacopy-above', { report: undefined, layer: 'base' }));
    expect(failed(bad.result)).toMatchObject({ code: 'E_PLUGIN_FAILED', plugin: 'test-layers', subject: '[0].dataFrom.layer' });
  });

  it('reports an untyped throw as E_PLUGIN_FAILED and keeps a typed code, after the batches before it', async () => {
    const thrown = await runLayerJobInWorker(entry, query('layer-files', 'throw'));
    expect(failed(thrown.result)).toMatchObject({ code: 'E_PLUGIN_FAILED', message: 'the provider exploded reading b1', plugin: 'test-layers', op: 'layer-files' });
    expect(thrown.batches).toHaveLength(1);
    expect(thrown.logs).toContain('generator closed');
    const typed = await runLayerJobInWorker(entry, query('layer-changes', 'typed'));
    expect(failed(typed.result)).toMatchObject({ code: 'E_SOURCE_NOT_FOUND', message: '/src vanished while listing', op: 'layer-changes' });
  });

  it('refuses an invalid batch with E_PLUGIN_FAILED naming the field, and a batch that is not plain data', async () => {
    const bad = await runLayerJobInWorker(entry, query('layer-files', 'invalid-path'));
    const error = failed(bad.result);
    expect(error).toMatchObject({ code: 'E_PLUGIN_FAILED', subject: '[1].path' });
    expect(error.message).toContain('layer provider test-layers returned an invalid files batch for layer upper: [1].path "b1/../../etc" is not a safe relative POSIX path');
    expect(bad.batches).toHaveLength(1); // the bad batch never reached the host
    const clone = await runLayerJobInWorker(entry, query('layer-files', 'not-clone'));
    expect(failed(clone.result)).toMatchObject({ code: 'E_PLUGIN_FAILED', subject: 'batch 1' });
    expect(failed(clone.result).message).toMatch(/yielded batch 1 of the files of layer upper that is not plain data/);
  });

  it('cancels mid-stream: the provider waiting on its signal wakes, and the task ends E_CANCELLED', async () => {
    const out = await runLayerJobInWorker(entry, query('layer-files', 'wait-for-cancel'), { cancelAfterBatches: 1 });
    expect(failed(out.result)).toMatchObject({ code: 'E_CANCELLED', message: 'the operation was cancelled: the test cancelled mid-stream', op: 'layer-files' });
    expect(out.batches).toHaveLength(1);
    // A provider that never looks at its signal is stopped at its next batch: the ack it waits for is refused.
    const busy = await runLayerJobInWorker(entry, query('layer-changes', 'ok', { windowBatches: 1 }), { cancelAfterBatches: 2, ackDelayMs: 20 });
    expect(failed(busy.result).code).toBe('E_CANCELLED');
    expect(busy.batches.length).toBeLessThan(5);
  });

  it('a cancel queued before the task starts reaches the provider before its first batch', async () => {
    const out = await runLayerJobInWorker(entry, query('layer-files', 'ok'), { cancelAtStart: true });
    expect(failed(out.result)).toMatchObject({ code: 'E_CANCELLED', message: 'the operation was cancelled: cancelled before the start' });
    expect(out.batches).toEqual([]);
  });

  it('validates a layer provider\'s discovery report (E_PLUGIN_FAILED naming the field)', async () => {
    const good = await runLayerJobInWorker(entry, { op: 'discover', source: '/src', options: {} });
    expect(good.result).toMatchObject({ ok: true, result: { op: 'discover', report: { layout: 'layer-map', layers: [{ id: 'base' }, { id: 'upper' }] } } });
    const bad = await runLayerJobInWorker(entry, { op: 'discover', source: '/src', options: { mode: 'bad-report' } });
    expect(failed(bad.result)).toMatchObject({ code: 'E_PLUGIN_FAILED', subject: 'layers[0].digest', op: 'discover' });
  });

  it('a hanging provider is terminated by the runner (E_PLUGIN_TIMEOUT); an unknown layer is the provider\'s E_INVALID_SOURCE', async () => {
    const runner = createWorkerLayerRunner();
    const plugin: LayerPluginUnderTest = {
      ...descriptorOf(entry),
      provider: { discover: async () => REPORT, files: async function* () {}, changes: async function* () {} },
    };
    try {
      const stop = new AbortController();
      const running = runner.run(plugin, { op: 'files', source: '/src', layer: 'upper', options: { mode: 'hang' } }, stop.signal);
      setTimeout(() => stop.abort(), 300);
      const hung = await running;
      expect(hung).toMatchObject({ ok: false, error: { code: 'E_PLUGIN_TIMEOUT', plugin: 'test-layers' } });
      expect(hung.batches).toHaveLength(1);
      const unknown = await runner.run(plugin, { op: 'changes', source: '/src', layer: 'nope', options: {} }, new AbortController().signal);
      expect(unknown).toMatchObject({ ok: false, error: { code: 'E_INVALID_SOURCE', message: 'no layer nope in /src' } });
    } finally {
      await runner.close();
    }
  });
});

/** A descriptor for the test provider's bare entry (no package.json: the runner needs only the id, version and entry). */
function descriptorOf(entryPath: string): Omit<LayerPluginUnderTest, 'provider'> {
  return {
    manifest: { id: 'test-layers', kind: 'layer-provider', apiVersion: '^1.0.0', entry: 'index.js', capabilities: ['layers'] },
    packageName: 'test-layers', version: '1.0.0', packageDir: entryPath.slice(0, entryPath.lastIndexOf('/')), entryPath,
  } as Omit<LayerPluginUnderTest, 'provider'>;
}
