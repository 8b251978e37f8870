import { spawnSync } from 'node:child_process';
import { DEFAULT_HOST_CONFIG, resolveHostConfig } from './host-config';
import { applyWorkerOldSpaceFloor } from './worker-heap';

/**
 * Runs, in a fresh node process (V8 flags are per process), a worker thread
 * that grows its heap by tens of MiB of small objects while it streams
 * buffers — what a translator does — and returns how many full (major)
 * collections it ran. `floor` is applied with applyWorkerOldSpaceFloor
 * before the worker starts, as PluginHost does.
 */
function majorCollections(floor: number | undefined): number {
  const workerSource = `
    const { PerformanceObserver, constants } = require('node:perf_hooks');
    const { parentPort } = require('node:worker_threads');
    let majors = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++;
    }).observe({ entryTypes: ['gc'] });
    (async () => {
      const window = [];
      const entries = [];
      for (let i = 0; i < 1200; i++) {
        window.push(Buffer.allocUnsafeSlow(256 * 1024).fill(i & 255));
        if (window.length > 48) window.shift();
        for (let k = 0; k < 40; k++) entries.push({ name: 'entry-' + i + '-' + k, size: i * k, ids: ['a'.repeat(64) + i] });
        if (i % 16 === 0) await new Promise((r) => setImmediate(r));
      }
      await new Promise((r) => setTimeout(r, 50));
      parentPort.postMessage(majors);
    })();`;
  const script = `
    const { applyWorkerOldSpaceFloor } = require(${JSON.stringify(require.resolve('./worker-heap'))});
    const floor = ${JSON.stringify(floor ?? null)};
    if (floor !== null && !applyWorkerOldSpaceFloor(floor)) throw new Error('flag refused');
    const { Worker } = require('node:worker_threads');
    const w = new Worker(${JSON.stringify(workerSource)}, { eval: true, resourceLimits: { maxOldGenerationSizeMb: 512, maxYoungGenerationSizeMb: 6 } });
    w.on('message', (n) => process.stdout.write(String(n)));`;
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
  if (run.status !== 0) throw new Error(`child failed (${run.status}): ${run.stderr}`);
  return Number(run.stdout);
}

describe('worker old-space floor', () => {
  it('with a floor, lets a worker that grows its heap run far fewer full collections', () => {
    const withDefaults = majorCollections(undefined);
    const withFloor = majorCollections(64);
    const floorZero = majorCollections(0); // 0 restores V8's own heuristics
    expect(withDefaults).toBeGreaterThanOrEqual(3);
    expect(withFloor).toBeLessThanOrEqual(withDefaults / 2);
    expect(floorZero).toBeGreaterThanOrEqual(3);
  });

  it('rejects a nonsensical floor up front', () => {
    expect(() => applyWorkerOldSpaceFloor(-1)).toThrow(RangeError);
    expect(() => resolveHostConfig({ workerOldSpaceFloorMiB: 1.5 })).toThrow(/workerOldSpaceFloorMiB/);
    expect(resolveHostConfig({}).workerOldSpaceFloorMiB).toBe(0); // V8's own heuristics unless configured
    expect(DEFAULT_HOST_CONFIG.workerOldSpaceFloorMiB).toBe(0);
  });
});
