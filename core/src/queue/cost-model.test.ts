import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { PluginRegistry } from '../plugin-host/plugin-registry';
import type { JobRequest } from '../jobs/job-types';
import { CostModel } from './cost-model';
import { compareForAdmission, effectivePriority } from './ordering';
import { backoffDelay, shouldRetry } from './retry';

const FIXTURES = path.resolve(__dirname, '../../test-fixtures/plugins');
const registry = PluginRegistry.discover({ dirs: [FIXTURES], pluginPath: '' });
const backup = (translator: string, dataset = 'd'): JobRequest => ({ kind: 'backup', dataset, repository: 'main', translator, source: '/s', options: {}, tags: [], full: false, priority: 0, verify: false });

describe('CostModel', () => {
  it('charges a backup its manifest declaration, others their defaults', () => {
    const costs = new CostModel(registry, { defaultMemoryMiB: 200 });
    expect(costs.declared(backup('filesystem'))).toEqual({ workers: 1, memoryMiB: 128, ioStreams: 1 });
    expect(costs.declared(backup('ok'))).toEqual({ workers: 1, memoryMiB: 96, ioStreams: 1 });
    expect(costs.declared(backup('throws'))).toEqual({ workers: 1, memoryMiB: 200, ioStreams: 1 });
    expect(costs.declared({ kind: 'restore', repository: 'main', snapshot: 'x', target: '/t', includes: [], overwrite: false, priority: 0 }).memoryMiB).toBe(200);
    expect(costs.declared({ kind: 'prune', repository: 'main', prune: true, priority: 0 })).toEqual({ workers: 1, memoryMiB: 256, ioStreams: 1 });
  });

  it('learns an EWMA per (translator, dataset): up at once, below the declaration only after 3 lower runs', () => {
    const costs = new CostModel(registry);
    costs.record('filesystem', 'small', 40);
    expect(costs.estimate(backup('filesystem', 'small')).memoryMiB).toBe(128);
    costs.record('filesystem', 'small', 40);
    expect(costs.estimate(backup('filesystem', 'small')).memoryMiB).toBe(128);
    costs.record('filesystem', 'small', 40);
    expect(costs.estimate(backup('filesystem', 'small')).memoryMiB).toBe(40);
    costs.record('filesystem', 'small', 500); // one big run resets the streak and raises the estimate above the declaration
    expect(costs.estimate(backup('filesystem', 'small')).memoryMiB).toBe(Math.ceil(0.3 * 500 + 0.7 * 40)); // 178
    expect(costs.learned('filesystem', 'small')).toMatchObject({ samples: 4, belowStreak: 0 });
    expect(costs.estimate(backup('filesystem', 'other')).memoryMiB).toBe(128);
    const copy = new CostModel(registry);
    copy.import(costs.export());
    expect(copy.estimate(backup('filesystem', 'small'))).toEqual(costs.estimate(backup('filesystem', 'small')));
  });

  it('never learns below the floor', () => {
    const costs = new CostModel(registry, { floorMiB: 16 });
    for (let i = 0; i < 5; i++) costs.record('ok', 'tiny', 0);
    expect(costs.estimate(backup('ok', 'tiny')).memoryMiB).toBe(16);
  });
});

describe('ordering and retry rules', () => {
  it('ages one point per interval and breaks ties by age then submission', () => {
    expect(effectivePriority({ priority: -100, since: 0, seq: 0 }, 200 * 60_000, 60_000)).toBe(100);
    const a = { priority: 0, since: 1000, seq: 2 };
    const b = { priority: 0, since: 1000, seq: 1 };
    const c = { priority: 0, since: 500, seq: 3 };
    expect([a, b, c].sort((x, y) => compareForAdmission(x, y, 2000, 60_000))).toEqual([c, b, a]);
  });

  it('retries only retryable errors while attempts remain, with capped exponential backoff', () => {
    const policy = { attempts: 4, backoffMs: 100, maxBackoffMs: 300 };
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, policy))).toEqual([100, 200, 300, 300]);
    const crash = { code: 'E_PLUGIN_CRASHED' as const, message: 'x', retryable: true };
    expect(shouldRetry(crash, 3, policy)).toBe(true);
    expect(shouldRetry(crash, 4, policy)).toBe(false);
    expect(shouldRetry({ code: 'E_PLUGIN_FAILED', message: 'x', retryable: false }, 1, policy)).toBe(false);
  });
});

describe('RssUsageMeter', () => {
  /**
   * In a fresh process: inside jest's shared worker, memory that other test
   * files left for the collector could be returned to the system while the
   * probe is open, hiding the growth (seen once in CI: 0 instead of 64 MiB).
   */
  it('reports the peak RSS growth while a probe is open', () => {
    const script = `
      const { RssUsageMeter } = require(${JSON.stringify(require.resolve('./usage-meter'))});
      const meter = new RssUsageMeter(5);
      const probe = meter.begin();
      const hog = Buffer.alloc(64 * 1024 * 1024, 1);
      setTimeout(() => process.stdout.write(JSON.stringify({ peak: probe.end(), first: hog[0] })), 30);`;
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(run.status).toBe(0);
    const { peak, first } = JSON.parse(run.stdout) as { peak: number; first: number };
    expect(first).toBe(1);
    expect(peak).toBeGreaterThan(32);
    expect(peak).toBeLessThan(200);
  });
});
