import type { LayerChange, LayerEntryType } from './layer';

/**
 * Applies one layer's changes to the merged view of the layers below it, in
 * place: after the call `view` is the merged view including the layer. This
 * is the meaning of a change list, written once: the conformance harness
 * checks providers against it, and a host can use it to synthesise a merged
 * tree from layers.
 *
 * `view` maps source-relative paths to entries; `entryOf` makes the entry a
 * non-deleting change puts at its path (for a metacopy: this layer's metadata
 * with the data of `dataFrom`). Changes must come in depth-first pre-order.
 * A redirect takes its lower content from the view as it was before this
 * layer (the renamed directory's old path may be deleted by the same layer).
 * Cost is linear in the view per change: meant for verification and small
 * trees, not for merging a whole operating system.
 */
export function applyLayerChanges<V extends { readonly type: LayerEntryType }>(
  view: Map<string, V>,
  changes: Iterable<LayerChange>,
  entryOf: (change: LayerChange) => V,
): void {
  const below = new Map(view);
  for (const c of changes) {
    switch (c.change) {
      case 'deleted':
        view.delete(c.path);
        removeBelow(view, c.path);
        break;
      case 'opaque-dir':
        removeBelow(view, c.path);
        view.set(c.path, entryOf(c));
        break;
      case 'redirect': {
        removeBelow(view, c.path);
        view.set(c.path, entryOf(c));
        const from = `${c.lowerPath ?? c.path}/`;
        for (const [p, v] of below) if (p.startsWith(from)) view.set(`${c.path}/${p.slice(from.length)}`, v);
        break;
      }
      default: {
        const entry = entryOf(c);
        if (entry.type !== 'dir') removeBelow(view, c.path);
        view.set(c.path, entry);
      }
    }
  }
}

function removeBelow(view: Map<string, unknown>, dir: string): void {
  const prefix = `${dir}/`;
  for (const p of [...view.keys()]) if (p.startsWith(prefix)) view.delete(p);
}
