import { existsSync } from 'node:fs';
import type { PluginDescriptor } from '../../manifest/manifest';
import { capabilityCheck, methodCapabilityProblems } from '../capabilities';
import type { PluginUnderTest } from '../harness-host';
import type { ResolvedOptions } from '../tester-options';

/**
 * The manifest case (static: it runs no task, so it has no worker mode):
 * the manifest is valid and its API range includes this SDK's
 * PLUGIN_API_VERSION (readPluginPackage already refused otherwise), the
 * plugin is a translator, its entry is compiled and exports one, option names
 * are unique, method capabilities match the translator's methods, and every
 * declared behaviour capability can be observed by some case.
 */
export function manifestProblems(descriptor: PluginDescriptor, loaded: PluginUnderTest | undefined, options: ResolvedOptions): string[] {
  const m = descriptor.manifest;
  const problems: string[] = [];
  if (m.kind !== 'translator') problems.push(`the manifest's kind is "${m.kind}"; TranslatorTester tests translators (kind "translator")`);
  if (!existsSync(descriptor.entryPath)) problems.push(`the entry ${m.entry} (${descriptor.entryPath}) does not exist: compile the plugin before testing it`);
  const names = (m.options ?? []).map((o) => o.name);
  for (const dup of new Set(names.filter((n, i) => names.indexOf(n) !== i))) problems.push(`option "${dup}" is declared more than once in "ebm.options"`);
  for (const c of new Set(m.capabilities)) {
    if (m.capabilities.indexOf(c) !== m.capabilities.lastIndexOf(c)) problems.push(`capability '${c}' is declared more than once`);
  }
  if (loaded !== undefined) problems.push(...methodCapabilityProblems(m.capabilities, loaded.translator));
  const mutations = options.mutations.length + options.fixtures.reduce((n, f) => n + (f.mutations?.length ?? 0), 0);
  for (const c of m.capabilities) {
    const check = capabilityCheck(c);
    if (check.kind === 'behaviour' && check.case === 'incremental' && mutations === 0) {
      problems.push(`the manifest declares '${c}', but the tester has no mutations to check it with: add at least one to "mutations"`);
    }
  }
  return problems;
}

