import { Command, Option } from 'commander';
import { EbmError, OptionSpec, OptionValue, PluginDescriptor } from '@ebm/sdk';
import { collect } from './command-types';

/**
 * Plugins' own options on the command line: every option a discovered
 * translator declares in its manifest becomes a `--name` flag of backup or
 * restore (listed in `--help` and by `ebm plugins`), plus the generic
 * `-o name=value`. At run time only the chosen translator's options are
 * accepted; anything else is a usage error naming the plugin.
 */
export function addPluginOptions(cmd: Command, plugins: readonly PluginDescriptor[], op: 'backup' | 'restore', reserved: ReadonlySet<string>): void {
  const seen = new Set<string>();
  for (const plugin of plugins) {
    for (const spec of plugin.manifest.options ?? []) {
      if (!appliesTo(spec, op) || seen.has(spec.name) || reserved.has(spec.name)) continue;
      seen.add(spec.name);
      const help = `[${plugin.manifest.id}] ${spec.description}`;
      if (spec.type === 'boolean') cmd.addOption(new Option(`--${spec.name}`, help));
      else if (spec.type === 'string[]') cmd.addOption(new Option(`--${spec.name} <value>`, `${help} (repeatable)`).argParser(collect));
      else cmd.addOption(new Option(`--${spec.name} <value>`, help));
    }
  }
  cmd.option('-o, --option <name=value>', 'a plugin option by name (repeatable)', collect);
}

/** Picks and validates the chosen plugin's options out of commander's parsed options. */
export function pluginOptionValues(plugin: PluginDescriptor, op: 'backup' | 'restore', parsed: Record<string, unknown>, allPlugins: readonly PluginDescriptor[]): Record<string, OptionValue> {
  const specs = (plugin.manifest.options ?? []).filter((s) => appliesTo(s, op));
  const byName = new Map(specs.map((s) => [s.name, s]));
  const out: Record<string, OptionValue> = {};
  const foreign = new Set<string>();
  for (const other of allPlugins) for (const s of other.manifest.options ?? []) if (!byName.has(s.name)) foreign.add(s.name);
  for (const name of foreign) {
    if (parsed[camel(name)] !== undefined) {
      throw new EbmError('E_USAGE', `--${name} is not an option of the ${plugin.manifest.id} translator (see \`ebm plugins\`)`);
    }
  }
  for (const spec of specs) {
    const value = parsed[camel(spec.name)];
    if (value !== undefined) out[spec.name] = coerce(plugin, spec, value);
  }
  for (const pair of (parsed.option as string[] | undefined) ?? []) {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    const spec = byName.get(name);
    if (!spec) throw new EbmError('E_USAGE', `-o ${name}: the ${plugin.manifest.id} translator has no ${op} option "${name}" (see \`ebm plugins\`)`);
    const raw = eq < 0 ? 'true' : pair.slice(eq + 1);
    if (spec.type === 'string[]') out[name] = [...((out[name] as string[] | undefined) ?? []), raw];
    else out[name] = coerce(plugin, spec, raw);
  }
  return out;
}

function coerce(plugin: PluginDescriptor, spec: OptionSpec, value: unknown): OptionValue {
  switch (spec.type) {
    case 'boolean':
      if (value === true || value === 'true' || value === '1' || value === 'yes') return true;
      if (value === false || value === 'false' || value === '0' || value === 'no') return false;
      break;
    case 'number': {
      const n = typeof value === 'number' ? value : Number(value);
      if (Number.isFinite(n)) return n;
      break;
    }
    case 'string[]':
      return Array.isArray(value) ? value.map(String) : [String(value)];
    case 'string':
      if (typeof value === 'string') return value;
      break;
  }
  throw new EbmError('E_USAGE', `--${spec.name}: ${JSON.stringify(value)} is not a valid ${spec.type} for the ${plugin.manifest.id} translator`);
}

function appliesTo(spec: OptionSpec, op: 'backup' | 'restore'): boolean {
  return spec.appliesTo === undefined || spec.appliesTo === 'both' || spec.appliesTo === op;
}

function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
