import { EbmError } from '@ebm/sdk';
import type { PluginDescriptor } from '@ebm/sdk';
import { discoverPlugins, DiscoveryOptions, DiscoveryResult, PluginProblem } from './discovery';

/**
 * The plugins this ebm can use, found once by discovery. Looking a plugin up
 * by id gives its descriptor, the recorded error of a broken plugin with that
 * id, or E_PLUGIN_NOT_FOUND listing what is installed.
 */
export class PluginRegistry {
  readonly #plugins: ReadonlyMap<string, PluginDescriptor>;
  readonly #problems: readonly PluginProblem[];

  constructor(result: DiscoveryResult) {
    this.#plugins = new Map(result.plugins.map((p) => [p.manifest.id, p]));
    this.#problems = Object.freeze([...result.problems]);
  }

  /** Runs discovery (reads package.json files only, synchronously) and returns the registry. */
  static discover(options: DiscoveryOptions = {}): PluginRegistry {
    return new PluginRegistry(discoverPlugins(options));
  }

  /** Usable plugins, sorted by id. */
  list(): PluginDescriptor[] {
    return [...this.#plugins.values()].sort((a, b) => (a.manifest.id < b.manifest.id ? -1 : a.manifest.id > b.manifest.id ? 1 : 0));
  }

  /** Packages that look like plugins but cannot be used, with why. */
  get problems(): readonly PluginProblem[] {
    return this.#problems;
  }

  has(id: string): boolean {
    return this.#plugins.has(id);
  }

  /**
   * The descriptor of plugin `id`. Throws the recorded E_PLUGIN_MANIFEST /
   * E_PLUGIN_API_MISMATCH when the only package with that id is broken, and
   * E_PLUGIN_NOT_FOUND (listing the available ids) when there is none.
   */
  get(id: string): PluginDescriptor {
    const found = this.#plugins.get(id);
    if (found !== undefined) return found;
    const broken = this.#problems.find((p) => p.id === id);
    if (broken !== undefined) throw EbmError.fromRecord(broken.error);
    const available = [...this.#plugins.keys()].sort();
    throw new EbmError(
      'E_PLUGIN_NOT_FOUND',
      `no installed plugin has id "${id}"; available: ${available.length > 0 ? available.join(', ') : '(none)'}`,
      { plugin: id, op: 'load' },
    );
  }
}

/**
 * Warms a worker of plugin `pluginId` for a job about to follow
 * (PluginHost.prewarm), for the services that know a plugin by id only. An
 * unknown or broken plugin is left to that job to report.
 */
export function prewarmPlugin(host: { prewarm(descriptor: PluginDescriptor): void }, registry: PluginRegistry, pluginId: string): void {
  if (registry.has(pluginId)) host.prewarm(registry.get(pluginId));
}
