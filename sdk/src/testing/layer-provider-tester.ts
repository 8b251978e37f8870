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
import { caseCollector, pluginTitle, readPackageForCase, registerCases, resolveRegistrar, runCase } from './conformance-cases';
import type { ConformanceCase } from './conformance-cases';

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
    const title = `layer provider ${pluginTitle(this.#options.packageDir)} conforms to the ebm layer contract`;
    registerCases(resolveRegistrar(this.#given, 'LayerProviderTester'), title, this.cases(), this.#options.timeouts.caseMs, () => this.close());
  }

  /** The cases, in order, without registering them. */
  cases(): ConformanceCase[] {
    const o = this.#options;
    const { cases, add } = caseCollector<LayerCaseRun>({ name: 'manifest and capabilities', run: () => this.#manifestCase() }, (name, fixture, body) =>
      runCase(name, fixture, () => this.#pluginOnce(), (plugin) => LayerCaseRun.start(name, fixture, plugin, this.#options), body),
    );
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

  async #manifestCase(): Promise<void> {
    const name = 'manifest and capabilities';
    const d = readPackageForCase(name, this.#options.packageDir);
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
