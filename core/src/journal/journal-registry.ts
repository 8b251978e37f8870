import type { DatasetConfig } from '../config/config-types';
import type { Logger } from '../logging/logger';
import { ChangeJournal, ChangeJournalStatus } from './change-journal';

/**
 * The change journals of the host's datasets (those with a `journal`
 * section), started with the host and stopped with it. A journal that cannot
 * start (fswatch missing, the source absent) does not stop the host: its
 * dataset's backups scan in full and their snapshots say why.
 */
export class JournalRegistry {
  readonly #journals = new Map<string, ChangeJournal>();
  readonly #failed = new Map<string, string>();

  constructor(
    private readonly datasets: readonly DatasetConfig[],
    private readonly log: Logger,
    private readonly command?: string,
  ) {}

  async start(): Promise<void> {
    await Promise.all(this.datasets.filter((d) => d.journal !== undefined).map((d) => this.#startOne(d)));
  }

  /** The journal for a backup of `dataset` reading `source`, if the host keeps one for exactly that. */
  forBackup(dataset: string, source: string): ChangeJournal | undefined {
    const config = this.datasets.find((d) => d.name === dataset);
    if (config === undefined || config.source !== source) return undefined;
    return this.#journals.get(dataset);
  }

  /** Why a configured journal is not running, for a dataset whose journal failed to start. */
  failure(dataset: string): string | undefined {
    return this.#failed.get(dataset);
  }

  status(): Record<string, ChangeJournalStatus | { readonly state: 'failed'; readonly reason: string }> {
    const out: Record<string, ChangeJournalStatus | { state: 'failed'; reason: string }> = {};
    for (const [name, journal] of this.#journals) out[name] = journal.status();
    for (const [name, reason] of this.#failed) out[name] = { state: 'failed', reason };
    return out;
  }

  close(): void {
    for (const journal of this.#journals.values()) journal.close();
    this.#journals.clear();
  }

  async #startOne(dataset: DatasetConfig): Promise<void> {
    let journal: ChangeJournal;
    try {
      journal = new ChangeJournal(dataset.source, {
        fullScanEvery: dataset.journal!.fullScanEvery,
        maxPaths: dataset.journal!.maxPaths,
        ...(this.command !== undefined ? { command: this.command } : {}),
        onGap: (reason) => this.log.warn('change journal gap: the next backup scans everything', { dataset: dataset.name, reason }),
      });
    } catch (err) {
      const reason = `the source ${dataset.source} cannot be watched: ${(err as Error).message}`;
      this.#failed.set(dataset.name, reason);
      this.log.warn('change journal not started', { dataset: dataset.name, reason });
      return;
    }
    this.#journals.set(dataset.name, journal);
    await journal.start();
    const status = journal.status();
    if (status.state === 'watching') this.log.info('change journal watching', { dataset: dataset.name, root: journal.root });
    else this.log.warn('change journal not watching', { dataset: dataset.name, reason: status.reason ?? status.state });
  }
}
