import * as fs from 'node:fs';
import { EbmError } from '@ebm/sdk';
import { LocalBackend } from '../backend/local-backend';
import { createDataMover, DataMover } from '../mover/data-mover';
import { Repository } from '../repository/repository';
import type { RepositoryConfigEntry } from '../config/config-types';
import type { RepositoryProvider } from '../jobs/repository-provider';

interface Slot {
  readonly entry: RepositoryConfigEntry;
  readonly mover: DataMover;
  opening?: Promise<Repository>;
}

/**
 * The configured repositories of a host process. Each gets ONE data mover
 * (so its concurrency and bandwidth limits hold across all jobs on it) and is
 * opened once with its password (from the environment variable or file the
 * configuration names) and shared by every job.
 */
export class RepositoryRegistry implements RepositoryProvider {
  readonly #slots = new Map<string, Slot>();

  constructor(entries: Readonly<Record<string, RepositoryConfigEntry>>) {
    for (const [name, entry] of Object.entries(entries)) {
      const mover = createDataMover(new LocalBackend(entry.path), {
        verify: entry.verify ? 'read-back' : 'none',
        concurrency: entry.maxConcurrentIo,
        ...(entry.bandwidthLimitKiBps ? { bandwidth: { bytesPerSecond: entry.bandwidthLimitKiBps * 1024 } } : {}),
      });
      this.#slots.set(name, { entry, mover });
    }
  }

  names(): string[] {
    return [...this.#slots.keys()];
  }

  entry(name: string): RepositoryConfigEntry {
    return this.#slot(name).entry;
  }

  mover(name: string): DataMover {
    return this.#slot(name).mover;
  }

  /** Opens (once) and returns the repository; a failed open is retried on the next call. */
  open(name: string): Promise<Repository> {
    const slot = this.#slot(name);
    slot.opening ??= Repository.open(slot.mover, async () => passwordOf(slot.entry)).then((repo) => expectEncryption(repo, slot.entry)).catch((err: unknown) => {
      slot.opening = undefined;
      throw err;
    });
    return slot.opening;
  }

  /** Opens every repository: a host refuses to start with one it cannot open. */
  async openAll(): Promise<void> {
    for (const name of this.names()) {
      try {
        await this.open(name);
      } catch (err) {
        const e = err as EbmError;
        throw new EbmError(e.code ?? 'E_INTERNAL', `repository "${name}" (${this.entry(name).path}): ${e.message}`, { cause: err, subject: name });
      }
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#slots.values()].map((s) => s.mover.close()));
  }

  #slot(name: string): Slot {
    const slot = this.#slots.get(name);
    if (!slot) throw new EbmError('E_INVALID_REQUEST', `no repository named "${name}" in the configuration (known: ${this.names().join(', ')})`, { subject: name });
    return slot;
  }
}

/** The configuration says what the repository must be; a mismatch is refused before anything is written. */
function expectEncryption(repo: Repository, entry: RepositoryConfigEntry): Repository {
  const actual = repo.config.encryption.algorithm;
  if (actual === entry.encryption) return repo;
  throw new EbmError(
    'E_CONFIG',
    `repository "${entry.name}" (${entry.path}) has encryption "${actual}" but the configuration says "${entry.encryption}"; set repositories.${entry.name}.encryption to "${actual}" if that is intended`,
    { subject: entry.name },
  );
}

function passwordOf(entry: RepositoryConfigEntry): string {
  if (entry.passwordEnv) {
    const value = process.env[entry.passwordEnv];
    if (value) return value;
    throw new EbmError('E_NO_PASSWORD', `repository "${entry.name}": the environment variable ${entry.passwordEnv} (repositories.${entry.name}.passwordEnv) is not set`, { subject: entry.name });
  }
  if (entry.passwordFile) {
    try {
      return fs.readFileSync(entry.passwordFile, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new EbmError('E_NO_PASSWORD', `repository "${entry.name}": cannot read the password file ${entry.passwordFile}: ${(err as Error).message}`, { subject: entry.name });
    }
  }
  throw new EbmError('E_NO_PASSWORD', `repository "${entry.name}" names no passwordEnv or passwordFile`, { subject: entry.name });
}
