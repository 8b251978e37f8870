import * as path from 'node:path';
import type { DependencyContainer } from 'tsyringe';
import { EbmError } from '@ebm/sdk';
import { createContainer } from '../container';
import { LocalBackend } from '../backend/local-backend';
import type { Backend } from '../backend/backend';
import { createDataMover } from '../mover/data-mover';
import { Repository } from '../repository/repository';
import { Output } from './output';
import { resolvePassword } from './password';
import { PluginHost } from '../plugin-host/plugin-host';

export interface GlobalOptions {
  readonly repo?: string;
  readonly passwordFile?: string;
  readonly json?: boolean;
  readonly quiet?: boolean;
}

/**
 * What every command gets: output, the repository (opened on demand), the
 * service container and a cancellation signal that SIGINT/SIGTERM abort
 * (a second Ctrl-C exits at once).
 */
export class CliContext {
  readonly output: Output;
  readonly signal: AbortSignal;
  private readonly abort = new AbortController();
  private containerInstance?: DependencyContainer;
  private interrupts = 0;

  constructor(readonly options: GlobalOptions) {
    this.output = new Output(Boolean(options.json), Boolean(options.quiet));
    this.signal = this.abort.signal;
    const onSignal = (sig: NodeJS.Signals) => {
      this.interrupts++;
      if (this.interrupts > 1) process.exit(130);
      this.output.warn(`${sig} received: cancelling (press Ctrl-C again to exit at once)`);
      this.abort.abort(new EbmError('E_CANCELLED', `cancelled by ${sig}`));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  get container(): DependencyContainer {
    this.containerInstance ??= createContainer();
    return this.containerInstance;
  }

  /** True when a repository was named (-r/--repo or EBM_REPOSITORY). */
  hasRepository(): boolean {
    return Boolean(this.options.repo ?? process.env.EBM_REPOSITORY);
  }

  repoPath(): string {
    const repo = this.options.repo ?? process.env.EBM_REPOSITORY;
    if (!repo) throw new EbmError('E_NO_REPOSITORY_GIVEN', 'no repository given: pass -r/--repo DIR or set EBM_REPOSITORY');
    return path.resolve(repo);
  }

  /** The repository's backend, behind the data mover (checksums, verified writes, retries). */
  backend(): Backend {
    return createDataMover(new LocalBackend(this.repoPath()));
  }

  async password(confirm = false): Promise<string> {
    return resolvePassword({ passwordFile: this.options.passwordFile, confirm });
  }

  async openRepository(): Promise<Repository> {
    const backend = this.backend();
    this.openBackends.push(backend);
    // Repository.open reads the plaintext config first, so "not a repository"
    // and "newer format" are reported before any password is asked for, and
    // an unencrypted repository never asks for one.
    return Repository.open(backend, () => this.password());
  }

  private readonly openBackends: Backend[] = [];

  async close(): Promise<void> {
    await Promise.all(this.openBackends.map((b) => b.close()));
    if (this.containerInstance) await disposeContainer(this.containerInstance);
  }
}

async function disposeContainer(c: DependencyContainer): Promise<void> {
  await c.resolve(PluginHost).close();
}
