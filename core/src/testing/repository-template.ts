import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Backend } from '../backend/backend';
import { LocalBackend } from '../backend/local-backend';
import { MemoryBackend } from '../backend/memory-backend';
import { FAST_TEST_SCRYPT_PARAMS } from '../crypto/kdf';
import { Repository } from '../repository/repository';

const PASSWORD = 'ebm conformance harness';

export type RepositoryKind = 'memory' | 'disk';

/**
 * Fresh repositories that share their master keys: the harness compares
 * tree ids across repositories, so each one is a copy of one template
 * repository's config and key file (no data), opened again. 'memory' keeps
 * the real format (packs, index, encryption, compression) in a MemoryBackend;
 * 'disk' puts it in a temporary directory, removed by `close`.
 */
export class RepositoryTemplate {
  readonly #kind: RepositoryKind;
  readonly #chunker: { minSize: number; avgSize: number; maxSize: number };
  readonly #dirs: string[] = [];
  #template: Promise<Repository> | undefined;

  constructor(kind: RepositoryKind, chunker: { minSize: number; avgSize: number; maxSize: number }) {
    this.#kind = kind;
    this.#chunker = chunker;
  }

  async create(): Promise<Repository> {
    this.#template ??= Repository.init(new MemoryBackend('harness-template'), PASSWORD, { kdf: FAST_TEST_SCRYPT_PARAMS, chunker: this.#chunker });
    const template = await this.#template;
    const backend = await this.#newBackend();
    await backend.create();
    for (const type of ['config', 'keys'] as const) {
      for await (const file of template.backend.list(type)) {
        const handle = { type, name: file.name };
        await backend.save(handle, await template.backend.load(handle));
      }
    }
    return Repository.open(backend, PASSWORD);
  }

  /** Removes the on-disk repositories. */
  async close(): Promise<void> {
    await Promise.all(this.#dirs.splice(0).map((d) => fsp.rm(d, { recursive: true, force: true })));
  }

  async #newBackend(): Promise<Backend> {
    if (this.#kind === 'memory') return new MemoryBackend();
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ebm-harness-repo-'));
    this.#dirs.push(dir);
    return new LocalBackend(dir);
  }
}
