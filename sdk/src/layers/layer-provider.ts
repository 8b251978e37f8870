import type { OperationContext } from '../translator/context';
import type { LayerBatch, LayerChange, LayerFile, LayerInfo, LayerReport } from './layer';

/** The context of a discovery request. */
export interface LayerDiscoverContext extends OperationContext {
  /** What the operator named as the source; the provider documents its syntax. */
  readonly source: string;
  /**
   * Announces a layer before `discover` returns, once its LayerInfo is final
   * (optional to call; absent where nobody listens, e.g. in a layer query).
   * The host may start reading that layer through its `root` at once, while
   * the provider still works on the others — typically: announce the
   * writable layers first, then compute the digests of the immutable ones.
   * Every announced layer must appear unchanged in the report; a backup whose
   * report differs from an announcement fails (E_PLUGIN_FAILED) and stores
   * nothing of that layer.
   */
  readonly announce?: (layer: LayerInfo) => void;
}

/** The context of a request about one layer of a source. */
export interface LayerQueryContext extends LayerDiscoverContext {
  /** The layer's id, as a discovery of the same source reported it. */
  readonly layer: string;
}

/**
 * A layer provider tells the host which layers a source has and what each
 * holds. The plugin's entry module exports one as `default` (or as
 * `layerProvider`), built with `defineLayerProvider`.
 *
 * Contract:
 * - `discover` answers with a LayerReport (checked with validateLayerReport);
 *   two discoveries of an unchanged source are equal;
 * - `files` yields the entries the layer itself holds, `changes` how the
 *   layer differs from the merged view of the layers below it; both yield
 *   batches (plain arrays) in depth-first pre-order, and each call stands
 *   alone (a worker may serve it without having seen the discovery);
 * - an unknown layer id is E_INVALID_SOURCE, a source the provider does not
 *   understand E_INVALID_SOURCE, a missing one E_SOURCE_NOT_FOUND;
 * - every method honours `ctx.signal` promptly with E_CANCELLED (see
 *   throwIfCancelled); anything untyped thrown is reported as E_PLUGIN_FAILED;
 * - the provider only reads: it never changes the source.
 */
export interface LayerProvider {
  discover(ctx: LayerDiscoverContext): Promise<LayerReport>;
  files(ctx: LayerQueryContext): AsyncIterable<LayerBatch<LayerFile>>;
  changes(ctx: LayerQueryContext): AsyncIterable<LayerBatch<LayerChange>>;
}

/** Identity helper that type-checks a layer provider and freezes it. */
export function defineLayerProvider<T extends LayerProvider>(provider: T): T {
  for (const method of ['discover', 'files', 'changes'] as const) {
    if (typeof provider?.[method] !== 'function') {
      throw new TypeError(`defineLayerProvider: a layer provider needs discover(ctx), files(ctx) and changes(ctx) functions; ${method} is missing`);
    }
  }
  return Object.freeze(provider);
}

/** Picks the layer provider out of a loaded plugin module (default export, `layerProvider` export, or the module itself). */
export function findLayerProviderExport(mod: unknown): LayerProvider | undefined {
  const candidates = [
    (mod as { default?: unknown })?.default,
    (mod as { layerProvider?: unknown })?.layerProvider,
    ((mod as { default?: { default?: unknown } })?.default)?.default,
    mod,
  ];
  for (const c of candidates) {
    const p = c as Partial<LayerProvider> | undefined;
    if (p && typeof p.discover === 'function' && typeof p.files === 'function' && typeof p.changes === 'function') return p as LayerProvider;
  }
  return undefined;
}
