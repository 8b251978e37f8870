import type { Stats } from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { throwIfCancelled } from '@ebm/sdk';
import type { LayerChange, LayerDiscoverContext, LayerFile, LayerInfo, LayerQueryContext } from '@ebm/sdk';
import { fsError, invalidSource } from '../shared/errors';
import { TreeDigest } from '../shared/tree-digest';
import { ContentHashCache } from '../shared/content-hash-cache';
import { batched, typeOf, walkLayer } from '../shared/walk';
import { sameContent } from './same-content';
import { compilePattern, loadLayerMap } from './layer-map-config';
import type { LayerMap } from './layer-map-config';

/** A layer map applied to one machine's root directory. */
export class MappedTree {
  readonly #match: { id: string; res: RegExp[] }[];
  readonly #exclude: RegExp[];

  private constructor(readonly root: string, readonly map: LayerMap) {
    this.#match = map.layers.map((l) => ({ id: l.id, res: l.patterns.map(compilePattern) }));
    this.#exclude = map.exclude.map(compilePattern);
  }

  static async open(source: string, ctx: LayerDiscoverContext, op: string): Promise<MappedTree> {
    const map = await loadLayerMap(ctx.options, op);
    const root = await realDir(source, op);
    if (map.base !== undefined) await realDir(map.base, op);
    return new MappedTree(root, map);
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
    if (this.map.base !== undefined) {
      const digest = new TreeDigest(ContentHashCache.open(this.map.base, ctx.options));
      let files = 0;
      let bytes = 0;
      for await (const e of walkLayer(this.map.base, ctx.signal, 'discover', this.excluded)) {
        await digest.add(e, ctx.signal, 'discover');
        if (e.type !== 'dir') files += 1;
        if (e.type === 'file') bytes += e.st.size;
      }
      infos.push({ id: 'base', kind: 'base', name: `base image ${this.map.base}`, order: 0, immutable: true, digest: digest.digest(), bytes, files, root: this.map.base });
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
    const base = this.#check(ctx.layer, 'files');
    const root = base ? this.map.base! : this.root;
    const owner = (p: string): boolean => base || this.owner(p) === ctx.layer;
    async function* files(excluded: (rel: string) => boolean): AsyncGenerator<LayerFile> {
      for await (const e of walkLayer(root, ctx.signal, 'files', excluded)) if (owner(e.path)) yield { path: e.path, type: e.type, size: e.type === 'file' ? e.st.size : 0 };
    }
    yield* batched(files(this.excluded));
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
        for await (const e of walkLayer(self.map.base!, ctx.signal, 'changes', self.excluded)) yield { path: e.path, change: 'added', type: e.type };
        return;
      }
      yield* self.#compare(ctx, '', false);
    }
    yield* batched(changes());
  }

  async *#compare(ctx: LayerQueryContext, rel: string, parentGone: boolean): AsyncGenerator<LayerChange> {
    throwIfCancelled(ctx.signal, 'changes');
    const base = this.map.base;
    const liveDir = rel === '' ? this.root : path.join(this.root, rel);
    const baseDir = base === undefined ? undefined : rel === '' ? base : path.join(base, rel);
    const names = new Set([...(await list(liveDir)), ...(baseDir === undefined ? [] : await list(baseDir))]);
    for (const name of [...names].sort()) {
      const p = rel === '' ? name : `${rel}/${name}`;
      const owner = this.owner(p);
      if (owner === undefined) continue;
      const live = await lstat(path.join(liveDir, name));
      const old = baseDir === undefined ? null : await lstat(path.join(baseDir, name));
      const mine = owner === ctx.layer;
      if (mine && live !== null && old === null) yield { path: p, change: 'added', type: typeOf(live) };
      else if (mine && live !== null && old !== null && !(await this.#same(p, live, old))) yield { path: p, change: 'modified', type: typeOf(live) };
      else if (mine && live === null && old !== null && !parentGone) yield { path: p, change: 'deleted' };
      // Below a path this layer deleted (or whose deletion it inherits), deletions are implied: not repeated.
      if (live?.isDirectory() || old?.isDirectory()) yield* this.#compare(ctx, p, live === null && (parentGone || mine));
    }
  }

  async #same(rel: string, live: Stats, old: Stats): Promise<boolean> {
    if (typeOf(live) !== typeOf(old) || (live.mode & 0o7777) !== (old.mode & 0o7777) || live.uid !== old.uid || live.gid !== old.gid) return false;
    if (live.isSymbolicLink()) return (await fsp.readlink(path.join(this.root, rel))) === (await fsp.readlink(path.join(this.map.base!, rel)));
    if (!live.isFile()) return live.isDirectory() || live.rdev === old.rdev;
    if (live.size !== old.size) return false;
    if (live.mtimeMs === old.mtimeMs) return true;
    return sameContent(path.join(this.root, rel), path.join(this.map.base!, rel));
  }

  /** True for the base layer; E_INVALID_SOURCE for an unknown id. */
  #check(id: string, op: string): boolean {
    if (id === 'base' && this.map.base !== undefined) return true;
    if (this.map.layers.some((l) => l.id === id)) return false;
    throw invalidSource(`the layer map has no layer ${JSON.stringify(id)}; its layers are ${[...(this.map.base ? ['base'] : []), ...this.map.layers.map((l) => l.id)].join(', ')}`, id, op);
  }
}

async function list(dir: string): Promise<string[]> {
  return fsp.readdir(dir).catch(() => []);
}

async function lstat(abs: string): Promise<Stats | null> {
  return fsp.lstat(abs).catch(() => null);
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
