import { EbmError, isEbmError } from '@ebm/sdk';
import { Job } from './job';
import { JobEvents } from './job-events';
import type { JobRecord, JobRequest, JobState } from './job-types';

const request: JobRequest = { kind: 'backup', dataset: 'home', repository: 'main', translator: 'filesystem', source: '/home', options: {}, tags: [], full: false, priority: 0, verify: false };
const cost = { workers: 1, memoryMiB: 128, ioStreams: 1 };

function walk(job: Job, states: JobState[]): void {
  for (const s of states) job.transition(s);
}

describe('Job', () => {
  it('follows the state machine and refuses illegal moves with E_INTERNAL naming both states', () => {
    const legal: JobState[][] = [
      ['running', 'done'],
      ['running', 'verifying', 'done'],
      ['running', 'verifying', 'failed'],
      ['running', 'queued', 'running', 'failed'],
      ['cancelled'],
      ['running', 'cancelled'],
    ];
    for (const path of legal) expect(() => walk(new Job({ request, cost }, new JobEvents()), path)).not.toThrow();
    const illegal: Array<[JobState[], JobState]> = [
      [[], 'verifying'],
      [[], 'done'],
      [['running', 'done'], 'running'],
      [['cancelled'], 'queued'],
      [['running', 'verifying'], 'queued'],
      [['running', 'failed'], 'failed'],
    ];
    for (const [path, to] of illegal) {
      const job = new Job({ request, cost }, new JobEvents());
      walk(job, path);
      let caught: unknown;
      try {
        job.transition(to);
      } catch (err) {
        caught = err;
      }
      expect(isEbmError(caught) && caught.code).toBe('E_INTERNAL');
      expect((caught as Error).message).toContain(`illegal state change ${job.state} → ${to}`);
    }
  });

  it('counts attempts, records times, errors and results, and emits events', () => {
    const events = new JobEvents();
    const seen: string[] = [];
    const done: JobRecord[] = [];
    events.on('job:state', ({ from, to }) => seen.push(`${from}>${to}`));
    events.on('job:done', (r) => done.push(r));
    events.on('job:progress', ({ progress }) => seen.push(`progress ${progress.files}`));
    const job = new Job({ request, cost }, events);
    expect(job.id).toMatch(/^[0-9a-f-]{36}$/);
    job.transition('running');
    job.setProgress({ files: 3 });
    job.transition('queued', { error: new EbmError('E_PLUGIN_CRASHED', 'worker died').toRecord() });
    expect(job.toRecord().error).toEqual({ code: 'E_PLUGIN_CRASHED', message: 'worker died', retryable: true });
    job.transition('running');
    expect(job.error).toBeUndefined();
    job.transition('done', { result: { snapshotId: 'abc' } });
    const r = job.toRecord();
    expect(r).toMatchObject({ state: 'done', attempt: 2, result: { snapshotId: 'abc' }, progress: { files: 3 } });
    expect(Date.parse(r.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(r.startedAt!));
    expect(seen).toEqual(['queued>running', 'progress 3', 'running>queued', 'queued>running', 'running>done']);
    expect(done.map((d) => d.id)).toEqual([job.id]);
  });

  it('keeps only the last lines of its log', () => {
    const job = new Job({ request, cost, logLimit: 5 }, new JobEvents());
    for (let i = 0; i < 12; i++) job.log('info', `line ${i}`);
    expect(job.toRecord().log.map((l) => l.message)).toEqual(['line 7', 'line 8', 'line 9', 'line 10', 'line 11']);
  });

  it('aborts its signal once with the reason', () => {
    const job = new Job({ request, cost }, new JobEvents());
    const reason = new EbmError('E_CANCELLED', 'first');
    job.abort(reason);
    job.abort(new EbmError('E_CANCELLED', 'second'));
    expect(job.signal.aborted).toBe(true);
    expect(job.signal.reason).toBe(reason);
  });
});
