import { EbmError } from '@ebm/sdk';
import type { JobRequest } from '../jobs/job-types';
import { exceedsBudget } from './budgets';
import type { QueueBudgets } from './budgets';
import type { CostModel } from './cost-model';
import { describeRequest } from './queue-entry';

/** What the queue knows when a request arrives. */
export interface SubmissionContext {
  readonly closing: boolean;
  readonly costs: CostModel;
  readonly budgets: QueueBudgets;
  readonly waiting: number;
  readonly maxQueued: number;
}

/**
 * Refuses a request the queue must not take, with the reason in the message:
 * E_HOST_SHUTTING_DOWN while the queue closes (HTTP 503, like the runtime's
 * own refusal); E_JOB_REJECTED when its declared cost can never fit the
 * budgets or the queue is full; E_USAGE for a backup deadline already past.
 * Returns the backup's deadline (ms since the epoch), if it has one.
 */
export function checkSubmission(request: JobRequest, ctx: SubmissionContext): number | undefined {
  const what = describeRequest(request);
  if (ctx.closing) throw new EbmError('E_HOST_SHUTTING_DOWN', `${what} refused: the host is shutting down and admits no new jobs`);
  const tooBig = exceedsBudget(ctx.costs.declared(request), ctx.budgets);
  if (tooBig !== undefined) throw new EbmError('E_JOB_REJECTED', `${what} rejected: ${tooBig}; it could never run`, { op: request.kind });
  if (ctx.waiting >= ctx.maxQueued) {
    throw new EbmError('E_JOB_REJECTED', `${what} rejected: the queue is full (${ctx.waiting} jobs waiting, maxQueued ${ctx.maxQueued}); try again later`, { op: request.kind });
  }
  const deadlineText = request.kind === 'backup' ? request.deadline : undefined;
  const deadline = deadlineText !== undefined ? Date.parse(deadlineText) : undefined;
  if (deadline !== undefined && !(deadline > Date.now())) throw new EbmError('E_USAGE', `${what} rejected: deadline: ${deadlineText} has passed`, { op: request.kind });
  return deadline;
}
