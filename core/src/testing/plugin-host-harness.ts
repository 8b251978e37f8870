import { discoverPlugins } from '../plugin-host/discovery';
import { EbmError } from '@ebm/sdk';
import type { HarnessHost, HarnessRepository, PluginUnderTest } from '@ebm/sdk/testing';
import { HostEvents } from '../events/host-events';
import type { HostConfig } from '../plugin-host/host-config';
import { PluginHost } from '../plugin-host/plugin-host';
import { CoreHarnessRepository } from './core-harness-repository';
import { RepositoryKind, RepositoryTemplate } from './repository-template';

export interface PluginHostHarnessOptions {
  /**
   * 'memory' (default): ebm's real repository format (packs, index,
   * encryption, compression) on an in-memory backend, fast; 'disk': the same
   * in a temporary directory, removed when the host is closed.
   */
  readonly repository?: RepositoryKind;
  /** Chunk sizes of the repositories (default 16/64/256 KiB, so small fixtures span several chunks). */
  readonly chunker?: { readonly minSize: number; readonly avgSize: number; readonly maxSize: number };
  /** Plugin host limits; the defaults suit tests (cancel grace 3 s, stall timeout 30 s, one worker). */
  readonly hostConfig?: Partial<HostConfig>;
}

const SMALL_CHUNKS = { minSize: 16 * 1024, avgSize: 64 * 1024, maxSize: 256 * 1024 };

/**
 * A conformance-harness host (the HarnessHost of `@ebm/sdk/testing`) that
 * runs worker-mode tasks through ebm's real plugin host, on ebm's real
 * repository format. The plugin is also found by ebm's own discovery, so a
 * package the host would refuse fails here first.
 *
 *   new TranslatorTester({ packageDir, fixtures, host: () => createPluginHostHarness() }).run();
 */
export function createPluginHostHarness(options: PluginHostHarnessOptions = {}): PluginHostHarness {
  return new PluginHostHarness(options);
}

export class PluginHostHarness implements HarnessHost {
  readonly label: string;
  /** The plugin host's events (plugin loaded/unloaded/crashed, job progress): tests can watch the real host at work. */
  readonly events = new HostEvents();
  readonly #host: PluginHost;
  readonly #template: RepositoryTemplate;

  constructor(options: PluginHostHarnessOptions) {
    const kind = options.repository ?? 'memory';
    if (kind !== 'memory' && kind !== 'disk') throw new TypeError(`createPluginHostHarness: repository must be 'memory' or 'disk', got ${JSON.stringify(kind)}`);
    this.label = kind === 'disk' ? 'ebm plugin host, on-disk repository' : 'ebm plugin host';
    this.#host = new PluginHost({ cancelGraceMs: 3_000, stallTimeoutMs: 30_000, maxThreads: 1, idleTimeoutMs: 10_000, ...options.hostConfig }, this.events);
    this.#template = new RepositoryTemplate(kind, options.chunker ?? SMALL_CHUNKS);
  }

  async createRepository(plugin: PluginUnderTest): Promise<HarnessRepository> {
    const found = discoverPlugins({ dirs: [plugin.packageDir], pluginPath: '', searchNodeModules: false });
    const problem = found.problems[0];
    if (problem !== undefined) throw EbmError.fromRecord(problem.error);
    const descriptor = found.plugins.find((p) => p.manifest.id === plugin.manifest.id);
    if (descriptor === undefined) throw new EbmError('E_PLUGIN_NOT_FOUND', `ebm's discovery does not find plugin ${plugin.manifest.id} in ${plugin.packageDir}`);
    return new CoreHarnessRepository(await this.#template.create(), { ...descriptor, translator: plugin.translator }, this.#host);
  }

  async close(): Promise<void> {
    await this.#host.close();
    await this.#template.close();
  }
}
