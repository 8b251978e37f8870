import { randomUUID } from 'node:crypto';
import { EbmError } from '@ebm/sdk';
import type { ErrorRecord, JsonValue, ProgressUpdate } from '@ebm/sdk';
import { JobEvents } from './job-events';
import { assertTransition, isTerminal } from './job-state';
import type { JobCost, JobKind, JobLogLine, JobRecord, JobRequest, JobState } from './job-types';

/** Lines of a job's log kept in memory (the full log goes to the structured log). */
export const DEFAULT_LOG_LIMIT = 200;

export interface JobInit {
  readonly request: JobRequest;
  readonly cost: JobCost;
  /** Default: a new uuid. Given when a job is rebuilt from the journal. */
  readonly id?: string;
  readonly createdAt?: string;
  /** Attempts already made (a rebuilt job keeps counting). */
  readonly attempt?: number;
  readonly logLimit?: number;
}

export interface TransitionPatch {
  readonly error?: ErrorRecord;
  readonly result?: Record<string, JsonValue>;
}

/**
 * One unit of work of the runtime: a validated request, its state, progress,
 * a bounded log and a cancellation signal. State changes go through
 * `transition`, which refuses illegal moves (E_INTERNAL) and emits events.
 * The queue owns the transitions; everyone else reads `toRecord()`.
 */
export class Job {
  readonly id: string;
  readonly kind: JobKind;
  readonly request: JobRequest;
  readonly createdAt: string;
  readonly #events: JobEvents;
  readonly #controller = new AbortController();
  readonly #logLimit: number;
  #state: JobState = 'queued';
  #cost: JobCost;
  #attempt: number;
  #startedAt: string | undefined;
  #finishedAt: string | undefined;
  #progress: ProgressUpdate | undefined;
  #error: ErrorRecord | undefined;
  #result: Record<string, JsonValue> | undefined;
  #log: JobLogLine[] = [];

  constructor(init: JobInit, events: JobEvents) {
    this.id = init.id ?? randomUUID();
    this.kind = init.request.kind;
    this.request = init.request;
    this.createdAt = init.createdAt ?? new Date().toISOString();
    this.#cost = init.cost;
    this.#attempt = init.attempt ?? 0;
    this.#logLimit = Math.max(1, init.logLimit ?? DEFAULT_LOG_LIMIT);
    this.#events = events;
  }

  get state(): JobState {
    return this.#state;
  }

  get attempt(): number {
    return this.#attempt;
  }

  get cost(): JobCost {
    return this.#cost;
  }

  get error(): ErrorRecord | undefined {
    return this.#error;
  }

  get result(): Readonly<Record<string, JsonValue>> | undefined {
    return this.#result;
  }

  get terminal(): boolean {
    return isTerminal(this.#state);
  }

  /** Aborted when the job is cancelled (by an operator, its deadline or shutdown); its reason is the EbmError. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** The cost the queue charged when it admitted the job (learned costs change between attempts). */
  setCost(cost: JobCost): void {
    this.#cost = cost;
  }

  /**
   * Moves to `to` (throws E_INTERNAL on an illegal move). Entering 'running'
   * starts a new attempt; a terminal state records the finish time. Emits
   * job:state, and job:done for a terminal state.
   */
  transition(to: JobState, patch: TransitionPatch = {}): void {
    const from = this.#state;
    assertTransition(this.id, from, to);
    const now = new Date().toISOString();
    this.#state = to;
    if (to === 'running') {
      this.#attempt++;
      this.#startedAt ??= now;
      this.#error = undefined;
    }
    if (patch.error !== undefined) this.#error = stripStack(patch.error);
    if (patch.result !== undefined) this.#result = { ...this.#result, ...patch.result };
    if (isTerminal(to)) this.#finishedAt = now;
    const record = this.toRecord();
    this.#events.emit('job:state', { job: record, from, to });
    if (isTerminal(to)) this.#events.emit('job:done', record);
  }

  /** Cancels cooperatively: aborts the signal with `reason`. The queue decides the resulting state. Idempotent. */
  abort(reason: EbmError): void {
    if (!this.#controller.signal.aborted) this.#controller.abort(reason);
  }

  setProgress(progress: ProgressUpdate): void {
    this.#progress = progress;
    this.#events.emit('job:progress', { jobId: this.id, progress });
  }

  log(level: JobLogLine['level'], message: string, fields?: Record<string, JsonValue>): void {
    const line: JobLogLine = { time: new Date().toISOString(), level, message, ...(fields !== undefined ? { fields } : {}) };
    this.#log.push(line);
    if (this.#log.length > this.#logLimit) this.#log.splice(0, this.#log.length - this.#logLimit);
    this.#events.emit('job:log', { jobId: this.id, line });
  }

  toRecord(): JobRecord {
    return {
      id: this.id,
      kind: this.kind,
      request: this.request,
      state: this.#state,
      createdAt: this.createdAt,
      ...(this.#startedAt !== undefined ? { startedAt: this.#startedAt } : {}),
      ...(this.#finishedAt !== undefined ? { finishedAt: this.#finishedAt } : {}),
      attempt: this.#attempt,
      cost: this.#cost,
      ...(this.#progress !== undefined ? { progress: this.#progress } : {}),
      ...(this.#error !== undefined ? { error: this.#error } : {}),
      ...(this.#result !== undefined ? { result: this.#result } : {}),
      log: [...this.#log],
    };
  }
}

/** Records go to the API and the journal: stacks stay in the structured log. */
function stripStack(record: ErrorRecord): ErrorRecord {
  const { stack: _stack, cause, ...rest } = record;
  return cause !== undefined ? { ...rest, cause: stripStack(cause) } : rest;
}
