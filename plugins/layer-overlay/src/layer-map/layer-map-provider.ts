import type { BigIntStats } from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { throwIfCancelled } from '@ebm/sdk';
import type { LayerChange, LayerDiscoverContext, LayerFile, LayerInfo, LayerQueryContext } from '@ebm/sdk';
import { fsError, invalidSource } from '../shared/errors';
import { batched, typeOf, walkLayer } from '../shared/walk';
import { DirectoryBase, ListingBase } from './base-image';
import type { BaseImage } from './base-image';
import { compilePattern, loadLayerMap } from './layer-map-config';
import type { LayerMap } from './layer-map-config';

/** A layer map applied to one machine's root directory. */
export class MappedTree {
  readonly #match: { id: string; res: RegExp[] }[];
  readonly #exclude: RegExp[];

  private constructor(readonly root: string, readonly map: LayerMap, readonly base: BaseImage | undefined) {
    this.#match = map.layers.map((l) => ({ id: l.id, res: l.patterns.map(compilePattern) }));
    this.#exclude = map.exclude.map(compilePattern);
  }

  static async open(source: string, ctx: LayerDiscoverContext, op: string): Promise<MappedTree> {
    const map = await loadLayerMap(ctx.options, op);
    const root = await realDir(source, op);
    const listing = ctx.options['base-listing'];
    if (typeof listing === 'string' && listing !== '') {
      if (map.base !== undefined) throw invalidSource(`a layer map has one base: give either the base directory (${map.base}) or a base listing (${listing}), not both`, listing, op);
      const id = ctx.options['base-id'];
      return new MappedTree(root, map, await ListingBase.open(listing, typeof id === 'string' && id !== '' ? id : undefined, op));
    }
    return new MappedTree(root, map, map.base === undefined ? undefined : new DirectoryBase(await realDir(map.base, op), ctx.options));
  }

  /** The layer that owns a path; undefined for an excluded one. */
  owner(rel: string): string | undefined {
    if (this.#exclude.some((re) => re.test(rel))) return undefined;
    return this.#match.find((l) => l.res.some((re) => re.test(rel)))?.id ?? this.map.defaultLayer;
  }

  readonly excluded = (rel: string): boolean => this.#exclude.some((re) => re.test(rel));

  /** Base first (order 0, immutable, tree digest), then the map's layers in its order, each rooted at the machine's root. */
  async describe(ctx: LayerDiscoverContext): Promise<LayerInfo[]> {
    const infos: LayerInfo[] = [];
    if (this.base !== undefined) {
      const { digest, files, bytes } = await this.base.describe(ctx, this.excluded, this.#exclude.map((re) => `${re.source}/${re.flags}`).join('\n'));
      infos.push({ id: 'base', kind: 'base', name: this.base.description, order: 0, immutable: true, digest, bytes, files, ...(this.base.root !== undefined ? { root: this.base.root } : {}) });
    }
    const counts = new Map(this.map.layers.map((l) => [l.id, { files: 0, bytes: 0 }]));
    let seen = 0;
    for await (const e of walkLayer(this.root, ctx.signal, 'discover', this.excluded)) {
      const c = counts.get(this.owner(e.path)!)!;
      if (e.type !== 'dir') c.files += 1;
      if (e.type === 'file') c.bytes += e.st.size;
      if (++seen % 1000 === 0) ctx.progress.update({ files: seen, currentPath: e.path });
    }
    ctx.progress.update({ files: seen });
    throwIfCancelled(ctx.signal, 'discover');
    for (const l of this.map.layers) {
      const c = counts.get(l.id)!;
      infos.push({ id: l.id, kind: l.kind, name: l.name, order: infos.length, immutable: false, bytes: c.bytes, files: c.files, root: this.root });
    }
    return infos;
  }

  async *files(ctx: LayerQueryContext): AsyncGenerator<LayerFile[]> {
    const isBase = this.#check(ctx.layer, 'files');
    const self = this;
    async function* files(): AsyncGenerator<LayerFile> {
      if (isBase) {
        yield* self.base!.entries(ctx.signal, 'files', self.excluded);
        return;
      }
      for await (const e of walkLayer(self.root, ctx.signal, 'files', self.excluded)) if (self.owner(e.path) === ctx.layer) yield { path: e.path, type: e.type, size: e.type === 'file' ? e.st.size : 0 };
    }
    yield* batched(files());
  }

  /**
   * The base layer's changes are all its entries (added); a mapped layer's
   * are its paths that differ from the base (added, modified, deleted), or
   * all its paths (added) without a base. A file is unchanged when type,
   * mode, owner, size and mtime match, or when its bytes match.
   */
  async *changes(ctx: LayerQueryContext): AsyncGenerator<LayerChange[]> {
    const isBase = this.#check(ctx.layer, 'changes');
    const self = this;
    async function* changes(): AsyncGenerator<LayerChange> {
      if (isBase) {
        for await (const e of self.base!.entries(ctx.signal, 'changes', self.excluded)) yield { path: e.path, change: 'added', type: e.type };
        return;
      }
      yield* self.#compare(ctx, '', false);
    }
    yield* batched(changes());
  }

  async *#compare(ctx: LayerQueryContext, rel: string, parentGone: boolean): AsyncGenerator<LayerChange> {
    throwIfCancelled(ctx.signal, 'changes');
    const base = this.base;
    const liveDir = rel === '' ? this.root : path.join(this.root, rel);
    const names = new Set([...(await list(liveDir)), ...(base === undefined ? [] : await base.names(rel))]);
    for (const name of [...names].sort()) {
      const p = rel === '' ? name : `${rel}/${name}`;
      const owner = this.owner(p);
      if (owner === undefined) continue;
      const liveAbs = path.join(liveDir, name);
      const live = await lstat(liveAbs);
      const old = base === undefined ? undefined : await base.lookup(p);
      const mine = owner === ctx.layer;
      if (mine && live !== null && old === undefined) yield { path: p, change: 'added', type: typeOf(live) };
      else if (mine && live !== null && old !== undefined && !(await old.same(live, liveAbs))) yield { path: p, change: 'modified', type: typeOf(live) };
      else if (mine && live === null && old !== undefined && !parentGone) yield { path: p, change: 'deleted' };
      // Below a path this layer deleted (or whose deletion it inherits), deletions are implied: not repeated.
      if (live?.isDirectory() || old?.isDir) yield* this.#compare(ctx, p, live === null && (parentGone || mine));
    }
  }

  /** True for the base layer; E_INVALID_SOURCE for an unknown id. */
  #check(id: string, op: string): boolean {
    if (id === 'base' && this.base !== undefined) return true;
    if (this.map.layers.some((l) => l.id === id)) return false;
    throw invalidSource(`the layer map has no layer ${JSON.stringify(id)}; its layers are ${[...(this.base ? ['base'] : []), ...this.map.layers.map((l) => l.id)].join(', ')}`, id, op);
  }
}

async function list(dir: string): Promise<string[]> {
  return fsp.readdir(dir).catch(() => []);
}

async function lstat(abs: string): Promise<BigIntStats | null> {
  return fsp.lstat(abs, { bigint: true }).catch(() => null);
}

async function realDir(p: string, op: string): Promise<string> {
  try {
    const real = await fsp.realpath(p);
    if (!(await fsp.stat(real)).isDirectory()) throw invalidSource(`${p} is not a directory`, p, op);
    return real;
  } catch (err) {
    throw fsError(err, p, op);
  }
}
