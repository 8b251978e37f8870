import type { ErrorCode } from '../errors/catalogue';
import { isErrorCode } from '../errors/catalogue';
import type { LayerChangeKind, LayerKind, LayerLayout } from '../layers/layer';
import type { LayerProvider } from '../layers/layer-provider';
import type { OptionValue } from '../manifest/manifest';
import { deepFreeze } from '../runtime/deep-freeze';
import { createInProcessLayerRunner } from './layer-runner';
import type { LayerRunner } from './layer-runner';
import { createWorkerLayerRunner } from './layer-worker-runner';
import type { DescribeFn, HookFn, ItFn } from './tester-options';

/** What a fixture's build returns: the source to discover, and optionally an oracle and a clean-up. */
export interface LayerFixtureBuild {
  readonly source: string;
  /**
   * A directory holding the merged view of the whole stack (an overlay mount
   * point, the live tree of a layer-mapped machine): applying every layer's
   * changes in order (applyLayerChanges) must give exactly this tree (types,
   * modes, owners, sizes, contents, link targets).
   */
  readonly merged?: string;
  /** Undoes what build did outside its directory (unmounts); called when the case ends, pass or fail. */
  teardown?(): Promise<void> | void;
}

/** An expected layer, bottom first; only the fields given are compared. */
export interface ExpectedLayer {
  readonly kind: LayerKind;
  readonly id?: string;
  readonly name?: string;
  readonly immutable?: boolean;
  readonly digest?: string;
  readonly files?: number;
  readonly bytes?: number;
}

/** A change the provider must report (others may come too). */
export interface ExpectedChange {
  readonly path: string;
  readonly change: LayerChangeKind;
  readonly lowerPath?: string;
  /** metacopy: the path inside the data layer's root (the layer itself is checked to be below). */
  readonly dataPath?: string;
}

export interface LayerFixture {
  readonly name: string;
  /** Builds the source in `dir` (new, empty, removed afterwards). Called once per case; must build equal sources each time. */
  build(dir: string): Promise<LayerFixtureBuild | string | void> | LayerFixtureBuild | string | void;
  readonly options?: Readonly<Record<string, OptionValue>>;
  readonly expect?: {
    readonly layout?: LayerLayout;
    readonly layers?: readonly ExpectedLayer[];
    /** Expected changes by layer order (bottom = 0). */
    readonly changes?: Readonly<Record<number, readonly ExpectedChange[]>>;
  };
}

/** A source the provider must refuse with a typed error. */
export interface InvalidLayerSource {
  readonly name: string;
  build(dir: string): Promise<string | void> | string | void;
  readonly expect?: ErrorCode | readonly ErrorCode[];
  readonly options?: Readonly<Record<string, OptionValue>>;
}

export interface LayerTesterTimeouts {
  /** An invalid source must be refused within this bound (default 10 000 ms). */
  readonly invalidInputMs?: number;
  /** A cancelled request must end within this long after the cancel (default 2 000 ms). */
  readonly cancelMs?: number;
  /** Any other request must end within this bound (default 60 000 ms). */
  readonly taskMs?: number;
  /** The test runner's timeout for each case (default 120 000 ms). */
  readonly caseMs?: number;
}

export interface LayerProviderTesterOptions {
  /** The plugin package's directory (package.json with the "ebm" manifest, compiled entry). */
  readonly packageDir: string;
  /** Use this provider instead of loading the manifest's entry. */
  readonly provider?: LayerProvider;
  readonly fixtures: readonly LayerFixture[];
  readonly invalidSources?: readonly InvalidLayerSource[];
  /**
   * Where requests run; every case runs on each, and their answers must agree.
   * Default: in-process and in a real worker thread (createWorkerLayerRunner);
   * with `provider` given, in-process only (a worker loads the compiled entry,
   * not that object).
   */
  readonly runners?: readonly LayerRunner[];
  readonly timeouts?: LayerTesterTimeouts;
  readonly describe?: DescribeFn;
  readonly it?: ItFn;
  readonly afterAll?: HookFn;
}

export interface ResolvedLayerOptions {
  readonly packageDir: string;
  readonly provider?: LayerProvider;
  readonly fixtures: readonly LayerFixture[];
  readonly invalidSources: readonly InvalidLayerSource[];
  readonly runners: readonly LayerRunner[];
  readonly timeouts: Required<LayerTesterTimeouts>;
}

/** Checks the options up front (TypeError/RangeError naming the field) and freezes what providers and callbacks receive. */
export function resolveLayerOptions(o: LayerProviderTesterOptions): ResolvedLayerOptions {
  const fail = (m: string): never => { throw new TypeError(`LayerProviderTester: ${m}`); };
  if (typeof o !== 'object' || o === null) fail('options must be an object');
  if (typeof o.packageDir !== 'string' || o.packageDir === '') fail('options.packageDir must be the plugin package directory');
  if (!Array.isArray(o.fixtures) || o.fixtures.length === 0) fail('options.fixtures must list at least one fixture');
  for (const [field, list] of [['fixtures', o.fixtures], ['invalidSources', o.invalidSources ?? []]] as const) {
    const seen = new Set<string>();
    list.forEach((item, i) => {
      if (typeof item?.name !== 'string' || item.name === '') fail(`options.${field}[${i}].name must be a non-empty string`);
      if (typeof item.build !== 'function') fail(`options.${field}[${i}] ("${item.name}") needs a build function`);
      if (seen.has(item.name)) fail(`options.${field} has two entries named "${item.name}"`);
      seen.add(item.name);
    });
  }
  for (const [i, s] of (o.invalidSources ?? []).entries()) {
    const codes = s.expect === undefined ? [] : typeof s.expect === 'string' ? [s.expect] : s.expect;
    for (const c of codes) if (!isErrorCode(c)) fail(`invalidSources[${i}].expect has ${JSON.stringify(c)}, which is not an error code of the catalogue`);
  }
  const runners = o.runners ?? (o.provider !== undefined ? [createInProcessLayerRunner()] : [createInProcessLayerRunner(), createWorkerLayerRunner()]);
  if (!Array.isArray(runners) || runners.length === 0) fail('options.runners must list at least one runner');
  const t = o.timeouts ?? {};
  const timeouts = { invalidInputMs: t.invalidInputMs ?? 10_000, cancelMs: t.cancelMs ?? 2_000, taskMs: t.taskMs ?? 60_000, caseMs: t.caseMs ?? 120_000 };
  for (const [key, ms] of Object.entries(timeouts)) {
    if (!Number.isFinite(ms) || ms <= 0) throw new RangeError(`LayerProviderTester: options.timeouts.${key} must be a positive number of milliseconds, got ${ms}`);
  }
  return {
    packageDir: o.packageDir,
    ...(o.provider !== undefined ? { provider: o.provider } : {}),
    // Copies, frozen: a provider or callback that mutates its inputs fails instead of corrupting the next case.
    fixtures: deepFreeze(o.fixtures.map((f) => ({ ...f, ...(f.options ? { options: structuredClone(f.options) } : {}), ...(f.expect ? { expect: structuredClone(f.expect) } : {}) }))),
    invalidSources: deepFreeze((o.invalidSources ?? []).map((s) => ({ ...s, ...(s.options ? { options: structuredClone(s.options) } : {}) }))),
    runners: [...runners],
    timeouts,
  };
}
