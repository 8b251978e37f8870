import type { PluginDescriptor } from '@ebm/sdk';
import { PluginRegistry } from '../../plugin-host/plugin-registry';

let cached: readonly PluginDescriptor[] | undefined;

/**
 * The discovered plugins, for building `--help` and the plugin option flags.
 * Discovery only reads package.json files, so this is cheap; a broken plugin
 * never stops the CLI from starting (it is listed by `ebm plugins`).
 */
export function discoverPluginsForHelp(): readonly PluginDescriptor[] {
  try {
    cached ??= PluginRegistry.discover().list();
  } catch {
    cached = [];
  }
  return cached;
}
