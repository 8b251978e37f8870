import { KNOWN_CAPABILITIES } from '../manifest/manifest';

/**
 * How the harness checks that a declared capability matches what the plugin
 * implements — the one table of capability ↔ method/behaviour:
 * - `method`: the translator object has a function of that name exactly when
 *   the capability is declared (checked in the manifest case);
 * - `behaviour`: a case observes it (`case` names which), both ways where it
 *   can: declared but not shown fails, shown but not declared fails;
 * - `declared`: the plugin's own promise; the harness cannot observe it in
 *   general (`why` says so in the documentation and in `describeCapabilities`).
 * A capability added to KNOWN_CAPABILITIES without an entry here is treated
 * as a method of the same name in camelCase (e.g. 'discover' → discover()),
 * the rule for capabilities that add an optional translator method.
 */
export type CapabilityCheck =
  | { readonly kind: 'method'; readonly method: string }
  | { readonly kind: 'behaviour'; readonly case: 'incremental' | 'round trip'; readonly what: string }
  | { readonly kind: 'declared'; readonly why: string };

export const CAPABILITY_CHECKS: Readonly<Record<string, CapabilityCheck>> = Object.freeze({
  incremental: {
    kind: 'behaviour',
    case: 'incremental',
    what: 'an incremental backup looks up its parent snapshot (ctx.previous) and reuses files or reads less than a baseline',
  },
  'partial-restore': {
    kind: 'behaviour',
    case: 'round trip',
    what: 'a restore limited to one top-level entry succeeds and writes a strict subset of a full restore',
  },
  streaming: { kind: 'declared', why: 'whether a source is a stream is not visible from outside the plugin' },
  exclude: { kind: 'declared', why: 'what is excluded depends on the plugin\'s own options' },
  xattrs: { kind: 'declared', why: 'extended attributes depend on the source filesystem; check them in your own tests' },
  hardlinks: { kind: 'declared', why: 'hardlinks depend on the source format; check them in your own tests' },
  'block-level': { kind: 'declared', why: 'block maps are format-specific' },
  'application-consistent': { kind: 'declared', why: 'consistency under concurrent writers needs the application running' },
  layers: { kind: 'declared', why: 'layer assignment is checked by the layer-provider harness' },
});

/** The check for `capability`: its table entry, or the method convention for capabilities newer than this table. */
export function capabilityCheck(capability: string): CapabilityCheck {
  return CAPABILITY_CHECKS[capability] ?? { kind: 'method', method: capability.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) };
}

/** Problems with what a translator declares versus the methods it has (method-kind capabilities only). */
export function methodCapabilityProblems(declared: readonly string[], translator: object): string[] {
  const problems: string[] = [];
  const known = new Set<string>([...KNOWN_CAPABILITIES, ...declared]);
  for (const capability of known) {
    const check = capabilityCheck(capability);
    if (check.kind !== 'method') continue;
    const has = typeof (translator as Record<string, unknown>)[check.method] === 'function';
    if (declared.includes(capability) && !has) {
      problems.push(`the manifest declares capability '${capability}', but the translator has no ${check.method}() method`);
    } else if (!declared.includes(capability) && has) {
      problems.push(`the translator implements ${check.method}(), but the manifest does not declare capability '${capability}': add it to "ebm.capabilities"`);
    }
  }
  return problems;
}
