import { writeFileAtomic } from '../fs/atomic-write';
import * as fs from 'node:fs/promises';

/**
 * What the scheduler remembers across restarts, per dataset, in one small
 * JSON file (`state.dir/scheduler.json`):
 *
 *   { "version": 1, "datasets": { "home": { "schedule": "0 2 * * *",
 *     "timezone": "UTC", "since": "…", "lastScheduled": "…",
 *     "lastFiredAt": "…", "lastReason": "schedule" } } }
 *
 * `lastScheduled` is the occurrence the last run was for (not when it ran),
 * so the missed-run check compares occurrences with occurrences.
 * `since` is when the scheduler first saw this schedule; it stands in for
 * `lastScheduled` before the first run. The file is only a hint: a missing,
 * unreadable or corrupt file means "nothing known", never a failure.
 */

export type TriggerReason = 'schedule' | 'missed';

export interface DatasetScheduleState {
  readonly schedule: string;
  readonly timezone: string;
  /** ISO time the scheduler first saw this schedule (expression and zone). */
  readonly since: string;
  /** ISO time of the occurrence the last run was triggered for. */
  readonly lastScheduled?: string;
  /** ISO time the last run was actually triggered. */
  readonly lastFiredAt?: string;
  readonly lastReason?: TriggerReason;
}

export type SchedulerState = Record<string, DatasetScheduleState>;

const FORMAT_VERSION = 1;

/** Reads the state; problems are passed to `warn` and yield an empty (or partial) state. */
export async function readSchedulerState(file: string, warn: (message: string) => void): Promise<SchedulerState> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') warn(`cannot read scheduler state ${file} (${(err as Error).message}); starting without it`);
    return {};
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    warn(`scheduler state ${file} is corrupt (${(err as Error).message}); ignoring it: missed runs before now are not caught up`);
    return {};
  }
  const root = parsed as { version?: unknown; datasets?: unknown } | null;
  if (typeof root !== 'object' || root === null || root.version !== FORMAT_VERSION || typeof root.datasets !== 'object' || root.datasets === null) {
    warn(`scheduler state ${file} is not a version-${FORMAT_VERSION} state file; ignoring it: missed runs before now are not caught up`);
    return {};
  }
  const state: SchedulerState = {};
  for (const [name, entry] of Object.entries(root.datasets as Record<string, unknown>)) {
    if (isEntry(entry)) state[name] = entry;
    else warn(`scheduler state ${file}: the entry of dataset "${name}" is malformed; ignoring it`);
  }
  return state;
}

function isEntry(value: unknown): value is DatasetScheduleState {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const isTime = (x: unknown): boolean => typeof x === 'string' && Number.isFinite(Date.parse(x));
  const optionalTime = (x: unknown): boolean => x === undefined || isTime(x);
  return (
    typeof v['schedule'] === 'string' &&
    typeof v['timezone'] === 'string' &&
    isTime(v['since']) &&
    optionalTime(v['lastScheduled']) &&
    optionalTime(v['lastFiredAt']) &&
    (v['lastReason'] === undefined || v['lastReason'] === 'schedule' || v['lastReason'] === 'missed')
  );
}

/**
 * Replaces the file atomically: write a temporary file, fsync it, rename it
 * over the old one, fsync the directory. A crash leaves the old or the new
 * state, never a torn one. Creates the directory when missing.
 */
export async function writeSchedulerState(file: string, state: SchedulerState): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify({ version: FORMAT_VERSION, datasets: state }, null, 2)}\n`);
}
