import { CaseRun, TesterSession } from './case-run';
import { cancellationCase } from './checks/cancellation';
import { cloneAndFreezeCase } from './checks/clone-and-freeze';
import { determinismCase } from './checks/determinism';
import { incrementalCase } from './checks/incremental';
import { authoredInvalidCase, derivedInvalidCase } from './checks/invalid-input';
import { DERIVED_INVALID_INPUTS } from './checks/invalid-variants';
import { manifestProblems } from './checks/manifest';
import { roundTripCase } from './checks/round-trip';
import { ConformanceFailure } from './conformance-failure';
import { caseCollector, pluginTitle, readPackageForCase, registerCases, resolveRegistrar, runCase } from './conformance-cases';
import type { ConformanceCase } from './conformance-cases';
import type { HarnessHost } from './harness-host';
import { loadPluginUnderTest, readPluginPackage } from './plugin-under-test';
import { resolveOptions } from './tester-options';
import type { ResolvedOptions, TranslatorTesterOptions } from './tester-options';

export type { ConformanceCase } from './conformance-cases';

/**
 * The conformance harness for translator plugins (ESLint's RuleTester, for
 * ebm): `new TranslatorTester({ packageDir, fixtures, … }).run()` in a test
 * file registers one test per case with the runner's describe/it (jest,
 * vitest with globals, mocha; or pass `describe`/`it`/`afterAll`). Every case
 * but the manifest one runs twice — in-process and in a real worker thread
 * through the host — and both must succeed and agree. A failing case throws
 * a ConformanceFailure naming the case, the fixture and the mode.
 */
export class TranslatorTester {
  readonly #options: ResolvedOptions;
  readonly #given: TranslatorTesterOptions;
  #session: Promise<TesterSession> | undefined;
  #host: HarnessHost | undefined;

  constructor(options: TranslatorTesterOptions) {
    this.#options = resolveOptions(options);
    this.#given = options;
  }

  /** Registers the cases under one describe block, and closes the host after them. */
  run(): void {
    const title = `translator ${pluginTitle(this.#options.packageDir)} conforms to the ebm plugin API`;
    registerCases(resolveRegistrar(this.#given, 'TranslatorTester'), title, this.cases(), this.#options.timeouts.caseMs, () => this.close());
  }

  /** The cases, in order, without registering them (for runners with their own way of declaring tests). */
  cases(): ConformanceCase[] {
    const o = this.#options;
    const { cases, add } = caseCollector<CaseRun>({ name: 'manifest and capabilities', run: () => this.#manifestCase() }, (name, fixture, body) =>
      runCase(name, fixture, () => this.#sessionOnce(), (session) => CaseRun.start(name, fixture, session), body),
    );
    for (const f of o.fixtures) {
      add('round trip', f.name, (run) => roundTripCase(run, f));
      add('determinism', f.name, (run) => determinismCase(run, f));
      for (const m of [...o.mutations, ...(f.mutations ?? [])]) add('incremental', `${f.name} → ${m.name}`, (run) => incrementalCase(run, f, m));
      if (o.deriveInvalidInputs) for (const v of DERIVED_INVALID_INPUTS) add(`invalid input: ${v.name}`, f.name, (run) => derivedInvalidCase(run, f, v));
      add('cancellation', f.name, (run) => cancellationCase(run, f));
      add('structured clone and frozen inputs', f.name, (run) => cloneAndFreezeCase(run, f));
    }
    for (const s of o.invalidSources) add('invalid input', s.name, (run) => authoredInvalidCase(run, s));
    return cases;
  }

  /** Closes the host (the tester registers this with afterAll when it can). */
  async close(): Promise<void> {
    const host = this.#host;
    this.#host = undefined;
    this.#session = undefined;
    await host?.close();
  }

  #sessionOnce(): Promise<TesterSession> {
    this.#session ??= (async () => {
      const plugin = await loadPluginUnderTest(readPluginPackage(this.#options.packageDir), this.#options.translator);
      this.#host ??= await this.#options.host();
      return { host: this.#host, plugin, options: this.#options };
    })();
    this.#session.catch(() => (this.#session = undefined));
    return this.#session;
  }

  async #manifestCase(): Promise<void> {
    const caseName = 'manifest and capabilities';
    const descriptor = readPackageForCase(caseName, this.#options.packageDir);
    const problems: string[] = [];
    const loaded = await loadPluginUnderTest(descriptor, this.#options.translator).catch((err: Error) => {
      problems.push(err.message);
      return undefined;
    });
    problems.push(...manifestProblems(descriptor, loaded, this.#options));
    if (problems.length > 0) throw new ConformanceFailure(caseName, undefined, problems);
  }
}
