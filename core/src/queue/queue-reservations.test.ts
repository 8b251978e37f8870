import { EbmError } from '@ebm/sdk';
import type { JobRequest } from '../jobs/job-types';
import { backupRequest, finished, reaches, Runtime, startRuntime } from './queue.test-support';

const blocker = (dataset: string): JobRequest => backupRequest(dataset, '/virtual/blocker', { translator: 'flaky', options: { mode: 'wait-for-cancel' } });
const ok = (dataset: string): JobRequest => backupRequest(dataset, `/virtual/${dataset}`, { translator: 'ok' });

/** Live queries outside jobs (withBudget) take a worker from the budgets like a job, ahead of queued jobs. */
describe('JobQueue.withBudget (one worker)', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime({ queue: { budgets: { workers: 1, memoryMiB: 1024 } } });
  });
  afterAll(async () => {
    await rt.close();
  });

  it('waits while a job holds the only worker, then goes ahead of jobs queued meanwhile', async () => {
    const { queue } = rt;
    const block = queue.submit(blocker('res-blocker')).job;
    await reaches(queue, block, 'running');
    const order: string[] = [];
    let during: number | undefined;
    const query = queue.withBudget('ok', 'a live query', undefined, async () => {
      order.push('query');
      during = queue.usage().workers;
      await new Promise((r) => setTimeout(r, 50));
    });
    const queued = queue.submit(ok('res-after')).job;
    queue.events.on('job:state', ({ job, to }) => {
      if (to === 'running' && job.id === queued.id) order.push('job');
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(order).toEqual([]); // the worker is the blocker's
    queue.cancel(block.id);
    await query;
    await finished(queue, queued);
    expect(order).toEqual(['query', 'job']);
    expect(during).toBe(1);
    expect(queue.usage().workers).toBe(0);
  });

  it('gives the worker back when the query fails, and a query cancelled while it waits never runs', async () => {
    const { queue } = rt;
    await expect(queue.withBudget('ok', 'a failing query', undefined, () => Promise.reject(new EbmError('E_SOURCE_NOT_FOUND', 'gone')))).rejects.toMatchObject({ code: 'E_SOURCE_NOT_FOUND' });
    expect(queue.usage().workers).toBe(0);

    const block = queue.submit(blocker('res-blocker-2')).job;
    await reaches(queue, block, 'running');
    const controller = new AbortController();
    let ran = false;
    const waiting = queue.withBudget('ok', 'a query', controller.signal, async () => {
      ran = true;
    });
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'E_CANCELLED', message: expect.stringMatching(/while it waited for a worker/) });
    queue.cancel(block.id);
    await finished(queue, block);
    const next = queue.submit(ok('res-next')).job;
    expect((await finished(queue, next)).state).toBe('done'); // the cancelled query held nothing
    expect(ran).toBe(false);
  });
});
