import { EbmError } from '@ebm/sdk';
import { Job } from '../jobs/job';
import { JobEvents } from '../jobs/job-events';
import type { JobRecord } from '../jobs/job-types';
import { JobHistory } from './job-history';
import { backupRequest } from './queue.test-support';
import { requeueRecovered } from './recovery';

function record(id: string, state: JobRecord['state']): JobRecord {
  return { id, kind: 'backup', request: backupRequest(id, `/data/${id}`), state, createdAt: '2026-11-22T10:00:00.000Z', attempt: 1, cost: { workers: 1, memoryMiB: 64, ioStreams: 1 }, log: [] };
}

describe('requeueRecovered (a host restarting from its journal)', () => {
  it('remembers finished and interrupted jobs, submits queued ones again, and fails (not loses) one the queue now refuses', () => {
    const history = new JobHistory(100);
    const events = new JobEvents();
    const recovered = {
      finished: [record('done-newer', 'done'), record('done-older', 'done')],
      interrupted: [{ ...record('was-running', 'failed'), error: { code: 'E_INTERRUPTED' as const, message: 'interrupted', retryable: true } }],
      requeued: [record('fits', 'queued'), record('too-big', 'queued')],
      skippedLines: 0,
    };
    const { requeued, rejected } = requeueRecovered(recovered, history, (r) => {
      if (r.id === 'too-big') throw new EbmError('E_JOB_REJECTED', 'backup too-big rejected: it needs 9000 MiB, the budget is 4096 MiB; it could never run');
      return new Job({ request: r.request, cost: r.cost, id: r.id, createdAt: r.createdAt, attempt: r.attempt }, events);
    });
    expect(requeued.map((j) => [j.id, j.createdAt])).toEqual([['fits', '2026-11-22T10:00:00.000Z']]);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ id: 'too-big', state: 'failed', error: { code: 'E_JOB_REJECTED', message: expect.stringContaining('could never run') } });
    expect(rejected[0]!.error).not.toHaveProperty('stack');
    // The history lists the refused job first (newest), then the interrupted one, then the finished ones newest first.
    expect(history.newestFirst().map((r) => `${r.id}:${r.state}`)).toEqual(['too-big:failed', 'was-running:failed', 'done-newer:done', 'done-older:done']);
  });
});
