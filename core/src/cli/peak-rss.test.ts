import { spawnSync } from 'node:child_process';

/**
 * What a summary's peakRssKiB says for an ebm started by a large process
 * (a test runner, a supervisor): this program's own peak, not its parent's.
 * The parent here grows to ~300 MiB, then starts a small node process that
 * reports both measures. On Linux (VmHWM); elsewhere the helper falls back to
 * getrusage, the only measure there is.
 */
describe('peakRssKiB', () => {
  it("reports the process's own peak, not the one a large parent leaves in getrusage", () => {
    if (process.platform !== 'linux') {
      const { peakRssKiB } = require('./peak-rss') as typeof import('./peak-rss');
      expect(peakRssKiB()).toBe(process.resourceUsage().maxRSS);
      return;
    }
    const child = `
      const { peakRssKiB } = require(${JSON.stringify(require.resolve('./peak-rss'))});
      process.stdout.write(JSON.stringify({ own: peakRssKiB(), rusage: process.resourceUsage().maxRSS }));`;
    const parent = `
      const { spawnSync } = require('node:child_process');
      const big = Buffer.alloc(300 * 1024 * 1024, 1);
      const run = spawnSync(process.execPath, ['-e', ${JSON.stringify(child)}], { encoding: 'utf8' });
      process.stdout.write(run.stdout + String(big[0] === 1 ? '' : 'x'));`;
    const run = spawnSync(process.execPath, ['-e', parent], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status).toBe(0);
    const { own, rusage } = JSON.parse(run.stdout) as { own: number; rusage: number };
    expect(rusage).toBeGreaterThan(300 * 1024); // getrusage carries the parent's 300 MiB over fork and exec
    expect(own).toBeLessThan(150 * 1024); // a bare node process
    expect(own).toBeGreaterThan(10 * 1024);
  });
});
