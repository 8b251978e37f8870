import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseHostConfig } from '../config/load-config';
import { ManualClock } from '../scheduler/clock';
import { LocalBackend } from '../backend/local-backend';
import { Repository } from '../repository/repository';
import { listSnapshots } from '../snapshots/snapshot-store';
import { generateSampleTree } from '../demo/sample-tree';
import { Logger } from '../logging/logger';
import type { RuntimeEvent } from '../api/runtime-facade';
import { HostRuntime } from './host-runtime';

/**
 * Schedules firing through the whole runtime with a controllable clock:
 * scheduler → controller → queue → the real filesystem translator in a worker
 * → a snapshot in a real repository.
 */
describe('HostRuntime schedules', () => {
  const PASSWORD_ENV = 'EBM_TEST_RUNTIME_PASSWORD';
  let work: string;
  let repoDir: string;
  let source: string;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'ebm-runtime-'));
    repoDir = path.join(work, 'repo');
    source = path.join(work, 'source');
    await generateSampleTree(source, { files: 60, seed: 5 });
    process.env[PASSWORD_ENV] = 'runtime-test-password';
    await Repository.init(new LocalBackend(repoDir), 'runtime-test-password', { kdf: { N: 1024, r: 8, p: 1 } });
  });

  afterAll(() => {
    delete process.env[PASSWORD_ENV];
    fs.rmSync(work, { recursive: true, force: true });
  });

  function makeRuntime(clock: ManualClock, logLines: string[]): { runtime: HostRuntime; events: RuntimeEvent[] } {
    const config = parseHostConfig(
      [
        `repositories: { main: { path: ${repoDir}, passwordEnv: ${PASSWORD_ENV} } }`,
        'datasets:',
        `  nightly: { translator: filesystem, source: ${source}, repository: main, schedule: "0 2 * * *", timezone: UTC }`,
        `state: { dir: ${path.join(work, 'state')} }`,
        '',
      ].join('\n'),
      path.join(work, 'ebm.config.yaml'),
    );
    const runtime = HostRuntime.create(config, { logger: new Logger({ write: (l) => logLines.push(l) }, 'debug'), clock });
    const events: RuntimeEvent[] = [];
    runtime.events.on('event', (e) => events.push(e));
    return { runtime, events };
  }

  /** Waits until the job a schedule fired is done (the journal also holds earlier runs' jobs). */
  async function waitForFiredJob(runtime: HostRuntime, events: RuntimeEvent[]): Promise<void> {
    const until = Date.now() + 30000;
    for (;;) {
      const fired = events.find((e) => e.type === 'schedule:fired');
      const job = fired?.type === 'schedule:fired' ? await runtime.getJob(fired.data.jobId) : undefined;
      if (job?.state === 'done') return;
      if (job?.state === 'failed' || job?.state === 'cancelled') throw new Error(`scheduled job ${job.state}: ${JSON.stringify(job.error)}`);
      if (Date.now() > until) throw new Error('timed out waiting for the scheduled job');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('fires a cron schedule at its time and backs the dataset up; nothing fires before', async () => {
    const clock = new ManualClock('2026-03-01T01:58:00Z');
    const logs: string[] = [];
    const { runtime, events } = makeRuntime(clock, logs);
    await runtime.start();
    try {
      expect((await runtime.status()).datasets[0]).toMatchObject({ name: 'nightly', schedule: '0 2 * * *', nextRunAt: '2026-03-01T02:00:00.000Z' });
      clock.advance(60_000); // 01:59
      expect(await runtime.listJobs({ limit: 10 })).toEqual([]);
      clock.advance(60_000); // 02:00
      await waitForFiredJob(runtime, events);
      const fired = events.filter((e) => e.type === 'schedule:fired');
      expect(fired).toHaveLength(1);
      expect(fired[0]!.data).toMatchObject({ dataset: 'nightly', missed: false });
      const { snapshots } = await listSnapshots(await runtime.repositories.open('main'));
      expect(snapshots.map((s) => s.dataset)).toEqual(['nightly']);
      expect((await runtime.status()).datasets[0]!.nextRunAt).toBe('2026-03-02T02:00:00.000Z');
      expect(logs.some((l) => l.includes('"msg":"job done"') && l.includes('"dataset":"nightly"'))).toBe(true);
      // The catalog syncs on its own once no job has run for a second (QuietTrigger), and browsing is answered from it.
      const snapshotId = snapshots[0]!.id;
      for (const until = Date.now() + 15_000; runtime.catalog.listDirectory(snapshotId, '') === undefined; await new Promise((r) => setTimeout(r, 100))) {
        if (Date.now() > until) throw new Error('the catalog was not synced after the backup');
      }
      expect(runtime.catalog.listDirectory(snapshotId, '')?.map((e) => e.name)).toEqual(fs.readdirSync(source).sort());
      const listing = await runtime.browse({ snapshot: snapshotId, path: '', offset: 0, limit: 100 });
      expect(listing.entries.map((e) => e.name)).toEqual(fs.readdirSync(source).sort());
    } finally {
      await runtime.stop(5000);
    }
  });

  it('after three days down, a missed schedule runs exactly once at start-up', async () => {
    const clock = new ManualClock('2026-03-04T09:00:00Z');
    const { runtime, events } = makeRuntime(clock, []);
    await runtime.start();
    try {
      await waitForFiredJob(runtime, events);
      const fired = events.filter((e) => e.type === 'schedule:fired');
      expect(fired).toHaveLength(1);
      expect(fired[0]!.data).toMatchObject({ dataset: 'nightly', missed: true });
      const { snapshots } = await listSnapshots(await runtime.repositories.open('main'));
      expect(snapshots).toHaveLength(2); // the first test's run and this catch-up; an incremental
      expect(snapshots[1]!.parent).toBe(snapshots[0]!.id);
    } finally {
      await runtime.stop(5000);
    }
  });

  it('drain() stops admitting (E_HOST_SHUTTING_DOWN) while queries still answer; stop() after it closes everything once', async () => {
    const clock = new ManualClock('2026-03-05T09:00:00Z');
    const { runtime } = makeRuntime(clock, []);
    await runtime.start();
    try {
      await runtime.drain(5000);
      expect((await runtime.status()).accepting).toBe(false);
      await expect(runtime.triggerBackup('nightly', {})).rejects.toMatchObject({ code: 'E_HOST_SHUTTING_DOWN' });
      await expect(runtime.startPrune('main')).rejects.toMatchObject({ code: 'E_HOST_SHUTTING_DOWN' });
      await expect(runtime.startVerify({ repository: 'main' })).rejects.toMatchObject({ code: 'E_HOST_SHUTTING_DOWN' });
      expect(await runtime.listJobs({ limit: 10 })).toEqual(expect.any(Array));
      expect((await runtime.listSnapshots({ limit: 10 })).length).toBeGreaterThanOrEqual(1);
    } finally {
      await Promise.all([runtime.stop(5000), runtime.stop(5000)]);
    }
  });
});
