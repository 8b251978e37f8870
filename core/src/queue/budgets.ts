import { EbmError } from '@ebm/sdk';
import type { JobCost } from '../jobs/job-types';

/** The host's global budgets (configuration `budgets`). */
export interface QueueBudgets {
  /** Worker threads all running jobs may use together. */
  readonly workers: number;
  /** Memory (MiB) all running jobs may use together. */
  readonly memoryMiB: number;
  /** Concurrent I/O streams on one repository. */
  readonly ioStreamsPerRepository: number;
}

export const DEFAULT_BUDGETS: QueueBudgets = Object.freeze({ workers: 2, memoryMiB: 1024, ioStreamsPerRepository: 2 });

/** Fills defaults; a value that is not a positive integer is E_USAGE naming `budgets.<field>`. */
export function resolveBudgets(partial: Partial<QueueBudgets> = {}): QueueBudgets {
  const budgets = { ...DEFAULT_BUDGETS, ...Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) } as QueueBudgets;
  for (const key of ['workers', 'memoryMiB', 'ioStreamsPerRepository'] as const) {
    const v = budgets[key];
    if (!Number.isInteger(v) || v < 1) throw new EbmError('E_USAGE', `budgets.${key}: must be a positive integer, got ${JSON.stringify(v)}`, { subject: `budgets.${key}` });
  }
  return Object.freeze(budgets);
}

/** Why a cost can never fit the budget, or undefined when it can (alone). */
export function exceedsBudget(cost: JobCost, budgets: QueueBudgets): string | undefined {
  if (cost.workers > budgets.workers) return `it needs ${cost.workers} worker threads but budgets.workers is ${budgets.workers}`;
  if (cost.memoryMiB > budgets.memoryMiB) return `it needs ${cost.memoryMiB} MiB of memory but budgets.memoryMiB is ${budgets.memoryMiB}`;
  if (cost.ioStreams > budgets.ioStreamsPerRepository) return `it needs ${cost.ioStreams} I/O streams but budgets.ioStreamsPerRepository is ${budgets.ioStreamsPerRepository}`;
  return undefined;
}

/** What running jobs use right now. */
export interface BudgetUsage {
  readonly workers: number;
  readonly memoryMiB: number;
  readonly ioStreams: Readonly<Record<string, number>>;
}
