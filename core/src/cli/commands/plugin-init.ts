import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { EbmError } from '@ebm/sdk';
import type { RegisterCommand } from '../command-types';
import type { CliContext } from '../cli-context';

/** Where the templates live: core/templates/<kind>/ (shipped with the package, next to dist/). */
const TEMPLATES = path.resolve(__dirname, '..', '..', '..', 'templates');
const ID_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;
const KINDS = ['translator'] as const;

interface InitOptions {
  readonly kind: string;
  readonly id?: string;
  readonly name?: string;
  readonly displayName?: string;
}

/**
 * `ebm plugin init <dir> --kind translator`: writes a new plugin package from
 * the template — manifest, tsconfig, a working translator for a trivial
 * format, a passing conformance test, a README. Template files are copied
 * with {{id}}, {{packageName}}, {{displayName}} and {{sdkVersion}} filled in;
 * `*.template` files lose that suffix and `gitignore` becomes `.gitignore`.
 */
export const registerPluginInit: RegisterCommand = (program, run) => {
  program
    .command('plugin')
    .description('tools for plugin authors')
    .command('init')
    .description('create a new plugin package from the template (see docs/plugins.md)')
    .argument('<dir>', 'directory to create (must not exist, or be empty)')
    .option('--kind <kind>', `plugin kind: ${KINDS.join(', ')}`, 'translator')
    .option('--id <id>', 'plugin id (default: from the directory name)')
    .option('--name <package>', 'npm package name (default: ebm-translator-<id>)')
    .option('--display-name <text>', 'human name shown by `ebm plugins`')
    .action(
      run(async (ctx: CliContext, dir: string, opts: InitOptions) => {
        const target = path.resolve(dir);
        const vars = variables(target, opts);
        await ensureEmpty(target);
        const written = await copyTemplate(path.join(TEMPLATES, opts.kind), target, vars);
        ctx.output.info(`created ${opts.kind} plugin "${vars.id}" (${vars.packageName}) in ${target}:`);
        for (const file of written) ctx.output.info(`  ${file}`);
        ctx.output.info('');
        ctx.output.info(`next: cd ${dir} && npm install && npm test; then put it on EBM_PLUGIN_PATH and run \`ebm plugins\``);
        ctx.output.line({ type: 'result', op: 'plugin-init', kind: opts.kind, id: vars.id, packageName: vars.packageName, dir: target, files: written });
      }),
    );
};

function variables(target: string, opts: InitOptions): Record<string, string> {
  if (!(KINDS as readonly string[]).includes(opts.kind)) {
    throw new EbmError('E_USAGE', `--kind ${opts.kind} has no template; available: ${KINDS.join(', ')} (layer-provider templates come with the layer-provider API)`);
  }
  const id = opts.id ?? path.basename(target).toLowerCase().replace(/^ebm-translator-/, '').replace(/[^a-z0-9-]+/g, '-').replace(/^[^a-z]+/, '');
  if (!ID_PATTERN.test(id)) throw new EbmError('E_USAGE', `plugin id "${id}" is not valid: use lowercase letters, digits and '-', starting with a letter (pass --id)`);
  const sdkVersion = (require('@ebm/sdk/package.json') as { version: string }).version;
  return { id, packageName: opts.name ?? `ebm-translator-${id}`, displayName: opts.displayName ?? `${id} records`, sdkVersion };
}

async function ensureEmpty(target: string): Promise<void> {
  const entries = await fsp.readdir(target).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    if (err.code === 'ENOTDIR') throw new EbmError('E_USAGE', `${target} exists and is not a directory`, { subject: target });
    throw err;
  });
  if (entries.length > 0) throw new EbmError('E_USAGE', `${target} is not empty (${entries.length} entries); choose a new directory`, { subject: target });
}

/** Copies the template tree, filling in variables; returns the written paths relative to `target`. */
async function copyTemplate(from: string, target: string, vars: Record<string, string>): Promise<string[]> {
  const written: string[] = [];
  const visit = async (rel: string): Promise<void> => {
    for (const e of await fsp.readdir(path.join(from, rel), { withFileTypes: true })) {
      const src = path.join(rel, e.name);
      if (e.isDirectory()) {
        await visit(src);
        continue;
      }
      const name = e.name === 'gitignore' ? '.gitignore' : e.name.replace(/\.template$/, '');
      const out = path.join(rel, name);
      const text = (await fsp.readFile(path.join(from, src), 'utf8')).replace(/\{\{(\w+)\}\}/g, (m, key: string) => vars[key] ?? m);
      await fsp.mkdir(path.dirname(path.join(target, out)), { recursive: true });
      await fsp.writeFile(path.join(target, out), text);
      written.push(out.split(path.sep).join('/'));
    }
  };
  await visit('');
  return written.sort();
}
