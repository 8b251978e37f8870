import { defineLayerProvider, LAYER_CONTRACT_VERSION } from '@ebm/sdk';
import type { LayerChange, LayerDiscoverContext, LayerFile, LayerQueryContext, LayerReport } from '@ebm/sdk';
import { MappedTree } from './layer-map/layer-map-provider';
import { resolveOverlay2 } from './overlay2/overlay2-stack';
import { resolveOverlayfs } from './overlayfs/overlayfs-stack';
import { describeStack, stackChanges, stackFiles } from './shared/dir-stack';
import type { DirLayer } from './shared/dir-stack';
import { parseSource } from './source';

/**
 * The "overlay" layer provider: overlayfs stacks, Docker overlay2 storage
 * and declarative layer maps (source syntax in ./source.ts and
 * docs/layers.md). Every method resolves the source anew (cheap: mountinfo,
 * a few small files, or the map), so files/changes need no earlier discovery.
 */
type Resolved =
  | { readonly kind: 'stack'; readonly source: string; readonly layout: 'overlayfs' | 'overlay2'; readonly layers: readonly DirLayer[]; readonly meta: LayerReport['meta']; readonly warnings: readonly string[] }
  | { readonly kind: 'map'; readonly source: string; readonly tree: MappedTree };

async function resolve(ctx: LayerDiscoverContext, op: string): Promise<Resolved> {
  const parsed = await parseSource(ctx, op);
  if (parsed.layout === 'overlayfs') {
    const s = await resolveOverlayfs(parsed.spec, op);
    return { kind: 'stack', source: s.source, layout: 'overlayfs', layers: s.layers, meta: s.meta, warnings: [] };
  }
  if (parsed.layout === 'overlay2') {
    const s = await resolveOverlay2(parsed.spec, op);
    return { kind: 'stack', source: s.source, layout: 'overlay2', layers: s.layers, meta: s.meta, warnings: s.chainWarnings };
  }
  const tree = await MappedTree.open(parsed.spec, ctx, op);
  return { kind: 'map', source: `layer-map:${tree.root}`, tree };
}

const provider = defineLayerProvider({
  async discover(ctx: LayerDiscoverContext): Promise<LayerReport> {
    const r = await resolve(ctx, 'discover');
    if (r.kind === 'map') {
      const layers = await r.tree.describe(ctx);
      return { contractVersion: LAYER_CONTRACT_VERSION, source: r.source, layout: 'layer-map', layers, meta: { ...(r.tree.base !== undefined ? { base: r.tree.base.root ?? r.tree.base.description } : {}), defaultLayer: r.tree.map.defaultLayer } };
    }
    for (const w of r.warnings) ctx.warn({ path: r.source, code: 'E_INVALID_SOURCE', message: w });
    const layers = await describeStack(r.layers, ctx);
    return { contractVersion: LAYER_CONTRACT_VERSION, source: r.source, layout: r.layout, layers, ...(r.meta !== undefined ? { meta: r.meta } : {}) };
  },

  async *files(ctx: LayerQueryContext): AsyncGenerator<LayerFile[]> {
    const r = await resolve(ctx, 'files');
    yield* r.kind === 'map' ? r.tree.files(ctx) : stackFiles(r.layers, ctx);
  },

  async *changes(ctx: LayerQueryContext): AsyncGenerator<LayerChange[]> {
    const r = await resolve(ctx, 'changes');
    yield* r.kind === 'map' ? r.tree.changes(ctx) : stackChanges(r.layers, ctx);
  },
});

export default provider;
export { provider as layerProvider };
