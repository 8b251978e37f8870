import { existsSync } from 'node:fs';
import { EbmError } from '../errors/ebm-error';
import { findLayerProviderExport } from '../layers/layer-provider';
import type { LayerProvider } from '../layers/layer-provider';
import type { PluginDescriptor } from '../manifest/manifest';
import { ConformanceFailure } from './conformance-failure';
import { discoveryCase, determinismCase } from './layer-checks';
import { LayerCaseRun } from './layer-case-run';
import { authoredInvalidLayerCase, layerCancellationCase, layerCloneCase, missingSourceCase, unknownLayerCase } from './layer-robustness-checks';
import type { LayerPluginUnderTest } from './layer-runner';
import { resolveLayerOptions } from './layer-tester-options';
import type { LayerProviderTesterOptions, ResolvedLayerOptions } from './layer-tester-options';
import { readPluginPackage } from './plugin-under-test';
import type { ConformanceCase } from './translator-tester';

/**
 * The conformance harness for layer-provider plugins, the sibling of
 * TranslatorTester: `new LayerProviderTester({ packageDir, fixtures }).run()`
 * in a test file registers one test per case with the runner's
 * describe/it. Each case runs on every configured LayerRunner (in-process by
 * default) and their answers must agree. A failing case throws a
 * ConformanceFailure naming the case, the fixture and the runner.
 */
export class LayerProviderTester {
  readonly #options: ResolvedLayerOptions;
  readonly #given: LayerProviderTesterOptions;
  #plugin: Promise<LayerPluginUnderTest> | undefined;

  constructor(options: LayerProviderTesterOptions) {
    this.#options = resolveLayerOptions(options);
    this.#given = options;
  }

  /** Registers the cases under one describe block, and closes the runners after them. */
  run(): void {
    let id: string | undefined;
    try {
      id = readPluginPackage(this.#options.packageDir).manifest.id;
    } catch {
      id = undefined; // the manifest case reports it
    }
    const g = globalThis as { describe?: unknown; it?: unknown; afterAll?: unknown; after?: unknown };
    const describe = this.#given.describe ?? g.describe;
    const it = this.#given.it ?? g.it;
    const afterAll = this.#given.afterAll ?? g.afterAll ?? g.after;
    if (typeof describe !== 'function' || typeof it !== 'function') {
      throw new TypeError('LayerProviderTester: no describe()/it() found; run it under jest, mocha or vitest with globals, or pass { describe, it, afterAll }');
    }
    describe(`layer provider ${id ?? this.#options.packageDir} conforms to the ebm layer contract`, () => {
      for (const c of this.cases()) it(c.name, () => c.run(), this.#options.timeouts.caseMs);
      if (typeof afterAll === 'function') afterAll(() => this.close());
    });
  }

  /** The cases, in order, without registering them. */
  cases(): ConformanceCase[] {
    const o = this.#options;
    const cases: ConformanceCase[] = [{ name: 'manifest and capabilities', run: () => this.#manifestCase() }];
    const add = (name: string, fixture: string | undefined, body: (run: LayerCaseRun) => Promise<void>): void => {
      cases.push({ name: fixture === undefined ? name : `${name} [${fixture}]`, run: () => this.#runCase(name, fixture, body) });
    };
    for (const f of o.fixtures) {
      add('discovery, files and changes', f.name, (run) => discoveryCase(run, f));
      add('determinism', f.name, (run) => determinismCase(run, f));
      add('cancellation', f.name, (run) => layerCancellationCase(run, f));
      add('structured clone and frozen inputs', f.name, (run) => layerCloneCase(run, f));
      add('invalid input: missing source', f.name, (run) => missingSourceCase(run, f));
      add('invalid input: unknown layer', f.name, (run) => unknownLayerCase(run, f));
    }
    for (const s of o.invalidSources) add('invalid input', s.name, (run) => authoredInvalidLayerCase(run, s));
    return cases;
  }

  async close(): Promise<void> {
    for (const runner of this.#options.runners) await runner.close();
  }

  #pluginOnce(): Promise<LayerPluginUnderTest> {
    this.#plugin ??= loadLayerPlugin(readPluginPackage(this.#options.packageDir), this.#options.provider);
    this.#plugin.catch(() => (this.#plugin = undefined));
    return this.#plugin;
  }

  async #runCase(name: string, fixture: string | undefined, body: (run: LayerCaseRun) => Promise<void>): Promise<void> {
    let plugin: LayerPluginUnderTest;
    try {
      plugin = await this.#pluginOnce();
    } catch (err) {
      throw new ConformanceFailure(name, fixture, [`the plugin cannot be tested: ${(err as Error).message}`]);
    }
    const run = await LayerCaseRun.start(name, fixture, plugin, this.#options);
    try {
      await body(run);
    } catch (err) {
      run.problems.push(`unexpected error: ${(err as Error)?.stack ?? String(err)}`);
    }
    await run.finish();
  }

  async #manifestCase(): Promise<void> {
    const name = 'manifest and capabilities';
    let d: PluginDescriptor;
    try {
      d = readPluginPackage(this.#options.packageDir);
    } catch (err) {
      throw new ConformanceFailure(name, undefined, [(err as Error).message]);
    }
    const problems: string[] = [];
    if (d.manifest.kind !== 'layer-provider') problems.push(`the manifest's kind is "${d.manifest.kind}"; LayerProviderTester tests layer providers (kind "layer-provider")`);
    if (!d.manifest.capabilities.includes('layers')) problems.push(`the manifest does not declare the 'layers' capability`);
    if (!existsSync(d.entryPath)) problems.push(`the entry ${d.manifest.entry} (${d.entryPath}) does not exist: compile the plugin before testing it`);
    else await loadLayerPlugin(d).catch((err: Error) => problems.push(err.message));
    if (problems.length > 0) throw new ConformanceFailure(name, undefined, problems);
  }
}

/** Loads the plugin's entry in this thread and picks its layer provider; `override` replaces it. */
export async function loadLayerPlugin(d: PluginDescriptor, override?: LayerProvider): Promise<LayerPluginUnderTest> {
  if (override !== undefined) return { ...d, provider: override };
  let mod: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(d.entryPath);
  } catch (err) {
    throw new EbmError('E_PLUGIN_LOAD', `plugin ${d.manifest.id} could not be loaded from ${d.entryPath}: ${(err as Error).message} (is it compiled?)`, { plugin: d.manifest.id, op: 'load', cause: err });
  }
  const provider = findLayerProviderExport(mod);
  if (provider === undefined) {
    throw new EbmError('E_PLUGIN_LOAD', `plugin ${d.manifest.id} (${d.entryPath}) exports no layer provider: export one built with defineLayerProvider as "default" or "layerProvider"`, { plugin: d.manifest.id, op: 'load' });
  }
  return { ...d, provider };
}
