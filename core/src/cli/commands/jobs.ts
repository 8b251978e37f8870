import { EbmError } from '@ebm/sdk';
import type { RegisterCommand } from '../command-types';
import { collect } from '../command-types';
import type { CliContext } from '../cli-context';
import type { JobRecord } from '../../jobs/job-types';
import { hostRequest } from './host-client';
import { printTable } from './snapshots';

interface HostOptions { hostUrl?: string }

/** `ebm jobs`, `ebm run DATASET`, `ebm verify`, `ebm cancel JOB`: talk to a running `ebm serve`. */
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
        return reportQueued(ctx, 'run', job, opts);
      }),
    );
  program
    .command('verify')
    .description('ask a running host to verify a snapshot (re-read all its data) or check a whole repository')
    .argument('[snapshot]', 'snapshot id (or a unique prefix, or "latest" with --dataset) to verify')
    .option('--repository <name>', 'repository name from the host configuration (without a snapshot: check the whole repository)')
    .option('-d, --dataset <name>', 'with "latest": the latest snapshot of this dataset')
    .option('--read-data-subset <n%|n/m>', 'whole-repository check: re-read this share of the packs (e.g. 10% or 2/5)')
    .option('--wait', 'wait until the job is finished and exit with its outcome')
    .option('--host-url <url>', 'the host API (or EBM_HOST_URL; default http://127.0.0.1:8950)')
    .action(
      run(async (ctx: CliContext, snapshot: string | undefined, opts: HostOptions & { repository?: string; dataset?: string; readDataSubset?: string; wait?: boolean }) => {
        if (snapshot === undefined && opts.repository === undefined) {
          throw new EbmError('E_USAGE', 'give a snapshot to verify, or --repository NAME to check a whole repository (ebm verify --help)');
        }
        // The host validates the rest of the combination and answers 400 naming the field at fault.
        const { body: job } = await hostRequest<JobRecord>('POST', '/api/v1/verifications', {
          url: opts.hostUrl,
          body: {
            ...(snapshot !== undefined ? { snapshot } : {}),
            ...(opts.repository !== undefined ? { repository: opts.repository } : {}),
            ...(opts.dataset !== undefined ? { dataset: opts.dataset } : {}),
            ...(opts.readDataSubset !== undefined ? { readDataSubset: opts.readDataSubset } : {}),
          },
        });
        return reportQueued(ctx, 'verify', job, opts);
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

/**
 * Reports a job the host queued; with --wait, polls it until it ends and
 * returns the exit code of its outcome (0 done, 1 failed or cancelled).
 */
async function reportQueued(ctx: CliContext, op: string, job: JobRecord, opts: HostOptions & { wait?: boolean }): Promise<number | undefined> {
  ctx.output.info(`job ${job.id} queued (${job.state})`);
  ctx.output.line({ type: 'result', op, job });
  if (!opts.wait) return undefined;
  let current = job;
  while (!['done', 'failed', 'cancelled'].includes(current.state)) {
    await new Promise((r) => setTimeout(r, 500));
    current = (await hostRequest<JobRecord>('GET', `/api/v1/jobs/${encodeURIComponent(job.id)}`, { url: opts.hostUrl })).body;
  }
  ctx.output.info(`job ${job.id} ${current.state}${current.error ? `: ${current.error.code}: ${current.error.message}` : ''}`);
  ctx.output.line({ type: 'summary', op, job: current });
  return current.state === 'done' ? 0 : 1;
}
