import type { ErrorCode } from '../errors/catalogue';
import { isErrorCode } from '../errors/catalogue';
import type { OptionValue } from '../manifest/manifest';
import { deepFreeze } from '../runtime/deep-freeze';
import type { Translator } from '../translator/translator';
import { fileEquality } from './file-equality';
import type { SourceEquality } from './file-equality';
import type { HarnessHost } from './harness-host';
import { createWorkerHarnessHost } from './worker-host';

/** A source the plugin must back up and restore faithfully. */
export interface TranslatorFixture {
  /** Names the fixture in case names and failures. */
  readonly name: string;
  /**
   * Builds the source in `dir` (a new, empty directory the harness removes
   * afterwards) and returns what to pass to backup as the source (default:
   * `dir` itself). Called once per case (twice for incremental cases: once
   * per mode); must build equal sources each time.
   */
  build(dir: string): Promise<string | void> | string | void;
  /** The plugin's options for this fixture's backups and restores (frozen by the tester). */
  readonly options?: Readonly<Record<string, OptionValue>>;
  /** Mutations for the incremental cases of this fixture only (added to the tester's `mutations`). */
  readonly mutations?: readonly SourceMutation[];
}

/** A change of a built source, for the incremental cases. */
export interface SourceMutation {
  readonly name: string;
  /** Changes the source: `source` as the fixture returned it, `dir` the fixture's directory. */
  apply(source: string, dir: string): Promise<void> | void;
  /** Default true: the incremental backup must store fewer bytes than a new baseline of the mutated source. */
  readonly storesLess?: boolean;
  /** Default true: with the 'incremental' capability, the incremental backup must reuse a file or read fewer bytes than a baseline. */
  readonly readsLess?: boolean;
}

/** A source the plugin must refuse with a typed error. */
export interface InvalidSource {
  readonly name: string;
  /** Builds the bad source in `dir` and returns it (default: `dir`). */
  build(dir: string): Promise<string | void> | string | void;
  /** The code (or one of the codes) expected; default: any catalogue code that is not an untyped failure. */
  readonly expect?: ErrorCode | readonly ErrorCode[];
  readonly options?: Readonly<Record<string, OptionValue>>;
}

export type DescribeFn = (name: string, body: () => void) => unknown;
export type ItFn = (name: string, body: () => Promise<void>, timeoutMs?: number) => unknown;
export type HookFn = (body: () => Promise<void>) => unknown;

export interface HarnessTimeouts {
  /** A backup of an invalid source must fail within this bound (default 10 000 ms). */
  readonly invalidInputMs?: number;
  /** A cancelled task must end within this long after the host's cancel (default 2 000 ms). */
  readonly cancelMs?: number;
  /** Any other task must end within this bound (default 60 000 ms). */
  readonly taskMs?: number;
  /** Passed to the test runner as each case's timeout (default 120 000 ms). */
  readonly caseMs?: number;
}

export interface TranslatorTesterOptions {
  /** The plugin package's directory (holding package.json with the "ebm" manifest and the compiled entry). */
  readonly packageDir: string;
  /** Use this translator for in-process runs instead of loading the manifest's entry (worker runs always load the entry). */
  readonly translator?: Translator;
  readonly fixtures: readonly TranslatorFixture[];
  /** Mutations applied to every fixture in the incremental cases. */
  readonly mutations?: readonly SourceMutation[];
  /** Sources the plugin must refuse, each with a typed error. */
  readonly invalidSources?: readonly InvalidSource[];
  /** Also derive invalid inputs from every fixture (missing source; truncated, corrupted, emptied files; the other kind of source). Default true. */
  readonly deriveInvalidInputs?: boolean;
  /** How a restore is compared with its source (default: fileEquality()). */
  readonly equal?: SourceEquality;
  /** Where worker runs happen and what the repository is (default: createWorkerHarnessHost()). A function is called once, lazily. */
  readonly host?: HarnessHost | (() => HarnessHost | Promise<HarnessHost>);
  /** Cancellation points per operation and fixture (default 3, always including the first message). */
  readonly cancelPoints?: number;
  /** Seed of the cancellation points (default 1); the points are named in failures. */
  readonly seed?: number;
  readonly timeouts?: HarnessTimeouts;
  /** The test runner's functions; default the globals `describe`, `it` and `afterAll` (or mocha's `after`). */
  readonly describe?: DescribeFn;
  readonly it?: ItFn;
  readonly afterAll?: HookFn;
}

