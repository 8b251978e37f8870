import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { generateSampleTree } from '@ebm/core';
import { ebm, ebmOk, tempDir } from '../helpers/cli';
import { api, Host, startHost, stopHost, subscribe, TOKEN, waitForJob, writeHostConfig } from '../helpers/host';

interface JobBody {
  id: string;
  kind: string;
  state: string;
  error?: { code: string; message: string };
  result?: Record<string, unknown>;
}

/**
 * Jobs of a real `ebm serve` with the real filesystem translator on real
 * files: the live event stream of a backup, cancelling a running backup with
 * `ebm cancel`, and verify / forget / prune jobs queued through the API
 * (including a verify job that finds a flipped byte in a pack).
 */
describe('ebm serve: events, cancel, verify, forget and prune jobs', () => {
  let work: string;
  let main: string;
  let slow: string;
  let host: Host;
  const cliEnv = (): Record<string, string> => ({ EBM_HOST_URL: host.url, EBM_API_TOKEN: TOKEN });

  beforeAll(async () => {
    work = tempDir('serve-jobs');
    main = path.join(work, 'main');
    slow = path.join(work, 'slow');
    const docs = path.join(work, 'docs');
    const big = path.join(work, 'big');
    await generateSampleTree(docs, { files: 200, seed: 21 });
    // 40 MiB of random data through a 4 MiB/s repository: the translator is held back by the packs in flight
    // for seconds (see serve-shutdown.test.ts), so a cancel reaches it while it runs.
    fs.mkdirSync(big);
    for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(big, `r${i}.bin`), crypto.randomBytes(1024 * 1024));
    await ebmOk(['init', '-r', main]);
    await ebmOk(['init', '-r', slow]);
    const config = writeHostConfig(work, [
      'repositories:',
      `  main: { path: ${main}, passwordEnv: EBM_PASSWORD }`,
      `  slow: { path: ${slow}, passwordEnv: EBM_PASSWORD, bandwidthLimitKiBps: 4096, verify: false }`,
      'datasets:',
      `  docs: { translator: filesystem, source: ${docs}, repository: main, retention: { keepLast: 1 } }`,
      `  big: { translator: filesystem, source: ${big}, repository: slow, verify: false }`,
      'budgets: { workers: 2, memoryMiB: 1024 }',
    ]);
    host = await startHost(config);
  });

  afterAll(async () => {
    if (host) await stopHost(host);
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('streams a triggered backup over SSE: queued, running, progress, done, for that job', async () => {
    const events = await subscribe(host);
    try {
      const trigger = await api<JobBody>(host, 'POST', '/api/v1/datasets/docs/backup', {});
      expect(trigger.status).toBe(202);
      const id = trigger.body.id;
      const done = await events.waitFor((e) => e.type === 'job:done' && (e.data as { job: JobBody }).job.id === id);
      expect((done.data as { job: JobBody }).job).toMatchObject({ kind: 'backup', state: 'done', result: { snapshotId: expect.any(String) } });
      const mine = events.seen.filter((e) => (e.data as { jobId?: string }).jobId === id || (e.data as { job?: JobBody }).job?.id === id);
      const types = mine.map((e) => e.type);
      expect(types[0]).toBe('job:queued');
      expect(types).toContain('job:progress');
      const progress = mine.filter((e) => e.type === 'job:progress').map((e) => (e.data as { progress: { files?: number; bytes?: number } }).progress);
      expect(progress.some((p) => (p.files ?? 0) > 0 || (p.bytes ?? 0) > 0)).toBe(true);
      const states = mine.filter((e) => e.type === 'job:state').map((e) => (e.data as { state: string }).state);
      expect(states).toEqual(expect.arrayContaining(['running', 'done']));
      expect(states.indexOf('running')).toBeLessThan(states.indexOf('done'));
      expect(types.indexOf('job:done')).toBe(types.length - 1);
    } finally {
      events.close();
    }
  });

  it('cancels a running backup with `ebm cancel`: the job ends cancelled and leaves no snapshot', async () => {
    const trigger = await api<JobBody>(host, 'POST', '/api/v1/datasets/big/backup', {});
    expect(trigger.status).toBe(202);
    await waitForJob(host, trigger.body.id, ['running']);
    const cancel = await ebm(['cancel', trigger.body.id, '--json'], { env: cliEnv() });
    expect(cancel.code).toBe(0);
    const result = cancel.lines.find((l) => l.type === 'result') as { job: JobBody } | undefined;
    expect(result?.job.id).toBe(trigger.body.id);
    const ended = await waitForJob(host, trigger.body.id, ['done', 'failed', 'cancelled']);
    expect(ended).toMatchObject({ state: 'cancelled', error: { code: 'E_CANCELLED' } });
    const snaps = await api<{ snapshots: unknown[] }>(host, 'GET', '/api/v1/snapshots?repository=slow');
    expect(snaps.body.snapshots).toEqual([]);
    // Cancelling it again changes nothing (200, still cancelled); an unknown job is an error of the CLI.
    const again = await ebm(['cancel', trigger.body.id, '--json'], { env: cliEnv() });
    expect((again.lines.find((l) => l.type === 'result') as { job: JobBody }).job.state).toBe('cancelled');
    expect((await ebm(['cancel', 'no-such-job', '--json'], { env: cliEnv() })).code).not.toBe(0);
  });

  it('runs forget (the dataset\'s retention) and prune as jobs', async () => {
    const backup = await api<JobBody>(host, 'POST', '/api/v1/datasets/docs/backup', { tags: ['second'] });
    expect(await waitForJob(host, backup.body.id, ['done', 'failed'])).toMatchObject({ state: 'done' });
    // keepLast: 1 — the automatic retention after the backup and this one leave one snapshot.
    const forget = await api<JobBody>(host, 'POST', '/api/v1/datasets/docs/forget', { prune: false });
    expect([forget.status, forget.body.kind]).toEqual([202, 'forget']);
    expect(await waitForJob(host, forget.body.id, ['done', 'failed'])).toMatchObject({ state: 'done' });
    const prune = await api<JobBody>(host, 'POST', '/api/v1/repositories/slow/prune');
    expect([prune.status, prune.body.kind]).toEqual([202, 'prune']);
    expect(await waitForJob(host, prune.body.id, ['done', 'failed'])).toMatchObject({ state: 'done' });
    await idle(host); // the automatic retention job of the backup too
    const snaps = await api<{ snapshots: Array<{ dataset: string; tags: string[] }> }>(host, 'GET', '/api/v1/snapshots?repository=main');
    expect(snaps.body.snapshots.map((s) => s.tags)).toEqual([['second']]);
  });

  it('runs a verify job of a snapshot and of the whole repository; after a byte of a pack is flipped, both fail with E_CHECK_FAILED', async () => {
    const snaps = await api<{ snapshots: Array<{ id: string }> }>(host, 'GET', '/api/v1/snapshots?repository=main');
    const snapshot = snaps.body.snapshots[0]!.id;
    const one = await api<JobBody>(host, 'POST', '/api/v1/verifications', { snapshot: snapshot.slice(0, 8) });
    expect([one.status, one.body.kind]).toEqual([202, 'verify']);
    const verified = await waitForJob(host, one.body.id, ['done', 'failed']);
    expect(verified).toMatchObject({ state: 'done', result: { snapshotId: snapshot } });
    expect(verified.result!.packsRead).toBeGreaterThanOrEqual(1);
    const whole = await api<JobBody>(host, 'POST', '/api/v1/verifications', { repository: 'main' });
    expect(await waitForJob(host, whole.body.id, ['done', 'failed'])).toMatchObject({ state: 'done' });

    flipByteInLargestPack(main);
    const bad = await api<JobBody>(host, 'POST', '/api/v1/verifications', { snapshot, repository: 'main' });
    const failed = await waitForJob(host, bad.body.id, ['done', 'failed']);
    expect(failed).toMatchObject({ state: 'failed', error: { code: 'E_CHECK_FAILED' } });
    const badWhole = await api<JobBody>(host, 'POST', '/api/v1/verifications', { repository: 'main' });
    expect(await waitForJob(host, badWhole.body.id, ['done', 'failed'])).toMatchObject({ state: 'failed', error: { code: 'E_CHECK_FAILED' } });
    // The CLI agrees.
    expect((await ebm(['check', '-r', main, '--read-data'])).code).not.toBe(0);
  });
});

/** Waits until the host has no queued or running job. */
async function idle(host: Host): Promise<void> {
  for (;;) {
    const { body } = await api<{ jobs: JobBody[] }>(host, 'GET', '/api/v1/jobs?limit=1000');
    if (body.jobs.every((j) => ['done', 'failed', 'cancelled'].includes(j.state))) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Flips one byte in the middle of the largest pack of a repository. */
function flipByteInLargestPack(repoDir: string): void {
  const packs: Array<{ file: string; size: number }> = [];
  for (const sub of fs.readdirSync(path.join(repoDir, 'data'))) {
    for (const name of fs.readdirSync(path.join(repoDir, 'data', sub))) {
      const file = path.join(repoDir, 'data', sub, name);
      packs.push({ file, size: fs.statSync(file).size });
    }
  }
  const { file, size } = packs.sort((a, b) => b.size - a.size)[0]!;
  const fd = fs.openSync(file, 'r+');
  const byte = Buffer.alloc(1);
  fs.readSync(fd, byte, 0, 1, Math.floor(size / 2));
  byte[0] = byte[0]! ^ 0x01;
  fs.writeSync(fd, byte, 0, 1, Math.floor(size / 2));
  fs.closeSync(fd);
}

