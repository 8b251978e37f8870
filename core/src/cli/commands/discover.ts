import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { EbmError } from '@ebm/sdk';
import type { PluginDescriptor } from '@ebm/sdk';
import type { RegisterCommand } from '../command-types';
import type { CliContext } from '../cli-context';
import { addPluginOptions, pluginOptionValues } from '../plugin-options';
import { describe } from '../discovery-text';
import { Catalog } from '../../catalog/catalog';
import type { DiscoveryRecord } from '../../catalog/discoveries';
import { DiscoverService } from '../../discover/discover-service';
import { PluginRegistry } from '../../plugin-host/plugin-registry';
import { discoverPluginsForHelp } from './plugin-list';
import { layeredSource } from './backup-layers';
import { CATALOG_FILE_FLAGS, CATALOG_FILE_HELP, catalogFileFor } from './catalog';

interface DiscoverOptions {
  translator?: string;
  provider?: string;
  lower?: string;
  upper?: string;
  record?: boolean;
  catalogFile?: string;
  [plugin: string]: unknown;
}

const RESERVED = new Set(['translator', 'provider', 'lower', 'upper', 'record', 'catalog-file', 'repo', 'json', 'quiet', 'password-file', 'option']);
/** Without --translator/--provider, a discovery asks the layer provider (`ebm discover SOURCE` prints an endpoint's layers). */
const DEFAULT_PROVIDER = 'overlay';

export const registerDiscover: RegisterCommand = (program, run) => {
  const cmd: Command = program
    .command('discover')
    .description("describe a source without backing it up: an endpoint's layers (a layer provider), a database's tables, rows, size and journal mode (a translator that implements discovery); recorded in the repository's catalog when a repository is given")
    .argument('[source...]', 'what to look at, as for `ebm backup` with the same plugin')
    .option('-t, --translator <id>', 'a translator that implements discovery (e.g. sqlite)')
    .option('-p, --provider <id>', `a layer provider (default: ${DEFAULT_PROVIDER})`)
    .option('--lower <dirs>', 'overlay layer directories that are not mounted: the lower directories, uppermost first, ":"-separated (as lowerdir=)')
    .option('--upper <dir>', 'with --lower: the upper (writable) directory')
    .option('--no-record', 'do not record the result in the catalog even when a repository is given')
    .option(CATALOG_FILE_FLAGS, CATALOG_FILE_HELP);
  addPluginOptions(cmd, discoverPluginsForHelp(), 'backup', RESERVED);
  cmd.action(
    run(async (ctx: CliContext, operands: string[], opts: DiscoverOptions) => {
      if (opts.translator !== undefined && opts.provider !== undefined) throw new EbmError('E_USAGE', 'give either --translator or --provider, not both');
      const registry = ctx.container.resolve(PluginRegistry);
      const plugin = registry.get(opts.translator ?? opts.provider ?? DEFAULT_PROVIDER);
      checkKind(plugin, opts);
      const options = pluginOptionValues(plugin, 'backup', opts, registry.list());
      const source = opts.lower !== undefined || opts.upper !== undefined ? layeredSource(operands, opts) : sourceOf(operands);
      const result = await ctx.container.resolve(DiscoverService).discover({ plugin: plugin.manifest.id, source, options, signal: ctx.signal });
      for (const w of result.warnings) {
        ctx.output.warn(`${w.path}: ${w.message}`);
        ctx.output.line({ type: 'warning', ...w });
      }
      const recordedIn = opts.record !== false && ctx.hasRepository() ? await record(ctx, opts, result) : undefined;
      ctx.output.line({ type: 'result', op: 'discover', plugin: result.plugin, pluginVersion: result.pluginVersion, source: result.source, time: result.time, report: result.report, ...(recordedIn ? { catalog: recordedIn } : {}) });
      if (!ctx.output.json) for (const text of describe(result.report)) ctx.output.print(text);
      if (recordedIn) ctx.output.info(`recorded in the catalog ${recordedIn}`);
    }),
  );
};

function checkKind(plugin: PluginDescriptor, opts: DiscoverOptions): void {
  const kind = plugin.manifest.kind;
  if (opts.translator !== undefined && kind !== 'translator') throw new EbmError('E_USAGE', `${plugin.manifest.id} is a ${kind}, not a translator: use --provider ${plugin.manifest.id}`);
  if (opts.translator === undefined && kind !== 'layer-provider') throw new EbmError('E_USAGE', `${plugin.manifest.id} is a ${kind}, not a layer provider: use --translator ${plugin.manifest.id}`);
}

/** One operand as it is (an existing path made absolute, as `ebm backup` does); several are an argv. */
function sourceOf(operands: readonly string[]): string {
  if (operands.length === 0) throw new EbmError('E_USAGE', 'missing the source to discover (e.g. ebm discover --translator sqlite app.db)');
  if (operands.length > 1) return JSON.stringify(operands);
  const source = operands[0]!;
  return fs.existsSync(source) ? path.resolve(source) : source;
}

async function record(ctx: CliContext, opts: DiscoverOptions, result: DiscoveryRecord): Promise<string> {
  const repo = await ctx.openRepository();
  const catalog = Catalog.open(catalogFileFor(repo, opts));
  try {
    catalog.recordDiscovery(result);
    return catalog.file;
  } finally {
    catalog.close();
  }
}
