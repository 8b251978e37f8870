import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ebm, ebmOk, tempDir } from '../helpers/cli';
import { api, startHost, subscribe, waitForJob, writeHostConfig } from '../helpers/host';
import type { EventStream } from '../helpers/host';

/**
 * SIGTERM of a real `ebm serve` while a backup runs. The backup is made
 * slow by the repository's bandwidth limit (the data mover's token bucket),
 * never by timing the test: random data cannot be deduplicated or
 * compressed, so its packs take at least size / rate to ship.
 *
 * Shutdown order under test: stop admitting (503 E_HOST_SHUTTING_DOWN), keep
 * the API answering while the running job finishes or is cancelled at the end
 * of the grace period, then close the API and exit 0.
 */
describe('ebm serve: SIGTERM while a job runs', () => {
  let work: string;

  beforeAll(() => {
    work = tempDir('serve-sigterm');
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  /** A fresh repository, a source of `mib` MiB of random files, and a host configuration with this grace period and bandwidth limit. */
  async function setup(name: string, grace: string, mib: number, kibps: number): Promise<{ repo: string; config: string }> {
    const dir = path.join(work, name);
    const repo = path.join(dir, 'repo');
    const source = path.join(dir, 'source');
    fs.mkdirSync(source, { recursive: true });
    for (let i = 0; i < mib; i++) fs.writeFileSync(path.join(source, `r${i}.bin`), crypto.randomBytes(1024 * 1024));
    await ebmOk(['init', '-r', repo]);
    const config = writeHostConfig(dir, [
      `repositories: { main: { path: ${repo}, passwordEnv: EBM_PASSWORD, bandwidthLimitKiBps: ${kibps}, verify: false } }`,
      'datasets:',
      `  slow: { translator: filesystem, source: ${source}, repository: main, verify: false }`,
      `  other: { translator: filesystem, source: ${source}, repository: main }`,
      'budgets: { workers: 2, memoryMiB: 1024 }',
      `shutdown: { grace: ${grace} }`,
    ]);
    return { repo, config };
  }

  async function snapshotsOf(repo: string): Promise<Array<Record<string, unknown>>> {
    const run = await ebmOk(['snapshots', '-r', repo, '--json']);
    return run.lines.filter((l) => l.type === 'result').map((l) => l.snapshot as Record<string, unknown>);
  }

  it('with a long grace: keeps the API up (status, jobs, events; new jobs 503), lets the backup finish, then exits 0', async () => {
    // 4 MiB through 512 KiB/s: the backup's one pack takes at least 8 s to ship.
    const { repo, config } = await setup('long', '10m', 4, 512);
    const host = await startHost(config);
    let events: EventStream | undefined;
    let signalled = false;
    try {
      const trigger = await api<{ id: string }>(host, 'POST', '/api/v1/datasets/slow/backup', {});
      expect(trigger.status).toBe(202);
      events = await subscribe(host, `?job=${trigger.body.id}`);
      await waitForJob(host, trigger.body.id, ['running']);
      host.child.kill('SIGTERM');
      signalled = true;

      // The grace period: the host no longer admits jobs, but answers.
      const status = await eventually(async () => {
        const s = await api<{ accepting: boolean; queue: { running: number } }>(host, 'GET', '/api/v1/status');
        return s.body.accepting === false ? s : undefined;
      });
      expect(status.status).toBe(200);
      expect(status.body.queue.running).toBe(1);
      const refused = await api<{ error: { code: string } }>(host, 'POST', '/api/v1/datasets/other/backup', {});
      expect([refused.status, refused.body.error.code]).toEqual([503, 'E_HOST_SHUTTING_DOWN']);
      const refusedPrune = await api<{ error: { code: string } }>(host, 'POST', '/api/v1/repositories/main/prune', {});
      expect([refusedPrune.status, refusedPrune.body.error.code]).toEqual([503, 'E_HOST_SHUTTING_DOWN']);
      const job = await api<{ state: string }>(host, 'GET', `/api/v1/jobs/${trigger.body.id}`);
      expect(job.body.state).toBe('running');
      expect((await api<{ jobs: unknown[] }>(host, 'GET', '/api/v1/jobs')).body.jobs).toHaveLength(1);

      // The event stream stays open through the grace period and reports the job's end.
      const done = await events.waitFor((e) => e.type === 'job:done');
      expect((done.data as { job: { id: string; state: string } }).job).toMatchObject({ id: trigger.body.id, state: 'done' });
      await events.end; // then the API closes: the stream ends
    } finally {
      events?.close();
      if (!signalled) host.child.kill('SIGTERM'); // a second signal would exit at once (130)
    }
    expect(await host.exited).toEqual({ code: 0, signal: null });
    const snapshots = await snapshotsOf(repo);
    expect(snapshots.map((s) => s.dataset)).toEqual(['slow']);
    await ebmOk(['check', '-r', repo, '--read-data']);
  });

  it('with a short grace: cancels the running backup at its end, exits 0, and leaves no snapshot and a valid repository', async () => {
    // 40 MiB through 4 MiB/s: 16 MiB packs, and the store keeps at most one pack in flight beyond the one
    // being filled, so the translator is held back until the first pack has shipped (at least 4 s):
    // the 1 s grace ends while the translator still runs.
    const { repo, config } = await setup('short', '1s', 40, 4096);
    const host = await startHost(config);
    const trigger = await api<{ id: string }>(host, 'POST', '/api/v1/datasets/slow/backup', {});
    expect(trigger.status).toBe(202);
    await waitForJob(host, trigger.body.id, ['running']);
    host.child.kill('SIGTERM');
    expect(await host.exited).toEqual({ code: 0, signal: null });

    expect(await snapshotsOf(repo)).toEqual([]);
    const check = await ebm(['check', '-r', repo, '--read-data', '--json']);
    expect(check.code).toBe(0);

    // The journal recorded the job as cancelled (by the shutdown, not interrupted by a crash).
    const again = await startHost(config);
    try {
      const job = await api<{ state: string; error?: { code: string; message: string } }>(again, 'GET', `/api/v1/jobs/${trigger.body.id}`);
      expect(job.body.state).toBe('cancelled');
      expect(job.body.error).toMatchObject({ code: 'E_CANCELLED', message: expect.stringMatching(/shutting down/) });
    } finally {
      again.child.kill('SIGTERM');
    }
    expect(await again.exited).toEqual({ code: 0, signal: null });
  });
});

/** Polls `probe` until it returns a value (no timing assertion: only a generous upper bound). */
async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 30000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 50));
  }
}

