import type { Job } from '../jobs/job';
import type { JobEvents } from '../jobs/job-events';
import type { JobCost, RetryPolicy } from '../jobs/job-types';
import type { BudgetUsage, QueueBudgets } from './budgets';
import type { CostModel } from './cost-model';
import type { JobExecutor } from './job-executor';
import type { UsageMeter } from './usage-meter';

export interface JobQueueOptions {
  readonly executor: JobExecutor;
  readonly costs: CostModel;
  readonly budgets?: Partial<QueueBudgets>;
  readonly retry?: Partial<RetryPolicy>;
  /** One point of priority per this many ms waited (anti-starvation). Default 60 000. */
  readonly agingIntervalMs?: number;
  /** Jobs waiting at most; beyond, submit rejects. Default 10 000. */
  readonly maxQueued?: number;
  /** Finished jobs remembered for get/list. Default 1000. */
  readonly historyLimit?: number;
  readonly usageMeter?: UsageMeter;
  readonly events?: JobEvents;
  readonly logLimit?: number;
}

export interface SubmitResult {
  readonly job: Job;
  /** True when an identical backup was already queued and this request joined it. */
  readonly coalesced: boolean;
}

export interface AdmitEvent {
  readonly jobId: string;
  readonly lane: 'main' | 'verify';
  readonly cost: JobCost;
  /** Usage after the admission. */
  readonly usage: BudgetUsage;
}

export interface QueueEventMap {
  admit: [AdmitEvent];
  release: [{ readonly jobId: string; readonly lane: 'main' | 'verify'; readonly usage: BudgetUsage }];
}
