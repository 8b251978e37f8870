import { writeFileAtomic } from '../fs/atomic-write';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { EbmError } from '@ebm/sdk';
import type { ErrorRecord } from '@ebm/sdk';
import type { JournalLine } from './job-journal';
import type { JobRecord } from './job-types';
import { isTerminal } from './job-state';

export interface RecoverOptions {
  /** Re-queue jobs that were queued (never started) when the host stopped; otherwise fail them too. Default true. */
  readonly requeue?: boolean;
  /** Finished (done/failed/cancelled) jobs kept in the compacted journal, newest first. Default 500. */
  readonly keepFinished?: number;
  readonly now?: () => Date;
}

export interface RecoveredJournal {
  /** Queued jobs to submit again (same id, creation time and attempt count). */
  readonly requeued: readonly JobRecord[];
  /** Jobs that were running or verifying (or queued, with requeue false): now failed. */
  readonly interrupted: readonly JobRecord[];
  /** Jobs that had finished before the stop, newest first (for the job list). */
  readonly finished: readonly JobRecord[];
  /** Lines that could not be parsed (a write torn by the crash is the usual one). */
  readonly skippedLines: number;
}

/** The job journal's file name in the state directory: JSON lines. */
export const JOURNAL_FILE_NAME = 'jobs.jsonl';
/**
 * Its earlier name (the file was always JSON lines, never SQLite). A journal
 * found under it beside `jobs.jsonl` is read too and then removed, so an
 * upgraded host keeps its queued jobs and history.
 */
export const LEGACY_JOURNAL_FILE_NAME = 'jobs.sqlite';

/** The message an interrupted job fails with (code E_INTERRUPTED). */
export const INTERRUPTED_MESSAGE = 'interrupted: the host stopped while the job ran';

/**
 * Reads a journal left by a host that stopped (perhaps killed with SIGKILL),
 * decides what became of each job, and compacts the file to one line per
 * kept job (written to a temporary file, fsynced, renamed over the journal;
 * the directory fsynced). A missing journal is an empty one.
 *
 * A job last seen running or verifying failed: "interrupted: the host stopped
 * while the job ran". Its work is safe to discard: a backup that did not
 * write its snapshot left only packs no index or snapshot trusts (prune
 * reclaims them); one that was verifying keeps its snapshot, unverified.
 * A job last seen queued is re-queued (or failed, with requeue false).
 *
 * Migration: when `file` is named jobs.jsonl and a jobs.sqlite (the
 * journal's former name, same JSON-lines content) lies beside it, that file
 * is read first (a line in jobs.jsonl wins for the same job), its jobs are
 * written into the compacted jobs.jsonl, and only then is it removed.
 */
export async function recoverJournal(file: string, options: RecoverOptions = {}): Promise<RecoveredJournal> {
  const now = (options.now ?? (() => new Date()))().toISOString();
  const legacy = path.basename(file) === JOURNAL_FILE_NAME ? path.join(path.dirname(file), LEGACY_JOURNAL_FILE_NAME) : undefined;
  const old = legacy !== undefined ? await readJournal(legacy) : undefined;
  const current = await readJournal(file);
  const latest = new Map([...(old?.latest ?? []), ...current.latest]);
  const skipped = (old?.skipped ?? 0) + current.skipped;
  const requeued: JobRecord[] = [];
  const interrupted: JobRecord[] = [];
  const finished: JobRecord[] = [];
  for (const job of latest.values()) {
    if (isTerminal(job.state)) finished.push(job);
    else if (job.state === 'queued' && (options.requeue ?? true)) requeued.push(job);
    else interrupted.push({ ...job, state: 'failed', finishedAt: now, error: interruptedError(job) });
  }
  finished.sort((a, b) => (b.finishedAt ?? b.createdAt).localeCompare(a.finishedAt ?? a.createdAt));
  const keptFinished = finished.slice(0, Math.max(0, options.keepFinished ?? 500));
  const byAge = (a: JobRecord, b: JobRecord): number => a.createdAt.localeCompare(b.createdAt);
  requeued.sort(byAge);
  interrupted.sort(byAge);
  await rewrite(file, [...[...keptFinished].reverse(), ...interrupted, ...requeued]);
  if (old?.found === true) await fs.rm(legacy!, { force: true });
  return { requeued, interrupted, finished: keptFinished, skippedLines: skipped };
}

function interruptedError(job: JobRecord): ErrorRecord {
  const what = job.state === 'verifying' ? 'verifying its snapshot (the snapshot is kept, unverified)' : job.state === 'running' ? `running (attempt ${job.attempt})` : 'queued';
  const { stack: _stack, ...record } = new EbmError('E_INTERRUPTED', `${INTERRUPTED_MESSAGE} (the ${job.kind} job was ${what}); run it again`, { subject: job.id }).toRecord();
  return record;
}

async function readJournal(file: string): Promise<{ latest: Map<string, JobRecord>; skipped: number; found: boolean }> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { latest: new Map(), skipped: 0, found: false };
    throw new EbmError('E_STORAGE_IO', `cannot read the job journal ${file}: ${(err as Error).message}`, { subject: file, cause: err });
  }
  const latest = new Map<string, JobRecord>();
  let skipped = 0;
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    const job = parseLine(raw);
    if (job === undefined) skipped++;
    else latest.set(job.id, job);
  }
  return { latest, skipped, found: true };
}

function parseLine(raw: string): JobRecord | undefined {
  try {
    const line = JSON.parse(raw) as Partial<JournalLine>;
    const job = line.job as Partial<JobRecord> | undefined;
    if (line.v !== 1 || typeof job !== 'object' || job === null || typeof job.id !== 'string' || typeof job.state !== 'string' || typeof job.request !== 'object') return undefined;
    return { ...(job as JobRecord), log: [] };
  } catch {
    return undefined;
  }
}

async function rewrite(file: string, jobs: readonly JobRecord[]): Promise<void> {
  const body = jobs.map((job) => {
    const { log: _log, progress: _progress, ...rest } = job;
    const line: JournalLine = { v: 1, job: rest };
    return `${JSON.stringify(line)}\n`;
  }).join('');
  await writeFileAtomic(file, body);
}