export interface ResolvedOptions {
  readonly packageDir: string;
  readonly translator?: Translator;
  readonly fixtures: readonly TranslatorFixture[];
  readonly mutations: readonly SourceMutation[];
  readonly invalidSources: readonly InvalidSource[];
  readonly deriveInvalidInputs: boolean;
  readonly equal: SourceEquality;
  readonly host: () => HarnessHost | Promise<HarnessHost>;
  readonly cancelPoints: number;
  readonly seed: number;
  readonly timeouts: Required<HarnessTimeouts>;
}

/** Checks the options up front (TypeError/RangeError naming the field) and freezes what plugins and callbacks receive. */
export function resolveOptions(o: TranslatorTesterOptions): ResolvedOptions {
  if (typeof o !== 'object' || o === null) throw new TypeError('TranslatorTester: options must be an object');
  if (typeof o.packageDir !== 'string' || o.packageDir === '') throw new TypeError('TranslatorTester: options.packageDir must be the plugin package directory');
  if (!Array.isArray(o.fixtures) || o.fixtures.length === 0) throw new TypeError('TranslatorTester: options.fixtures must list at least one fixture');
  uniqueNamed(o.fixtures, 'fixtures', 'build');
  uniqueNamed(o.mutations ?? [], 'mutations', 'apply');
  uniqueNamed(o.invalidSources ?? [], 'invalidSources', 'build');
  o.fixtures.forEach((f, i) => uniqueNamed(f.mutations ?? [], `fixtures[${i}].mutations`, 'apply'));
  for (const [i, s] of (o.invalidSources ?? []).entries()) {
    const codes = s.expect === undefined ? [] : typeof s.expect === 'string' ? [s.expect] : s.expect;
    for (const c of codes) if (!isErrorCode(c)) throw new TypeError(`TranslatorTester: invalidSources[${i}].expect has ${JSON.stringify(c)}, which is not an error code of the catalogue`);
  }
  const cancelPoints = o.cancelPoints ?? 3;
  if (!Number.isInteger(cancelPoints) || cancelPoints < 1) throw new RangeError(`TranslatorTester: options.cancelPoints must be a positive integer, got ${cancelPoints}`);
  const t = o.timeouts ?? {};
  const timeouts = { invalidInputMs: t.invalidInputMs ?? 10_000, cancelMs: t.cancelMs ?? 2_000, taskMs: t.taskMs ?? 60_000, caseMs: t.caseMs ?? 120_000 };
  for (const [key, ms] of Object.entries(timeouts)) {
    if (!Number.isFinite(ms) || ms <= 0) throw new RangeError(`TranslatorTester: options.timeouts.${key} must be a positive number of milliseconds, got ${ms}`);
  }
  const host = o.host;
  return {
    packageDir: o.packageDir,
    ...(o.translator !== undefined ? { translator: o.translator } : {}),
    // Frozen, so a plugin (or callback) that mutates its inputs fails instead of corrupting the next case.
    // Copies, so the caller's own objects stay unfrozen.
    fixtures: deepFreeze(o.fixtures.map((f) => ({
      ...f,
      ...(f.options ? { options: structuredClone(f.options) } : {}),
      ...(f.mutations ? { mutations: f.mutations.map((m: SourceMutation) => ({ ...m })) } : {}),
    }))),
    mutations: deepFreeze((o.mutations ?? []).map((m) => ({ ...m }))),
    invalidSources: deepFreeze((o.invalidSources ?? []).map((s) => ({ ...s, ...(s.options ? { options: structuredClone(s.options) } : {}) }))),
    deriveInvalidInputs: o.deriveInvalidInputs ?? true,
    equal: o.equal ?? fileEquality(),
    host: typeof host === 'function' ? host : host !== undefined ? () => host : () => createWorkerHarnessHost(),
    cancelPoints,
    seed: o.seed ?? 1,
    timeouts,
  };
}

function uniqueNamed(list: readonly { readonly name?: unknown }[], field: string, fn: string): void {
  if (!Array.isArray(list)) throw new TypeError(`TranslatorTester: options.${field} must be an array`);
  const seen = new Set<string>();
  list.forEach((item, i) => {
    if (typeof item?.name !== 'string' || item.name === '') throw new TypeError(`TranslatorTester: options.${field}[${i}].name must be a non-empty string`);
    if (typeof (item as Record<string, unknown>)[fn] !== 'function') throw new TypeError(`TranslatorTester: options.${field}[${i}] ("${item.name}") needs a ${fn} function`);
    if (seen.has(item.name)) throw new TypeError(`TranslatorTester: options.${field} has two entries named "${item.name}"`);
    seen.add(item.name);
  });
}
