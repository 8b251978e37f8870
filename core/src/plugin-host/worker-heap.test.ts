import { spawnSync } from 'node:child_process';
import { DEFAULT_HOST_CONFIG, resolveHostConfig } from './host-config';
import { applyWorkerOldSpaceFloor } from './worker-heap';

/** The largest new-space size (MiB) V8 reports for this thread (before and after a worker ran) and for the worker, in a fresh process, with or without applyYoungGenerationLimits (in both threads, as ebm's host and bootstrap worker call it). */
function newSpaceMiB(limited: boolean): { host: number; worker: number } {
  // Objects that live across a few turns (as a host's per-blob promises and messages do): V8 grows a new space they survive in.
  const churn = `
    const { getHeapSpaceStatistics } = require('node:v8');
    const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1048576;
    async function churn() {
      let max = newSpace();
      const live = [];
      for (let i = 0; i < 400; i++) {
        for (let k = 0; k < 500; k++) live.push({ id: 'blob-' + i + '-' + k, offset: i * k, parts: [i, k] });
        if (live.length > 60000) live.splice(0, 20000);
        if (i % 20 === 0) await new Promise((r) => setImmediate(r));
        max = Math.max(max, newSpace());
      }
      return max;
    }`;
  const script = `
    const { applyYoungGenerationLimits } = require(${JSON.stringify(require.resolve('./worker-heap'))});
    if (${limited} && !applyYoungGenerationLimits()) throw new Error('flag refused');
    const CHURN = ${JSON.stringify(churn)};
    eval(CHURN);
    const { Worker } = require('node:worker_threads');
    churn().then((before) => {
      // The worker sets the limits again, as the bootstrap worker does (Node resets V8's flags when it starts a worker).
      const again = ${limited} ? 'require(' + JSON.stringify(${JSON.stringify(require.resolve('./worker-heap'))}) + ').applyYoungGenerationLimits();' : '';
      const source = "const { parentPort } = require('node:worker_threads');" + again + CHURN + ';churn().then((n) => parentPort.postMessage(n));';
      const w = new Worker(source, { eval: true, resourceLimits: { maxYoungGenerationSizeMb: 6 } });
      w.on('message', (worker) => churn().then((after) => process.stdout.write(JSON.stringify({ host: Math.max(before, after), worker }))));
    });`;
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
  if (run.status !== 0) throw new Error(`child failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout) as { host: number; worker: number };
}

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

describe('young generation limits', () => {
  it("keep the host thread's new space at its starting size, and start workers at their cap", () => {
    const defaults = newSpaceMiB(false);
    const limited = newSpaceMiB(true);
    expect(defaults.host).toBeGreaterThanOrEqual(8); // V8 grows it, up to 32 MiB
    expect(limited.host).toBeLessThanOrEqual(4);
    expect(limited.worker).toBeLessThanOrEqual(6); // maxYoungGenerationSizeMb still caps a worker
    expect(limited.worker).toBeGreaterThanOrEqual(defaults.worker / 2);
  });
});
