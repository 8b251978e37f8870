import 'reflect-metadata';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalBackend } from '../backend/local-backend';
import { checkRepository } from '../checker/check';
import { Repository } from '../repository/repository';
import { TEST_PASSWORD } from '../repository/test-repository';
import { listSnapshots } from '../snapshots/snapshot-store';
import { finished, startRuntime } from '../queue/queue.test-support';
import { Job } from './job';
import { JobEvents } from './job-events';
import { JobJournal } from './job-journal';
import { JOURNAL_FILE_NAME, LEGACY_JOURNAL_FILE_NAME, recoverJournal } from './journal-recovery';
import type { JobRequest } from './job-types';

/**
 * The child is a real host: a queue with the real executor and plugin host,
 * journalling to a file. It finishes one backup, starts one that runs until
 * cancelled, queues one more, reports "ready" and is killed with SIGKILL.
 */
const CHILD = `
const { startRuntime, backupRequest, finished, reaches } = require(${JSON.stringify(path.join(__dirname, '../queue/queue.test-support.js'))});
const { JobJournal } = require(${JSON.stringify(path.join(__dirname, 'job-journal.js'))});
(async () => {
  const rt = await startRuntime({ queue: { budgets: { workers: 1, memoryMiB: 1024 } } });
  const journal = await JobJournal.open(process.argv[2]);
  journal.attach(rt.queue.events);
  const first = rt.queue.submit(backupRequest('finished-before', '/virtual/a', { translator: 'ok' })).job;
  await finished(rt.queue, first);
  const mid = rt.queue.submit(backupRequest('killed-mid-job', '/virtual/b', { translator: 'flaky', options: { mode: 'wait-for-cancel' } })).job;
  await reaches(rt.queue, mid, 'running');
  rt.queue.submit(backupRequest('still-queued', '/virtual/c', { translator: 'ok', priority: 7 }));
  await journal.flush();
  process.stdout.write(JSON.stringify({ dir: rt.dir }) + '\\n');
  setInterval(() => {}, 1000);
})();
`;

function runChildUntilReady(script: string, journal: string): Promise<{ dir: string; exit: Promise<NodeJS.Signals | null> }> {
  const child = spawn(process.execPath, [script, journal], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exit = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line !== undefined) resolve({ dir: (JSON.parse(line) as { dir: string }).dir, exit });
    });
    child.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
  }).then((r) => {
    child.kill('SIGKILL');
    return r as { dir: string; exit: Promise<NodeJS.Signals | null> };
  });
}

