import { isDeepStrictEqual } from 'node:util';
import type { TranslatorFixture, ResolvedOptions } from './tester-options';
import { CaseDirs } from './case-dirs';
import { CheckFailed, ConformanceFailure, modeLabel } from './conformance-failure';
import { describeDifferences } from './differences';
import type { ExpectedSource } from './file-equality';
import { MODES } from './harness-host';
import type { HarnessHost, HarnessRepository, Mode, PluginUnderTest } from './harness-host';

/** What every case of one tester shares: the host and the loaded plugin. */
export interface TesterSession {
  readonly host: HarnessHost;
  readonly plugin: PluginUnderTest;
  readonly options: ResolvedOptions;
}

/**
 * One run of one case: its directories and repositories (released at the
 * end), and the problems found, each labelled with
 * the mode it showed in. `finish` throws a ConformanceFailure listing them.
 */
export class CaseRun {
  readonly problems: string[] = [];
  readonly #repos: HarnessRepository[] = [];

  private constructor(
    readonly caseName: string,
    readonly fixtureName: string | undefined,
    readonly session: TesterSession,
    readonly dirs: CaseDirs,
  ) {}

  static async start(caseName: string, fixtureName: string | undefined, session: TesterSession): Promise<CaseRun> {
    return new CaseRun(caseName, fixtureName, session, await CaseDirs.create());
  }

  get plugin(): PluginUnderTest {
    return this.session.plugin;
  }

  get options(): ResolvedOptions {
    return this.session.options;
  }

  label(mode: Mode): string {
    return modeLabel(mode, this.session.host.label);
  }

  /**
   * Runs `check` in each mode (in-process first), records what fails in
   * which mode, and when both succeed requires their observations (plain
   * data that must not depend on the mode) to be equal.
   */
  async eachMode<T>(check: (mode: Mode) => Promise<T>): Promise<void> {
    const seen = new Map<Mode, T>();
    for (const mode of MODES) {
      try {
        seen.set(mode, await check(mode));
      } catch (err) {
        this.problems.push(`${this.label(mode)}: ${err instanceof CheckFailed ? err.message : `unexpected error: ${(err as Error)?.stack ?? String(err)}`}`);
      }
    }
    const [a, b] = [seen.get('in-process'), seen.get('worker')];
    if (seen.size === 2 && !isDeepStrictEqual(a, b)) {
      const lines = describeDifferences(a, b, ['in-process', 'worker']);
      this.problems.push(`the in-process and worker runs disagree:\n${lines.join('\n')}`);
    }
  }

  /** A fresh repository of the host (same content-addressing keys as every other), closed when the case ends. */
  async repository(): Promise<HarnessRepository> {
    const repo = await this.session.host.createRepository(this.plugin);
    this.#repos.push(repo);
    return repo;
  }

  /** Builds `fixture` in a new directory. */
  async build(fixture: TranslatorFixture, label = 'source'): Promise<ExpectedSource> {
    const dir = await this.dirs.make(label);
    const returned = await fixture.build(dir);
    return Object.freeze({ source: typeof returned === 'string' ? returned : dir, dir, fixture: fixture.name });
  }

  /** Fails the check with the differences the author's equality reports. */
  async expectEqual(expected: ExpectedSource, target: string, what: string): Promise<void> {
    const verdict = await this.options.equal(expected, target);
    const diffs = verdict === false ? ['(the equality function says they differ)'] : Array.isArray(verdict) ? verdict : [];
    if (diffs.length > 0) throw new CheckFailed(`${what} differs from the source:\n${diffs.slice(0, 20).join('\n')}`);
  }

  /** Releases repositories and directories; throws the collected problems. */
  async finish(): Promise<void> {
    for (const repo of this.#repos.splice(0)) await repo.close().catch(() => undefined);
    await this.dirs.remove().catch(() => undefined);
    if (this.problems.length > 0) throw new ConformanceFailure(this.caseName, this.fixtureName, this.problems);
  }
}
