import { Catalog } from '../catalog/catalog';
import { syncCatalog } from '../catalog/indexer';
import type { CatalogEntry } from '../catalog/catalog-types';
import type { Logger } from '../logging/logger';
import type { RepositoryRegistry } from './repository-registry';
import { QuietTrigger } from './quiet-trigger';

/**
 * The host's catalog (one SQLite file for all its repositories, see
 * docs/runtime.md "Catalog"): synced after every backup or forget once the
 * host is quiet, one sync at a time, and used to browse snapshots. It is only
 * a cache: any catalog failure is logged and the caller falls back to reading
 * the repository.
 */
export class HostCatalog {
  #catalog: Catalog | undefined;
  #chain: Promise<void> = Promise.resolve();
  readonly #deferred = new Set<string>();
  readonly #quiet: QuietTrigger;

  /** `idleForMs`: how long no job has run (0 while one runs). */
  constructor(
    private readonly file: string,
    private readonly repositories: RepositoryRegistry,
    private readonly log: Logger,
    idleForMs: () => number = () => Number.POSITIVE_INFINITY,
  ) {
    this.#quiet = new QuietTrigger(idleForMs, () => {
      const names = [...this.#deferred];
      this.#deferred.clear();
      for (const name of names) void this.sync(name);
    });
  }

  /**
   * The sync after a job: it runs once no job has run for a second (at most a
   * minute later), so that indexing a large snapshot — half a second of the
   * host's main thread for a 13k-file base layer — does not slow the next job
   * of a burst. Browsing reads the repository until then.
   */
  syncWhenQuiet(repository: string): void {
    this.#deferred.add(repository);
    this.#quiet.request();
  }

  open(): void {
    try {
      this.#catalog = Catalog.open(this.file);
      if (this.#catalog.recovered) this.log.warn('catalog was damaged: moved aside and rebuilt from the repositories', { file: this.file, reason: this.#catalog.recovered.reason });
    } catch (err) {
      this.log.warn('catalog unavailable; browsing reads the repositories', { file: this.file, error: (err as Error).message });
    }
  }

  /** Queues a sync of one repository (or all); resolves when it ran. Never rejects. */
  sync(repository?: string): Promise<void> {
    const names = repository ? [repository] : this.repositories.names();
    this.#chain = this.#chain.then(async () => {
      if (!this.#catalog) return;
      for (const name of names) {
        try {
          const report = await syncCatalog(this.#catalog, await this.repositories.open(name));
          if (report.added.length + report.removed.length > 0) this.log.info('catalog synced', { repository: name, added: report.added.length, removed: report.removed.length });
          for (const f of report.failed) this.log.warn('snapshot not indexed', { repository: name, snapshot: f.snapshotId, error: `${f.error.code}: ${f.error.message}` });
        } catch (err) {
          this.log.warn('catalog sync failed', { repository: name, error: (err as Error).message });
        }
      }
    });
    return this.#chain;
  }

  /** A directory of an indexed snapshot, or undefined when the catalog cannot answer (not synced yet, or unavailable). */
  listDirectory(snapshotId: string, path: string): CatalogEntry[] | undefined {
    if (!this.#catalog) return undefined;
    try {
      this.#catalog.resolveSnapshot(snapshotId);
      return this.#catalog.listDirectory(snapshotId, path);
    } catch {
      return undefined;
    }
  }

  /** Waits for a running sync; a deferred one is dropped (the next start syncs every repository). */
  async close(): Promise<void> {
    this.#quiet.cancel();
    await this.#chain;
    this.#catalog?.close();
    this.#catalog = undefined;
  }
}
