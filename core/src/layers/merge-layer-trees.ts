import type { EntryMetadata, TreeEntry, Warning } from '@ebm/sdk';
import { isMetacopy, isOpaque, isWhiteout, redirectOf, withoutOverlayXattrs } from './overlay-marks';
import { encodeView, loadView } from './layer-view';
import type { ViewDir as Dir, ViewNode as Node } from './layer-view';

export interface LayerTree {
  /** Root tree blob id of the layer snapshot. */
  readonly tree: string;
  /** Metadata of the layer's root directory (the layer snapshot's `root`). */
  readonly root?: EntryMetadata;
}

export interface MergedTrees {
  /** Root tree id of the merged view. */
  readonly tree: string;
  readonly root?: EntryMetadata;
  /** Every tree blob of the merged view: id (HMAC under the repository's id key) → plaintext. */
  readonly blobs: ReadonlyMap<string, Buffer>;
  readonly warnings: readonly Warning[];
}

/** The merged view in memory (see mergeLayerTrees), before it is encoded. */
export interface MergedView {
  readonly view: Dir;
  readonly root?: EntryMetadata;
  readonly warnings: readonly Warning[];
}

/**
 * The merged view of an overlay stack, computed from its layers' trees
 * (bottom first), as overlayfs presents it:
 * - a whiteout (char device 0/0, or a zero-size file with overlay.whiteout)
 *   deletes the name below and is not shown;
 * - an opaque directory (overlay.opaque=y) hides everything below it;
 * - a redirected directory (overlay.redirect, absolute or relative to its
 *   parent) continues the lower directory the redirect names;
 * - a metacopy file (overlay.metacopy) takes this layer's metadata and the
 *   data (size, content) of the file below it (at its redirect, if any);
 * - anything else replaces what is below; directories merge;
 * - overlay's own xattrs (trusted.overlay.*, user.overlay.*) are dropped.
 * Pure over `load`: content blobs are never read, only trees. The whole view
 * is built in memory (every layer's trees are loaded once).
 */
export async function mergeLayerTrees(layers: readonly LayerTree[], load: (id: string) => Promise<readonly TreeEntry[]>, idKey: Uint8Array): Promise<MergedTrees> {
  const { view, root, warnings } = await mergeLayerViews(layers, load);
  const blobs = new Map<string, Buffer>();
  const { tree } = encodeView(view, idKey, blobs);
  return { tree, ...(root ? { root } : {}), blobs, warnings };
}

/** mergeLayerTrees without the encoding: the merged view in memory (directory tallies are recomputed when it is encoded). */
export async function mergeLayerViews(layers: readonly LayerTree[], load: (id: string) => Promise<readonly TreeEntry[]>): Promise<MergedView> {
  const warnings: Warning[] = [];
  const expand = (id: string): Promise<Dir> => loadView(id, load);
  let merged: Dir = new Map();
  for (const layer of layers) {
    const below = merged;
    const lookup = (p: string): Node | undefined => {
      let node: Node | undefined = { entry: { name: '', kind: 'dir' } as TreeEntry, children: below };
      for (const part of p.split('/').filter((s) => s !== '')) node = node?.children?.get(part);
      return node;
    };
    const apply = (lower: Dir | undefined, own: Dir, dirPath: string): Dir => {
      const out = new Map(lower ?? []);
      for (const [name, node] of own) {
        const e = node.entry;
        const here = dirPath === '' ? name : `${dirPath}/${name}`;
        const redirect = redirectOf(e);
        const lowerPath = redirect === undefined ? here : redirect.startsWith('/') ? redirect.slice(1) : dirPath === '' ? redirect : `${dirPath}/${redirect}`;
        if (isWhiteout(e)) {
          out.delete(name);
        } else if (e.kind === 'dir') {
          const under = isOpaque(e) ? undefined : redirect !== undefined ? lookup(lowerPath)?.children : lower?.get(name)?.children;
          out.set(name, { entry: withoutOverlayXattrs(e), children: apply(under, node.children ?? new Map(), here) });
        } else if (isMetacopy(e)) {
          const data = lookup(lowerPath)?.entry;
          if (data !== undefined && (data.kind === 'file' || data.kind === 'hardlink')) {
            const { content: _c, size: _s, ...meta } = withoutOverlayXattrs(e);
            out.set(name, { entry: { ...meta, ...(data.size !== undefined ? { size: data.size } : {}), ...(data.content ? { content: data.content } : {}) } });
          } else {
            warnings.push({ path: here, code: 'E_PATH_NOT_IN_SNAPSHOT', message: `metacopy file ${here}: no file at ${lowerPath} in the layers below holds its data; restored as this layer stored it` });
            out.set(name, { entry: withoutOverlayXattrs(e) });
          }
        } else {
          out.set(name, { entry: withoutOverlayXattrs(e) });
        }
      }
      return out;
    };
    merged = apply(below, await expand(layer.tree), '');
  }
  const top = layers[layers.length - 1]?.root;
  return { view: merged, ...(top ? { root: withoutOverlayXattrs(top) } : {}), warnings };
}
