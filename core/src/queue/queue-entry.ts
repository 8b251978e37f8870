import * as path from 'node:path';
import type { Job } from '../jobs/job';
import type { JobCost, JobRequest } from '../jobs/job-types';

/** The queue's bookkeeping for one live job. */
export interface QueueEntry {
  readonly job: Job;
  readonly seq: number;
  /** 'main' runs the job; 'verify' is a backup's post-processing verification in the serial lane. */
  lane: 'main' | 'verify';
  /** When it started waiting in its lane (ms since the epoch): the age for ordering. */
  since: number;
  /** Not admitted before this time (retry backoff). */
  notBefore: number;
  readonly priority: number;
  readonly repository: string;
  /** At most one live admitted job per key: the dataset of a backup, the target of a restore. */
  readonly key: string | undefined;
  /** Forget and prune run alone on their repository (they take its exclusive lock). */
  readonly exclusive: boolean;
  /** Backups only: requests with the same identity are coalesced while one is queued. */
  readonly identity: string | undefined;
  /** What the job is charged while admitted. */
  cost: JobCost | undefined;
  deadlineTimer: NodeJS.Timeout | undefined;
}

/** The bookkeeping of a job just submitted (`identity`: identityOf its request): waiting in the main lane, not charged, no deadline armed yet. */
export function newQueueEntry(job: Job, seq: number, identity: string | undefined): QueueEntry {
  const request = job.request;
  return {
    job,
    seq,
    lane: 'main',
    since: Date.parse(job.createdAt),
    notBefore: 0,
    priority: request.priority,
    repository: request.repository,
    key: exclusionKey(request),
    exclusive: isExclusive(request),
    identity,
    cost: undefined,
    deadlineTimer: undefined,
  };
}

/**
 * Calls `onDue` once at `deadline` (ms since the epoch). setTimeout holds at
 * most ~24.8 days, so a deadline further out re-arms; `entry.deadlineTimer`
 * always holds the current timer (clear it to disarm). Unref'd: a deadline
 * never keeps the process alive.
 */
export function armDeadline(entry: QueueEntry, deadline: number, onDue: () => void): void {
  entry.deadlineTimer = setTimeout(() => {
    if (Date.now() < deadline) armDeadline(entry, deadline, onDue);
    else onDue();
  }, Math.min(deadline - Date.now(), 2 ** 31 - 1));
  entry.deadlineTimer.unref();
}

export function exclusionKey(request: JobRequest): string | undefined {
  if (request.kind === 'backup') return `dataset:${request.dataset}`;
  if (request.kind === 'restore') return `target:${path.resolve(request.target)}`;
  return undefined;
}

export function isExclusive(request: JobRequest): boolean {
  return request.kind === 'forget' || request.kind === 'prune';
}

/** Canonical JSON of a backup request (keys sorted), or undefined for other kinds. */
export function identityOf(request: JobRequest): string | undefined {
  return request.kind === 'backup' ? canonical(request) : undefined;
}

/** A short description naming the job for messages. */
export function describeRequest(request: JobRequest): string {
  switch (request.kind) {
    case 'backup':
      return `backup of dataset "${request.dataset}" (translator ${request.translator}) to repository "${request.repository}"`;
    case 'restore':
      return `restore of snapshot ${request.snapshot} from repository "${request.repository}" to ${request.target}`;
    case 'verify':
      return `verify of repository "${request.repository}"${request.snapshot !== undefined ? ` snapshot ${request.snapshot}` : ''}`;
    case 'forget':
    case 'prune':
      return `${request.kind} on repository "${request.repository}"`;
  }
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
