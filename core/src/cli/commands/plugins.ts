import type { RegisterCommand } from '../command-types';
import type { CliContext } from '../cli-context';
import { PLUGIN_API_VERSION } from '@ebm/sdk';
import { PluginRegistry } from '../../plugin-host/plugin-registry';

export const registerPlugins: RegisterCommand = (program, run) => {
  program
    .command('plugins')
    .description('list the discovered plugins, their manifests and options, and plugins that cannot be used')
    .action(
      run(async (ctx: CliContext) => {
        const registry = ctx.container.resolve(PluginRegistry);
        if (ctx.output.json) {
          for (const p of registry.list()) ctx.output.line({ type: 'result', op: 'plugins', plugin: p });
          for (const p of registry.problems) ctx.output.line({ type: 'result', op: 'plugins', problem: p });
          return;
        }
        ctx.output.print(`host plugin API ${PLUGIN_API_VERSION}`);
        for (const p of registry.list()) {
          const m = p.manifest;
          ctx.output.print('');
          ctx.output.print(`${m.id}  (${m.kind}, ${p.packageName}@${p.version}, plugin API ${m.apiVersion})`);
          if (m.description ?? m.displayName) ctx.output.print(`  ${m.description ?? m.displayName}`);
          ctx.output.print(`  capabilities: ${m.capabilities.join(', ') || '(none)'}`);
          if (m.resources) ctx.output.print(`  resources: ${Object.entries(m.resources).map(([k, v]) => `${k}=${v}`).join(', ')}`);
          ctx.output.print(`  location: ${p.packageDir}`);
          for (const o of m.options ?? []) {
            const arg = o.type === 'boolean' ? '' : o.type === 'string[]' ? ' <value> (repeatable)' : ' <value>';
            ctx.output.print(`  --${o.name}${arg}  [${o.appliesTo ?? 'both'}] ${o.description}`);
          }
        }
        if (registry.problems.length > 0) {
          ctx.output.print('');
          ctx.output.print('plugins that cannot be used:');
          for (const p of registry.problems) ctx.output.print(`  ${p.id ?? '?'}  ${p.packageDir}: ${p.error.code}: ${p.error.message}`);
        }
      }),
    );
};
