import type { RegisterCommand } from '../command-types';
import { collect } from '../command-types';
import type { CliContext } from '../cli-context';
import type { JobRecord } from '../../jobs/job-types';
import { hostRequest } from './host-client';
import { printTable } from './snapshots';

interface HostOptions { hostUrl?: string }

/** `ebm jobs`, `ebm run DATASET`, `ebm cancel JOB`: talk to a running `ebm serve`. */
export const registerJobs: RegisterCommand = (program, run) => {
  program
    .command('jobs')
    .description('list the jobs of a running host (ebm serve)')
    .option('--state <state>', 'only jobs in this state (queued, running, verifying, done, failed, cancelled)')
    .option('-d, --dataset <name>', 'only jobs of this dataset')
    .option('--limit <n>', 'at most this many (newest first)', '50')
    .option('--host-url <url>', 'the host API (or EBM_HOST_URL; default http://127.0.0.1:8950)')
    .action(
      run(async (ctx: CliContext, opts: HostOptions & { state?: string; dataset?: string; limit: string }) => {
        const q = new URLSearchParams({ limit: opts.limit, ...(opts.state ? { state: opts.state } : {}), ...(opts.dataset ? { dataset: opts.dataset } : {}) });
        const { body } = await hostRequest<{ jobs: JobRecord[] }>('GET', `/api/v1/jobs?${q}`, { url: opts.hostUrl });
        if (ctx.output.json) {
          for (const job of body.jobs) ctx.output.line({ type: 'result', op: 'jobs', job });
          return;
        }
        printTable(ctx, ['id', 'kind', 'dataset', 'state', 'attempt', 'created', 'error'], body.jobs.map((j) => [
          j.id.slice(0, 8), j.kind, (j.request as { dataset?: string }).dataset ?? '-', j.state, String(j.attempt), j.createdAt, j.error ? `${j.error.code}: ${j.error.message}` : '',
        ]));
      }),
    );
  program
    .command('run')
    .description('ask a running host to back up a configured dataset now')
    .argument('<dataset>', 'dataset name from the host configuration')
    .option('--full', 'read everything (a new baseline)')
    .option('--tag <tag>', 'extra tag (repeatable)', collect)
    .option('--wait', 'wait until the job is finished and exit with its outcome')
    .option('--host-url <url>', 'the host API (or EBM_HOST_URL; default http://127.0.0.1:8950)')
    .action(
      run(async (ctx: CliContext, dataset: string, opts: HostOptions & { full?: boolean; tag?: string[]; wait?: boolean }) => {
        const { body: job } = await hostRequest<JobRecord>('POST', `/api/v1/datasets/${encodeURIComponent(dataset)}/backup`, {
          url: opts.hostUrl,
          body: { ...(opts.full ? { full: true } : {}), ...(opts.tag ? { tags: opts.tag } : {}) },
        });
        ctx.output.info(`job ${job.id} queued (${job.state})`);
        ctx.output.line({ type: 'result', op: 'run', job });
        if (!opts.wait) return;
        let current = job;
        while (!['done', 'failed', 'cancelled'].includes(current.state)) {
          await new Promise((r) => setTimeout(r, 500));
          current = (await hostRequest<JobRecord>('GET', `/api/v1/jobs/${job.id}`, { url: opts.hostUrl })).body;
        }
        ctx.output.info(`job ${job.id} ${current.state}${current.error ? `: ${current.error.code}: ${current.error.message}` : ''}`);
        ctx.output.line({ type: 'summary', op: 'run', job: current });
        return current.state === 'done' ? 0 : 1;
      }),
    );
  program
    .command('cancel')
    .description('cancel a job of a running host')
    .argument('<job>', 'job id')
    .option('--host-url <url>', 'the host API (or EBM_HOST_URL; default http://127.0.0.1:8950)')
    .action(
      run(async (ctx: CliContext, id: string, opts: HostOptions) => {
        const { body: job } = await hostRequest<JobRecord>('POST', `/api/v1/jobs/${encodeURIComponent(id)}/cancel`, { url: opts.hostUrl });
        ctx.output.info(`job ${job.id}: ${job.state}`);
        ctx.output.line({ type: 'result', op: 'cancel', job });
      }),
    );
};
