/**
 * The plugin manifest: the "ebm" field of a plugin package's package.json.
 * The host reads it without loading the plugin's code (so `ebm plugins` is
 * cheap and a broken plugin cannot run before it is validated).
 */
export type PluginKind = 'translator' | 'layer-provider';

/** The plugin-API version this SDK implements. Plugins declare a semver range it must satisfy. */
export const PLUGIN_API_VERSION = '1.0.0';

/** Capabilities a plugin may declare. Unknown ones are refused (a typo must not pass silently). */
export const KNOWN_CAPABILITIES = [
  'incremental',
  'streaming',
  'exclude',
  'xattrs',
  'hardlinks',
  'partial-restore',
  'block-level',
  'application-consistent',
  'layers',
] as const;
export type Capability = (typeof KNOWN_CAPABILITIES)[number];

export type OptionType = 'string' | 'string[]' | 'boolean' | 'number';
export type OptionValue = string | readonly string[] | boolean | number;

/** An option a plugin accepts; the CLI passes `--name value` through to the plugin. */
export interface OptionSpec {
  readonly name: string;
  readonly type: OptionType;
  readonly description: string;
  /** Applies to 'backup', 'restore' or both (default both). */
  readonly appliesTo?: 'backup' | 'restore' | 'both';
}

export interface ResourceNeeds {
  /** Expected peak heap of one job in MiB; also its worker's heap limit unless the host overrides it. */
  readonly memoryMiB?: number;
  /** Worker threads one job uses (1 for nearly every translator). */
  readonly threads?: number;
}

export interface PluginManifest {
  /** Stable id, lowercase, e.g. 'filesystem', 'sqlite'. Snapshots record it. */
  readonly id: string;
  readonly kind: PluginKind;
  /** Semver range of plugin-API versions the plugin supports, e.g. '^1.0.0'. */
  readonly apiVersion: string;
  /** Module path relative to the package root; must export a translator (see defineTranslator). */
  readonly entry: string;
  readonly displayName?: string;
  readonly description?: string;
  readonly capabilities: readonly Capability[];
  readonly resources?: ResourceNeeds;
  readonly options?: readonly OptionSpec[];
}

/** A manifest together with where it came from. */
export interface PluginDescriptor {
  readonly manifest: PluginManifest;
  /** npm package name and version. */
  readonly packageName: string;
  readonly version: string;
  /** Absolute directory of the package. */
  readonly packageDir: string;
  /** Absolute path of the entry module. */
  readonly entryPath: string;
}
