import { EventEmitter } from 'eventemitter3';
import { EbmError } from '@ebm/sdk';
import type { JsonValue } from '@ebm/sdk';
import { Job, TransitionPatch } from '../jobs/job';
import { JobEvents } from '../jobs/job-events';
import type { JobCost, JobRecord, JobRequest, JobState, RetryPolicy } from '../jobs/job-types';
import type { RecoveredJournal } from '../jobs/journal-recovery';
import { BudgetUsage, QueueBudgets, resolveBudgets } from './budgets';
import type { CostModel } from './cost-model';
import type { JobExecutor } from './job-executor';
import { compareForAdmission } from './ordering';
import { armDeadline, identityOf, newQueueEntry, QueueEntry } from './queue-entry';
import { checkSubmission } from './submission';
import { stopWithGrace } from './graceful-stop';
import { resolveRetryPolicy } from './retry';
import { deadlineError, failureOutcome, isDeadline } from './failure-outcome';
import { JobHistory } from './job-history';
import { cancelRecord, plainRecord } from './queue-errors';
import { requeueRecovered } from './recovery';
import { ResourceLedger } from './resource-ledger';
import { Reservations } from './reservations';
import { RssUsageMeter, UsageMeter, UsageProbe } from './usage-meter';
import { IdleWaiters } from './idle-waiters';
import type { JobQueueOptions, QueueEventMap, SubmitResult } from './queue-types';

export type { AdmitEvent, JobQueueOptions, QueueEventMap, SubmitResult } from './queue-types';

/**
 * The resource-aware queue (docs/runtime.md). Admits a waiting job when its
 * cost fits what running jobs leave of the budgets, in order of effective
 * priority then age; one live job per dataset (and per restore target);
 * forget/prune alone on their repository; backups' verifications one at a
 * time in a serial lane ordered with the other waiting jobs by the time
 * they entered it. Retries retryable failures with backoff, cancels on
 * request, and stops a backup at its deadline (failed, E_DEADLINE_EXCEEDED,
 * never retried). All state changes go through Job.
 */
export class JobQueue {
  readonly events: JobEvents;
  readonly queueEvents = new EventEmitter<QueueEventMap>();
  readonly budgets: QueueBudgets;
  readonly retryPolicy: RetryPolicy;
  readonly #executor: JobExecutor;
  readonly #costs: CostModel;
  readonly #agingIntervalMs: number;
  readonly #maxQueued: number;
  readonly #meter: UsageMeter;
  readonly #logLimit: number | undefined;
  readonly #live = new Map<string, QueueEntry>();
  readonly #waiting = new Set<QueueEntry>();
  readonly #active = new Set<QueueEntry>();
  readonly #keys = new Map<string, QueueEntry>();
  readonly #queuedByIdentity = new Map<string, QueueEntry>();
  readonly #ledger: ResourceLedger;
  readonly #reservations: Reservations;
  readonly #history: JobHistory;
  readonly #idle = new IdleWaiters(() => ({ active: this.#active.size, waiting: this.#waiting.size }));
  #verifying: QueueEntry | undefined;
  #seq = 0;
  #pumpScheduled = false;
  #wakeTimer: NodeJS.Timeout | undefined;
  #closing = false;

  constructor(options: JobQueueOptions) {
    this.#executor = options.executor;
    this.#costs = options.costs;
    this.budgets = resolveBudgets(options.budgets);
    this.#ledger = new ResourceLedger(this.budgets);
    this.#reservations = new Reservations(this.#ledger);
    this.retryPolicy = resolveRetryPolicy(options.retry);
    this.#agingIntervalMs = options.agingIntervalMs ?? 60_000;
    this.#maxQueued = options.maxQueued ?? 10_000;
    this.#history = new JobHistory(options.historyLimit ?? 1000);
    this.#meter = options.usageMeter ?? new RssUsageMeter();
    this.#logLimit = options.logLimit;
    this.events = options.events ?? new JobEvents();
  }

