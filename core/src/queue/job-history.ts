import type { JobRecord } from '../jobs/job-types';

/**
 * The records of finished jobs the queue remembers, at most `limit`, the
 * oldest forgotten first. Remembering a job again moves it to the newest end.
 */
export class JobHistory {
  readonly #records = new Map<string, JobRecord>();

  constructor(private readonly limit: number) {}

  remember(record: JobRecord): void {
    this.#records.delete(record.id);
    this.#records.set(record.id, record);
    while (this.#records.size > this.limit) this.#records.delete(this.#records.keys().next().value as string);
  }

  get(id: string): JobRecord | undefined {
    return this.#records.get(id);
  }

  /** Every remembered record, the most recently finished first. */
  newestFirst(): JobRecord[] {
    return [...this.#records.values()].reverse();
  }
}
