import { BackupContext, BackupOutcome, DiscoverContext, DiscoveryReport, RestoreContext, RestoreOutcome } from './context';

/**
 * A translator converts an application's own format to and from the normalized
 * entry model. The plugin's entry module exports one as `default` (or as
 * `translator`), preferably built with `defineTranslator`.
 *
 * Contract:
 * - backup walks `ctx.source`, adds entries through `ctx.tree` depth-first,
 *   and for an incremental reuses `ctx.previous` content without reading
 *   unchanged data;
 * - restore writes `ctx.entries()` under `ctx.target` and never outside it;
 * - both honour `ctx.signal` promptly and throw EbmError with a catalogue code
 *   (E_SOURCE_NOT_FOUND, E_PERMISSION, E_INVALID_SOURCE, E_CANCELLED, …);
 *   anything else thrown is reported as E_PLUGIN_FAILED.
 */
export interface Translator {
  backup(ctx: BackupContext): Promise<BackupOutcome | void>;
  restore(ctx: RestoreContext): Promise<RestoreOutcome | void>;
  /**
   * Optional: describes a source without backing it up (`ebm discover`), e.g.
   * a database's tables, row counts, size and journal mode. Read-only.
   */
  discover?(ctx: DiscoverContext): Promise<DiscoveryReport>;
}

/**
 * Anything that answers `discover` — a translator that implements it, or a
 * layer provider. The worker runtime runs a discovery task on it.
 */
export interface Discoverer {
  discover(ctx: DiscoverContext): Promise<DiscoveryReport>;
}

/** Identity helper that type-checks a translator and marks it for the host. */
export function defineTranslator<T extends Translator>(translator: T): T {
  if (typeof translator?.backup !== 'function' || typeof translator?.restore !== 'function') {
    throw new TypeError('defineTranslator: a translator needs backup(ctx) and restore(ctx) functions');
  }
  return Object.freeze(translator);
}

/** Picks the object that answers `discover` out of a loaded plugin module (same places as findTranslatorExport). */
export function findDiscovererExport(mod: unknown): Discoverer | undefined {
  const candidates = [
    (mod as { default?: unknown })?.default,
    (mod as { translator?: unknown })?.translator,
    (mod as { provider?: unknown })?.provider,
    ((mod as { default?: { default?: unknown } })?.default)?.default,
    mod,
  ];
  for (const c of candidates) {
    if (c && typeof (c as Discoverer).discover === 'function') return c as Discoverer;
  }
  return undefined;
}

/** Picks the translator out of a loaded plugin module (default export, `translator` export, or the module itself). */
export function findTranslatorExport(mod: unknown): Translator | undefined {
  const candidates = [
    (mod as { default?: unknown })?.default,
    (mod as { translator?: unknown })?.translator,
    ((mod as { default?: { default?: unknown } })?.default)?.default,
    mod,
  ];
  for (const c of candidates) {
    if (c && typeof (c as Translator).backup === 'function' && typeof (c as Translator).restore === 'function') return c as Translator;
  }
  return undefined;
}
