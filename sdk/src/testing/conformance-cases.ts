import type { PluginDescriptor } from '../manifest/manifest';
import { ConformanceFailure } from './conformance-failure';
import { readPluginPackage } from './plugin-under-test';
import type { DescribeFn, HookFn, ItFn } from './tester-options';

/**
 * What TranslatorTester and LayerProviderTester share: how cases are named,
 * registered with the test runner and run. Each tester supplies what differs
 * (what a case needs prepared, how its run starts, the case bodies).
 */

/** One conformance case, runnable on its own (throws ConformanceFailure when the plugin fails it). */
export interface ConformanceCase {
  readonly name: string;
  run(): Promise<void>;
}

/** A case's run: the problems it collects, reported (thrown) by finish(). */
export interface CaseRunLike {
  readonly problems: string[];
  finish(): Promise<void>;
}

/** The test runner's functions: given in the options, else the runner's globals (jest, mocha, vitest). */
export interface Registrar {
  readonly describe: DescribeFn;
  readonly it: ItFn;
  readonly afterAll: HookFn | undefined;
}

export function resolveRegistrar(given: { readonly describe?: DescribeFn; readonly it?: ItFn; readonly afterAll?: HookFn }, tester: string): Registrar {
  const g = globalThis as { describe?: unknown; it?: unknown; afterAll?: unknown; after?: unknown };
  const describe = given.describe ?? g.describe;
  const it = given.it ?? g.it;
  const afterAll = given.afterAll ?? g.afterAll ?? g.after;
  if (typeof describe !== 'function' || typeof it !== 'function') {
    throw new TypeError(`${tester}: no describe()/it() found; run it under jest, mocha or vitest with globals, or pass { describe, it, afterAll } from your test runner`);
  }
  return { describe: describe as DescribeFn, it: it as ItFn, afterAll: typeof afterAll === 'function' ? (afterAll as HookFn) : undefined };
}

/** Registers the cases under one describe block, each with `caseMs` as its timeout, and `close` after them. */
export function registerCases(registrar: Registrar, title: string, cases: readonly ConformanceCase[], caseMs: number, close: () => Promise<void>): void {
  registrar.describe(title, () => {
    for (const c of cases) registrar.it(c.name, () => c.run(), caseMs);
    registrar.afterAll?.(close);
  });
}

/** The plugin's id for a title, or its directory when the package cannot be read (the manifest case says why). */
export function pluginTitle(packageDir: string): string {
  try {
    return readPluginPackage(packageDir).manifest.id;
  } catch {
    return packageDir;
  }
}

/** Reads the package for the manifest case: one that cannot be read fails that case with the reason. */
export function readPackageForCase(caseName: string, packageDir: string): PluginDescriptor {
  try {
    return readPluginPackage(packageDir);
  } catch (err) {
    throw new ConformanceFailure(caseName, undefined, [(err as Error).message]);
  }
}

/**
 * Collects cases: `add(name, fixture, body)` names a case "name [fixture]"
 * and runs its body through `run` (see runCase).
 */
export function caseCollector<R>(first: ConformanceCase, run: (name: string, fixture: string | undefined, body: (run: R) => Promise<void>) => Promise<void>): {
  readonly cases: ConformanceCase[];
  add(name: string, fixture: string | undefined, body: (run: R) => Promise<void>): void;
} {
  const cases: ConformanceCase[] = [first];
  return {
    cases,
    add(name, fixture, body) {
      cases.push({ name: fixture === undefined ? name : `${name} [${fixture}]`, run: () => run(name, fixture, body) });
    },
  };
}

/**
 * Runs one case: `prepare` (what every case needs, e.g. the loaded plugin;
 * its failure fails the case as "cannot be tested"), `start` of the case's
 * run, the body (an unexpected throw becomes one more problem), then the
 * run's finish, which throws ConformanceFailure listing the problems.
 */
export async function runCase<S, R extends CaseRunLike>(
  name: string,
  fixture: string | undefined,
  prepare: () => Promise<S>,
  start: (prepared: S) => Promise<R>,
  body: (run: R) => Promise<void>,
): Promise<void> {
  let prepared: S;
  try {
    prepared = await prepare();
  } catch (err) {
    throw new ConformanceFailure(name, fixture, [`the plugin cannot be tested: ${(err as Error).message}`]);
  }
  const run = await start(prepared);
  try {
    await body(run);
  } catch (err) {
    run.problems.push(`unexpected error: ${(err as Error)?.stack ?? String(err)}`);
  }
  await run.finish();
}