describe('JobJournal and recoverJournal', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ebm-journal-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('after a SIGKILL mid-job: fails the running job, re-queues the queued one, keeps the finished one, and a new queue carries on', async () => {
    const journal = path.join(dir, 'state', 'jobs.jsonl');
    const script = path.join(dir, 'child.js');
    await fs.writeFile(script, CHILD);
    const child = await runChildUntilReady(script, journal);
    expect(await child.exit).toBe('SIGKILL');
    // A write torn by the crash: recovery must skip it.
    await fs.appendFile(journal, '{"v":1,"job":{"id":"torn');

    const recovered = await recoverJournal(journal);
    const datasets = (records: readonly { request: JobRequest }[]): string[] => records.map((r) => (r.request.kind === 'backup' ? r.request.dataset : r.request.kind));
    expect(datasets(recovered.finished)).toEqual(['finished-before']);
    expect(datasets(recovered.interrupted)).toEqual(['killed-mid-job']);
    expect(datasets(recovered.requeued)).toEqual(['still-queued']);
    expect(recovered.skippedLines).toBe(1);
    const interrupted = recovered.interrupted[0]!;
    expect(interrupted.state).toBe('failed');
    expect(interrupted.error?.message).toMatch(/^interrupted: the host stopped while the job ran \(the backup job was running \(attempt 1\)\); run it again$/);
    // A typed error of its own (not E_CANCELLED: nobody cancelled it), retryable: running it again may well succeed.
    expect(interrupted.error).toMatchObject({ code: 'E_INTERRUPTED', retryable: true });
    expect((await fs.readFile(journal, 'utf8')).trim().split('\n')).toHaveLength(3);

    // The killed host's repository is valid, and holds only the finished backup.
    const killedRepo = await Repository.open(new LocalBackend(path.join(child.dir, 'repos', 'main')), TEST_PASSWORD);
    expect((await checkRepository(killedRepo)).ok).toBe(true);
    expect((await listSnapshots(killedRepo)).snapshots.map((s) => s.dataset)).toEqual(['finished-before']);
    await fs.rm(child.dir, { recursive: true, force: true });

    // A new host: the journal is reopened, the queue rebuilt from it.
    const rt = await startRuntime();
    try {
      const reopened = await JobJournal.open(journal);
      reopened.attach(rt.queue.events);
      const { requeued, rejected } = rt.queue.restore(recovered);
      expect(rejected).toEqual([]);
      expect(requeued.map((j) => j.id)).toEqual([recovered.requeued[0]!.id]);
      expect(requeued[0]!.createdAt).toBe(recovered.requeued[0]!.createdAt);
      const done = await finished(rt.queue, requeued[0]!);
      expect(done.state).toBe('done');
      expect(rt.queue.record(interrupted.id)?.state).toBe('failed');
      expect(rt.queue.list().map((r) => r.state).sort()).toEqual(['done', 'done', 'failed']);
      await reopened.close();
      const again = await recoverJournal(journal);
      expect(again.requeued).toEqual([]);
      expect(again.interrupted).toEqual([]);
      expect(again.finished.map((r) => r.state).sort()).toEqual(['done', 'done', 'failed']);
    } finally {
      await rt.close();
    }
  });

  it('group-commits a burst of appends and reads them back in order', async () => {
    const file = path.join(dir, 'jobs.jsonl');
    const journal = await JobJournal.open(file);
    const events = new JobEvents();
    journal.attach(events);
    const request: JobRequest = { kind: 'prune', repository: 'main', prune: true, priority: 0 };
    const jobs = Array.from({ length: 50 }, () => new Job({ request, cost: { workers: 1, memoryMiB: 1, ioStreams: 1 } }, events));
    for (const j of jobs) events.emit('job:queued', j.toRecord());
    for (const j of jobs.slice(0, 25)) j.transition('running');
    for (const j of jobs.slice(0, 10)) j.transition('done');
    await journal.close();
    expect((await fs.readFile(file, 'utf8')).trim().split('\n')).toHaveLength(85);
    const r = await recoverJournal(file, { requeue: false });
    expect(r.finished).toHaveLength(10);
    expect(r.interrupted).toHaveLength(40);
    expect(r.interrupted.filter((j) => /was queued/.test(j.error!.message))).toHaveLength(25);
    expect(r.requeued).toHaveLength(0);
  });

  it('migrates a journal left under its former name jobs.sqlite: reads it, writes jobs.jsonl, removes the old file', async () => {
    const state = path.join(dir, 'state');
    await fs.mkdir(state);
    const legacy = path.join(state, LEGACY_JOURNAL_FILE_NAME);
    const journal = await JobJournal.open(legacy);
    const events = new JobEvents();
    journal.attach(events);
    const request = (dataset: string): JobRequest => ({ kind: 'backup', dataset, repository: 'main', translator: 'ok', source: `/virtual/${dataset}`, options: {}, tags: [], full: false, priority: 0, verify: false });
    const cost = { workers: 1, memoryMiB: 1, ioStreams: 1 };
    const [done, running, queued] = ['done', 'running', 'queued'].map((d) => new Job({ request: request(d), cost }, events));
    for (const j of [done!, running!, queued!]) events.emit('job:queued', j.toRecord());
    done!.transition('running');
    done!.transition('done');
    running!.transition('running');
    await journal.close();

    const file = path.join(state, JOURNAL_FILE_NAME);
    expect(file).toBe(path.join(state, 'jobs.jsonl'));
    const r = await recoverJournal(file);
    expect(r.finished.map((j) => j.id)).toEqual([done!.id]);
    expect(r.interrupted.map((j) => [j.id, j.error?.code])).toEqual([[running!.id, 'E_INTERRUPTED']]);
    expect(r.requeued.map((j) => j.id)).toEqual([queued!.id]);
    expect((await fs.readdir(state)).sort()).toEqual(['jobs.jsonl']);
    // The migrated journal is JSON lines under the new name, and reads back the same.
    const again = await recoverJournal(file);
    expect(again.finished.map((j) => j.id).sort()).toEqual([done!.id, running!.id].sort());
    expect(again.requeued.map((j) => j.id)).toEqual([queued!.id]);
  });

  it('treats a missing journal as empty', async () => {
    const r = await recoverJournal(path.join(dir, 'none', 'jobs.jsonl'));
    expect(r).toEqual({ requeued: [], interrupted: [], finished: [], skippedLines: 0 });
  });
});
