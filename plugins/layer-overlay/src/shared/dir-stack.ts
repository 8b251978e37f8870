import type { Stats } from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { EbmError, throwIfCancelled } from '@ebm/sdk';
import type { LayerChange, LayerDiscoverContext, LayerFile, LayerInfo, LayerKind, LayerQueryContext } from '@ebm/sdk';
import { invalidSource, PLUGIN_ID } from './errors';
import { overlayMarks, resolveRedirect } from './overlay-marks';
import { describeTree } from './tree-digest';
import { batched, walkLayer } from './walk';
import type { WalkEntry } from './walk';

/** One layer of an overlay stack whose content is a directory (an overlayfs lowerdir/upperdir, a Docker diff/ dir). */
export interface DirLayer {
  readonly id: string;
  readonly kind: LayerKind;
  readonly name: string;
  readonly root: string;
  readonly immutable: boolean;
  /** A digest the layout already knows (a Docker diffID); an immutable layer without one gets a tree digest. */
  readonly digest?: string;
}

/**
 * The LayerInfo of every layer (bottom first): one walk each, counting and
 * (for immutable layers) digesting. Writable layers are described first and
 * announced at once (ctx.announce): the host can read them while the
 * immutable ones are digested, the long part of a discovery.
 */
export async function describeStack(layers: readonly DirLayer[], ctx: LayerDiscoverContext): Promise<LayerInfo[]> {
  const infos: LayerInfo[] = new Array<LayerInfo>(layers.length);
  const total = { files: 0, bytes: 0 };
  const writableFirst = [...layers.entries()].sort(([, a], [, b]) => Number(a.immutable) - Number(b.immutable));
  for (const [order, layer] of writableFirst) {
    const info = await describeLayer(layer, order, ctx, total);
    infos[order] = info;
    if (!layer.immutable) ctx.announce?.(info);
  }
  ctx.progress.update({ files: total.files, bytes: total.bytes });
  throwIfCancelled(ctx.signal, 'discover');
  return infos;
}

async function describeLayer(layer: DirLayer, order: number, ctx: LayerDiscoverContext, total: { files: number; bytes: number }): Promise<LayerInfo> {
  const d = await describeTree(layer.root, ctx, {
    digest: layer.immutable && layer.digest === undefined,
    fileBytes: (e) => {
      const f = layerFile(e);
      return f === undefined || f.type === 'dir' ? undefined : f.size;
    },
    onProgress: (counts, currentPath) => ctx.progress.update({ files: total.files + counts.files, bytes: total.bytes + counts.bytes, currentPath }),
  });
  total.files += d.files;
  total.bytes += d.bytes;
  const digest = layer.digest ?? d.digest;
  return { id: layer.id, kind: layer.kind, name: layer.name, order, immutable: layer.immutable, ...(digest !== undefined ? { digest } : {}), bytes: d.bytes, files: d.files, root: layer.root };
}

/** The entries a layer itself holds (whiteouts are changes, not files). */
export async function* stackFiles(layers: readonly DirLayer[], ctx: LayerQueryContext): AsyncGenerator<LayerFile[]> {
  const layer = layers[layerIndex(layers, ctx.layer, 'files')]!;
  async function* files(): AsyncGenerator<LayerFile> {
    for await (const e of walkLayer(layer.root, ctx.signal, 'files')) {
      const f = layerFile(e);
      if (f !== undefined) yield f;
    }
  }
  yield* batched(files());
}

/**
 * How a layer differs from the merged view of the layers below: whiteouts
 * are deletions, opaque directories hide what is below, redirected
 * directories continue another lower path, metacopy files point at the
 * lower file holding their data, anything else is added or modified
 * depending on whether the path exists below.
 */
export async function* stackChanges(layers: readonly DirLayer[], ctx: LayerQueryContext): AsyncGenerator<LayerChange[]> {
  const index = layerIndex(layers, ctx.layer, 'changes');
  const below = new LowerLookup(layers.slice(0, index));
  async function* changes(): AsyncGenerator<LayerChange> {
    for await (const e of walkLayer(layers[index]!.root, ctx.signal, 'changes')) {
      const m = e.marks;
      if (m.whiteout) {
        yield { path: e.path, change: 'deleted' };
      } else if (e.type === 'dir' && m.opaque) {
        yield { path: e.path, change: 'opaque-dir', type: 'dir' };
      } else if (e.type === 'dir' && m.redirect !== undefined) {
        yield { path: e.path, change: 'redirect', type: 'dir', lowerPath: resolveRedirect(e.path, m.redirect) };
      } else if (m.metacopy) {
        const lowerPath = m.redirect !== undefined ? resolveRedirect(e.path, m.redirect) : e.path;
        const data = await below.find(lowerPath);
        if (data === undefined) {
          throw new EbmError('E_INVALID_SOURCE', `${e.abs} is an overlay metacopy file (metadata only), but no lower layer holds its data at ${lowerPath}; the stack is incomplete (a data-only or missing lowerdir?)`, { plugin: PLUGIN_ID, op: 'changes', subject: e.abs });
        }
        yield { path: e.path, change: 'metacopy', type: e.type, ...(lowerPath !== e.path ? { lowerPath } : {}), dataFrom: { layer: data.id, path: lowerPath } };
      } else {
        yield { path: e.path, change: (await below.find(e.path)) === undefined ? 'added' : 'modified', type: e.type };
      }
    }
  }
  yield* batched(changes());
}

function layerFile(e: WalkEntry): LayerFile | undefined {
  if (e.marks.whiteout) return undefined;
  const size = e.type === 'file' && !e.marks.metacopy ? e.st.size : 0;
  return { path: e.path, type: e.type, size };
}

function layerIndex(layers: readonly DirLayer[], id: string, op: string): number {
  const i = layers.findIndex((l) => l.id === id);
  if (i < 0) throw invalidSource(`the source has no layer ${JSON.stringify(id)}; its layers are ${layers.map((l) => l.id).join(', ')}`, id, op);
  return i;
}

/**
 * Finds which lower layer shows a path in the merged view of the layers
 * below: the topmost layer holding it, unless a whiteout or an opaque
 * directory (or a non-directory) on the way hides it. Redirects inside the
 * lower layers themselves are not followed.
 */
class LowerLookup {
  readonly #layers: readonly DirLayer[];
  readonly #stats = new Map<string, Stats | null>();

  constructor(layers: readonly DirLayer[]) {
    this.#layers = layers;
  }

  async find(rel: string): Promise<DirLayer | undefined> {
    const parts = rel.split('/');
    for (let i = this.#layers.length - 1; i >= 0; i--) {
      const root = this.#layers[i]!.root;
      const st = await this.#lstat(path.join(root, rel));
      if (st !== null) return overlayMarks(path.join(root, rel), st).whiteout ? undefined : this.#layers[i];
      for (let depth = 1; depth < parts.length; depth++) {
        const abs = path.join(root, ...parts.slice(0, depth));
        const a = await this.#lstat(abs);
        if (a === null) break;
        const marks = overlayMarks(abs, a);
        if (!a.isDirectory() || marks.whiteout || marks.opaque) return undefined;
      }
    }
    return undefined;
  }

  async #lstat(abs: string): Promise<Stats | null> {
    if (!this.#stats.has(abs)) this.#stats.set(abs, await fsp.lstat(abs).catch(() => null));
    return this.#stats.get(abs)!;
  }
}