  /**
   * Queues a validated request, or throws why not (checkSubmission: the queue
   * is closing, the job can never fit or the queue is full, a deadline has
   * passed). An identical backup request that is still queued is coalesced:
   * the existing job is returned.
   */
  submit(request: JobRequest, restored?: { readonly id: string; readonly createdAt: string; readonly attempt: number }): SubmitResult {
    const identity = identityOf(request);
    const same = identity !== undefined && restored === undefined && !this.#closing ? this.#queuedByIdentity.get(identity) : undefined;
    if (same !== undefined) return { job: same.job, coalesced: true };
    const deadline = checkSubmission(request, { closing: this.#closing, costs: this.#costs, budgets: this.budgets, waiting: this.#waiting.size, maxQueued: this.#maxQueued });

    const job = new Job({ request, cost: this.#costs.estimate(request), ...(restored ?? {}), ...(this.#logLimit !== undefined ? { logLimit: this.#logLimit } : {}) }, this.events);
    const entry = newQueueEntry(job, this.#seq++, identity);
    this.#live.set(job.id, entry);
    this.#waiting.add(entry);
    if (identity !== undefined) this.#queuedByIdentity.set(identity, entry);
    if (deadline !== undefined) this.#armDeadline(entry, deadline);
    this.events.emit('job:queued', job.toRecord());
    this.#schedulePump();
    return { job, coalesced: false };
  }

  /**
   * Runs `fn`, work outside any job (a live query of plugin `pluginId`), charged
   * to the budgets like a job of that plugin: one worker and its declared
   * memory (at most the budgets: a bigger one runs alone), no repository I/O
   * stream. Waits for room ahead of queued jobs. E_HOST_SHUTTING_DOWN while
   * the queue closes, E_CANCELLED when `signal` aborts while it waits.
   */
  async withBudget<T>(pluginId: string, what: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    if (this.#closing) throw new EbmError('E_HOST_SHUTTING_DOWN', `${what} refused: the host is shutting down`);
    return this.#reservations.run(this.#ledger.clamp(this.#costs.queryCost(pluginId)), what, signal, fn, () => this.#schedulePump());
  }

  /** Rebuilds the queue's view after a restart: finished and interrupted jobs go to the history, queued ones are submitted again. */
  restore(recovered: RecoveredJournal): { readonly requeued: Job[]; readonly rejected: JobRecord[] } {
    return requeueRecovered(recovered, this.#history, (record) => this.submit(record.request, { id: record.id, createdAt: record.createdAt, attempt: record.attempt }).job);
  }

  /** Cancels a job: a waiting one at once, a running one through its signal. False when it is unknown or already finished. */
  cancel(id: string, reason = 'cancelled by the operator'): boolean {
    const entry = this.#live.get(id);
    if (entry === undefined || entry.job.terminal) return false;
    this.#cancelEntry(entry, new EbmError('E_CANCELLED', `job ${id} ${reason}`, { subject: id }));
    return true;
  }

  /** A live (not yet finished) job. */
  get(id: string): Job | undefined {
    return this.#live.get(id)?.job;
  }

  /** The record of any job the queue knows (live or remembered). */
  record(id: string): JobRecord | undefined {
    return this.#live.get(id)?.job.toRecord() ?? this.#history.get(id);
  }

  /** Live jobs (oldest first) then remembered ones (newest first), optionally of some states. */
  list(states?: readonly JobState[]): JobRecord[] {
    const live = [...this.#live.values()].sort((a, b) => a.seq - b.seq).map((e) => e.job.toRecord());
    const all = [...live, ...this.#history.newestFirst()];
    return states === undefined ? all : all.filter((r) => states.includes(r.state));
  }

  usage(): BudgetUsage {
    return this.#ledger.usage();
  }

  get waitingCount(): number {
    return this.#waiting.size;
  }

  get activeCount(): number {
    return this.#active.size;
  }

  /** Resolves when nothing waits and nothing runs. */
  drain(): Promise<void> {
    return this.#idle.wait(false);
  }

  /**
   * Stops admitting; lets running jobs finish for up to `graceMs`, then
   * cancels them (E_CANCELLED) and waits for them to stop. Waiting jobs stay
   * queued (the journal re-queues them at the next start).
   */
  async close(options: { readonly graceMs?: number } = {}): Promise<void> {
    this.#closing = true;
    this.#reservations.failAll(new EbmError('E_HOST_SHUTTING_DOWN', 'the host is shutting down: a live query waiting for a worker was refused'));
    clearTimeout(this.#wakeTimer);
    await stopWithGrace(this.#idle.wait(true), this.#active, options.graceMs);
    for (const entry of this.#live.values()) clearTimeout(entry.deadlineTimer);
  }

  // ---- admission

  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#closing) return;
    const now = Date.now();
    if (!this.#reservations.admit()) return this.#armWake(now); // live queries first; a release pumps again
    const ready = [...this.#waiting].filter((e) => e.notBefore <= now).sort((a, b) => compareForAdmission(a, b, now, this.#agingIntervalMs));
    const reserved = new Set<string>();
    for (const entry of ready) {
      if (entry.lane === 'verify' ? this.#verifying !== undefined : entry.key !== undefined && this.#keys.has(entry.key)) continue;
      if (reserved.has(entry.repository)) continue;
      const cost = entry.lane === 'verify' ? this.#costs.verifyCost : this.#ledger.clamp(this.#costs.estimate(entry.job.request));
      const verdict = this.#ledger.verdict(entry, cost);
      if (verdict === 'hold-repository') reserved.add(entry.repository);
      if (verdict === 'block') break;
      if (verdict !== 'fits') continue;
      this.#start(entry, cost);
    }
    this.#armWake(now);
  }

  #armWake(now: number): void {
    clearTimeout(this.#wakeTimer);
    let next = Infinity;
    for (const e of this.#waiting) if (e.notBefore > now) next = Math.min(next, e.notBefore);
    if (next !== Infinity) this.#wakeTimer = setTimeout(() => this.#schedulePump(), next - now);
  }

  #start(entry: QueueEntry, cost: JobCost): void {
    const { job } = entry;
    this.#waiting.delete(entry);
    if (entry.identity !== undefined && this.#queuedByIdentity.get(entry.identity) === entry) this.#queuedByIdentity.delete(entry.identity);
    this.#active.add(entry);
    entry.cost = cost;
    this.#ledger.take(entry, cost);
    if (entry.key !== undefined) this.#keys.set(entry.key, entry);
    this.queueEvents.emit('admit', { jobId: job.id, lane: entry.lane, cost, usage: this.usage() });

    if (entry.lane === 'verify') {
      this.#verifying = entry;
      job.log('info', 'verification started (serial lane)');
      return launch(() => this.#executor.verify(job, job.signal), (result, err) => this.#afterVerify(entry, result, err));
    }
    job.setCost(cost);
    job.transition('running');
    const probe = job.request.kind === 'backup' ? this.#meter.begin() : undefined;
    launch(() => this.#executor.run(job, job.signal), (result, err) => this.#afterRun(entry, probe, result, err));
  }

  #release(entry: QueueEntry): void {
    const cost = entry.cost!;
    this.#active.delete(entry);
    entry.cost = undefined;
    this.#ledger.release(entry, cost);
    if (this.#verifying === entry) this.#verifying = undefined;
    this.queueEvents.emit('release', { jobId: entry.job.id, lane: entry.lane, usage: this.usage() });
  }

  // ---- outcomes

  #afterRun(entry: QueueEntry, probe: UsageProbe | undefined, result: Record<string, JsonValue> | undefined, err: unknown): void {
    const peakMiB = probe?.end();
    this.#release(entry);
    const { job } = entry;
    const request = job.request;
    if (result !== undefined) {
      if (peakMiB !== undefined && request.kind === 'backup') {
        const learned = this.#costs.record(request.translator, request.dataset, peakMiB);
        job.log('debug', `measured ${peakMiB.toFixed(1)} MiB; estimate for ${request.translator}/${request.dataset} now ${learned.ewmaMiB.toFixed(1)} MiB`);
      }
      if (request.kind === 'backup' && request.verify) {
        clearTimeout(entry.deadlineTimer); // the deadline covers the backup, not its verification
        job.transition('verifying', { result });
        entry.lane = 'verify';
        entry.since = Date.now();
        entry.notBefore = 0;
        this.#waiting.add(entry);
      } else {
        this.#finish(entry, 'done', { result });
      }
    } else {
      const outcome = failureOutcome(err, job, this.#retryPolicyOf(request));
      if (outcome.kind === 'retry') {
        if (entry.key !== undefined && this.#keys.get(entry.key) === entry) this.#keys.delete(entry.key);
        job.log('warn', outcome.note);
        job.transition('queued', { error: outcome.error });
        entry.notBefore = Date.now() + outcome.delayMs;
        this.#waiting.add(entry);
      } else {
        if (outcome.kind === 'failed' && outcome.note !== undefined) job.log('error', outcome.note);
        this.#finish(entry, outcome.kind, { error: outcome.error });
      }
    }
    this.#schedulePump();
    this.#idle.check();
  }

  /** A backup's own policy (its dataset's `retry`), else the queue's. */
  #retryPolicyOf(request: JobRequest): RetryPolicy {
    return request.kind === 'backup' && request.retry !== undefined ? request.retry : this.retryPolicy;
  }

  #afterVerify(entry: QueueEntry, result: Record<string, JsonValue> | undefined, err: unknown): void {
    this.#release(entry);
    const { job } = entry;
    if (result !== undefined) this.#finish(entry, 'done', { result: { verification: result } });
    else if (job.signal.aborted) this.#finish(entry, 'cancelled', { error: cancelRecord(job.signal, plainRecord(err)) });
    else this.#finish(entry, 'failed', { error: plainRecord(err) });
    this.#schedulePump();
    this.#idle.check();
  }

  #cancelEntry(entry: QueueEntry, error: EbmError): void {
    entry.job.abort(error);
    if (this.#active.has(entry)) return; // the executor stops; #afterRun/#afterVerify records the cancellation
    this.#waiting.delete(entry);
    this.#finish(entry, isDeadline(error) ? 'failed' : 'cancelled', { error: plainRecord(error) });
    this.#schedulePump();
    this.#idle.check();
  }

  #armDeadline(entry: QueueEntry, deadline: number): void {
    armDeadline(entry, deadline, () => {
      const { job } = entry;
      if (job.state !== 'queued' && job.state !== 'running') return;
      // Stops the job through its signal like a cancel, but it ends failed with E_DEADLINE_EXCEEDED (see failureOutcome).
      this.#cancelEntry(entry, deadlineError(job.id, job.state, deadline, job.request.kind));
    });
  }

  #finish(entry: QueueEntry, state: 'done' | 'failed' | 'cancelled', patch: TransitionPatch): void {
    const { job } = entry;
    clearTimeout(entry.deadlineTimer);
    this.#live.delete(job.id);
    if (entry.key !== undefined && this.#keys.get(entry.key) === entry) this.#keys.delete(entry.key);
    if (entry.identity !== undefined && this.#queuedByIdentity.get(entry.identity) === entry) this.#queuedByIdentity.delete(entry.identity);
    job.transition(state, patch);
    this.#history.remember(job.toRecord());
  }
}

/** Runs `work` after the current call returns (a synchronous throw becomes a failure too) and hands its outcome to `after`. */
function launch(work: () => Promise<Record<string, JsonValue>>, after: (result: Record<string, JsonValue> | undefined, err: unknown) => void): void {
  Promise.resolve()
    .then(work)
    .then(
      (result) => after(result, undefined),
      (err: unknown) => after(undefined, err),
    );
}
