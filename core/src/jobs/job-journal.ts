import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { EbmError } from '@ebm/sdk';
import type { JobEvents } from './job-events';
import type { JobRecord } from './job-types';

/** One line of the journal file. The log and progress of a job are not journalled (they are in the structured log). */
export interface JournalLine {
  readonly v: 1;
  readonly job: Omit<JobRecord, 'log' | 'progress'>;
}

export interface JobJournalOptions {
  /** Called when a write fails (disk full…): the runtime keeps going, the operator must be told. */
  readonly onError?: (err: EbmError) => void;
}

/**
 * An append-only file of job state changes, one JSON line per change, so a
 * host killed with SIGKILL can list on restart what was queued and running
 * (see recoverJournal). Group commit: every line appended in one turn of the
 * event loop goes out in one write followed by one fdatasync; `append`
 * resolves when its line is durable. Writes are asynchronous, so a flood of
 * state changes never blocks the host's event loop on the disk.
 */
export class JobJournal {
  readonly file: string;
  readonly #handle: fs.FileHandle;
  readonly #onError: (err: EbmError) => void;
  #pending: string[] = [];
  #next: Promise<void> | undefined;
  #chain: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(file: string, handle: fs.FileHandle, options: JobJournalOptions) {
    this.file = file;
    this.#handle = handle;
    this.#onError = options.onError ?? (() => undefined);
  }

  /** Opens (creating if needed) the journal for appending. Run recoverJournal on it first after a restart. */
  static async open(file: string, options: JobJournalOptions = {}): Promise<JobJournal> {
    await fs.mkdir(path.dirname(file), { recursive: true });
    return new JobJournal(file, await fs.open(file, 'a'), options);
  }

  /** Journals every job:queued and job:state of `events`; returns the function that stops it. */
  attach(events: JobEvents): () => void {
    const write = (job: JobRecord): void => {
      this.append(job).catch((err: unknown) => this.#onError(asEbmError(err, this.file)));
    };
    const onState = ({ job }: { job: JobRecord }): void => write(job);
    events.on('job:queued', write);
    events.on('job:state', onState);
    return () => {
      events.off('job:queued', write);
      events.off('job:state', onState);
    };
  }

  /** Appends the job's current record; resolves once it is on disk. */
  append(job: JobRecord): Promise<void> {
    if (this.#closed) return Promise.reject(new EbmError('E_INTERNAL', `job journal ${this.file} is closed`, { subject: this.file }));
    const { log: _log, progress: _progress, ...rest } = job;
    const line: JournalLine = { v: 1, job: rest };
    this.#pending.push(`${JSON.stringify(line)}\n`);
    if (this.#next === undefined) {
      const next = this.#chain.then(() => {
        this.#next = undefined; // lines appended from now on go into the following write
        return this.#drain();
      });
      this.#next = next;
      this.#chain = next.catch(() => undefined);
    }
    return this.#next;
  }

  /** Resolves when everything appended so far is durable. */
  async flush(): Promise<void> {
    await (this.#next ?? this.#chain);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush().catch(() => undefined);
    this.#closed = true;
    await this.#handle.close();
  }

  async #drain(): Promise<void> {
    const lines = this.#pending.splice(0);
    if (lines.length === 0) return;
    try {
      await this.#handle.write(lines.join(''));
      await this.#handle.datasync();
    } catch (err) {
      throw asEbmError(err, this.file);
    }
  }
}

function asEbmError(err: unknown, file: string): EbmError {
  if (err instanceof EbmError) return err;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return new EbmError(code === 'ENOSPC' ? 'E_DISK_FULL' : 'E_STORAGE_IO', `cannot write the job journal ${file}: ${(err as Error)?.message ?? String(err)}`, { subject: file, cause: err });
}
