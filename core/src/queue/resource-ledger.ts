import type { JobCost } from '../jobs/job-types';
import type { BudgetUsage, QueueBudgets } from './budgets';

interface RepoState {
  jobs: number;
  io: number;
  exclusive: boolean;
}

/** What the ledger needs to know of a job it admits. */
export interface LedgerEntry {
  readonly repository: string;
  /** forget/prune: alone on their repository. */
  readonly exclusive: boolean;
}

/** Why an entry cannot start now: 'skip' lets later entries try; 'block' stops the admission pass (global budgets). */
export type AdmissionVerdict = 'fits' | 'skip' | 'hold-repository' | 'block';

/**
 * The queue's book of what running jobs hold: worker threads and memory
 * against the global budgets, I/O streams and exclusivity per repository.
 * Every admission is a take() matched by exactly one release().
 */
export class ResourceLedger {
  readonly #budgets: QueueBudgets;
  readonly #repos = new Map<string, RepoState>();
  #workers = 0;
  #memoryMiB = 0;

  constructor(budgets: QueueBudgets) {
    this.#budgets = budgets;
  }

  /**
   * Whether `entry` at `cost` may start now. An exclusive job waiting for a
   * busy repository holds it ('hold-repository': nothing new starts there
   * until it ran); a full global budget blocks the line ('block': letting
   * smaller jobs pass would starve a big one).
   */
  verdict(entry: LedgerEntry, cost: JobCost): AdmissionVerdict {
    const repo = this.#repo(entry.repository);
    if (entry.exclusive && repo.jobs > 0) return 'hold-repository';
    if (repo.exclusive) return 'skip';
    if (repo.io + cost.ioStreams > this.#budgets.ioStreamsPerRepository) return 'skip';
    if (this.#workers + cost.workers > this.#budgets.workers || this.#memoryMiB + cost.memoryMiB > this.#budgets.memoryMiB) return 'block';
    return 'fits';
  }

  take(entry: LedgerEntry, cost: JobCost): void {
    this.#workers += cost.workers;
    this.#memoryMiB += cost.memoryMiB;
    const repo = this.#repo(entry.repository);
    repo.jobs++;
    repo.io += cost.ioStreams;
    repo.exclusive = entry.exclusive;
  }

  release(entry: LedgerEntry, cost: JobCost): void {
    this.#workers -= cost.workers;
    this.#memoryMiB -= cost.memoryMiB;
    const repo = this.#repo(entry.repository);
    repo.jobs--;
    repo.io -= cost.ioStreams;
    if (entry.exclusive) repo.exclusive = false;
  }

  /** A cost no larger than the budgets (a job measured bigger than the budget still runs, alone). */
  clamp(cost: JobCost): JobCost {
    const b = this.#budgets;
    return { workers: Math.min(cost.workers, b.workers), memoryMiB: Math.min(cost.memoryMiB, b.memoryMiB), ioStreams: Math.min(cost.ioStreams, b.ioStreamsPerRepository) };
  }

  usage(): BudgetUsage {
    const ioStreams: Record<string, number> = {};
    for (const [repo, s] of this.#repos) if (s.io > 0) ioStreams[repo] = s.io;
    return { workers: this.#workers, memoryMiB: this.#memoryMiB, ioStreams };
  }

  #repo(name: string): RepoState {
    let state = this.#repos.get(name);
    if (state === undefined) {
      state = { jobs: 0, io: 0, exclusive: false };
      this.#repos.set(name, state);
    }
    return state;
  }
}
