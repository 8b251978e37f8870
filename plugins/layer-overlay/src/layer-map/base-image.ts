import type { BigIntStats } from 'node:fs';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { LayerDiscoverContext, LayerEntryType } from '@ebm/sdk';
import { fsError, invalidSource } from '../shared/errors';
import { describeTree } from '../shared/tree-digest';
import type { LayerIdentity } from '../shared/layer-digest-cache';
import { typeOf, walkLayer } from '../shared/walk';

/**
 * The base image a layer map's layers are compared with: a reference
 * directory (option `base`), or a listing of an earlier snapshot's entries
 * (option `base-listing`, which ebm writes for `--base-snapshot`; the
 * provider never reads a repository). Paths are root-relative POSIX paths.
 */
export interface BaseImage {
  /** Shown in the base layer's name. */
  readonly description: string;
  /** The base directory; a listing has none (its layer is referenced by the host, never read). */
  readonly root?: string;
  /** The base layer's identity and size; `scope` names the exclusions (it keys the digest cache: other exclusions, another digest). */
  describe(ctx: LayerDiscoverContext, excluded: (rel: string) => boolean, scope: string): Promise<LayerIdentity>;
  /** Every entry of the base, in walk order (pre-order, names sorted). */
  entries(signal: AbortSignal, op: string, excluded: (rel: string) => boolean): AsyncGenerator<{ path: string; type: LayerEntryType; size: number }>;
  /** The names in directory `rel` of the base (empty when it is no directory there). */
  names(rel: string): Promise<string[]>;
  /** What the base holds at `rel` (looked up once per path), or undefined. */
  lookup(rel: string): Promise<BaseEntry | undefined>;
}

/** An entry of the base image. */
export interface BaseEntry {
  readonly isDir: boolean;
  /** Whether the live entry (lstat `live`, at `liveAbs`) is what the base holds here. */
  same(live: BigIntStats, liveAbs: string): Promise<boolean>;
}

/**
 * A reference directory: entries compared by metadata (type, mode, owner,
 * size, mtime; symlink targets; device numbers). A file with the base's
 * bytes but another mtime is `modified`: its layer stores it again (the
 * same chunks, deduplicated), so a flattened restore gives it its own mtime,
 * not the base's. (Comparing bytes instead would read both files and lose
 * that mtime.)
 */
export class DirectoryBase implements BaseImage {
  readonly description: string;
  constructor(readonly root: string, private readonly options: LayerDiscoverContext['options']) {
    this.description = `base image ${root}`;
  }

  async describe(ctx: LayerDiscoverContext, excluded: (rel: string) => boolean, scope: string): Promise<LayerIdentity> {
    const d = await describeTree(this.root, { ...ctx, options: this.options }, {
      digest: true, scope, skip: excluded,
      fileBytes: (e) => (e.type === 'dir' ? undefined : e.type === 'file' ? e.st.size : 0),
    });
    return { digest: d.digest!, files: d.files, bytes: d.bytes };
  }

  async *entries(signal: AbortSignal, op: string, excluded: (rel: string) => boolean): AsyncGenerator<{ path: string; type: LayerEntryType; size: number }> {
    for await (const e of walkLayer(this.root, signal, op, excluded)) yield { path: e.path, type: e.type, size: e.type === 'file' ? e.st.size : 0 };
  }

  names(rel: string): Promise<string[]> {
    return fsp.readdir(this.#abs(rel)).catch(() => []);
  }

  async lookup(rel: string): Promise<BaseEntry | undefined> {
    const old = await this.#lstat(rel);
    if (old === null) return undefined;
    return {
      isDir: old.isDirectory(),
      same: async (live, liveAbs) => {
        if (!sameAttributes(live, { type: typeOf(old), mode: Number(old.mode), uid: Number(old.uid), gid: Number(old.gid) })) return false;
        if (live.isSymbolicLink()) return (await fsp.readlink(liveAbs)) === (await fsp.readlink(this.#abs(rel)));
        if (!live.isFile()) return live.isDirectory() || live.rdev === old.rdev;
        return live.size === old.size && sameMtime(live.mtimeNs, old.mtimeNs);
      },
    };
  }

  #abs(rel: string): string {
    return rel === '' ? this.root : path.join(this.root, rel);
  }

  #lstat(rel: string): Promise<BigIntStats | null> {
    return fsp.lstat(this.#abs(rel), { bigint: true }).catch(() => null);
  }
}

/**
 * One line of a base listing (JSON lines): the entry's root-relative `path`
 * and its normalized fields as ebm stores them (docs/format.md, "Tree"):
 * `kind`, `mode`, `uid`, `gid`, `size`, `mtimeNs` (decimal string),
 * `target` (symlinks), `rdev` (devices).
 */
export interface BaseListingLine {
  readonly path: string;
  readonly kind: string;
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly size?: number;
  readonly mtimeNs?: string;
  readonly target?: string;
  readonly rdev?: number;
}

/**
 * An earlier snapshot as a listing. No bytes of the base are at hand, so a
 * file is the base's when type, mode, owner, size and mtime match (see
 * sameMtime for coarser copies of the time); a file with equal bytes but another mtime counts as
 * modified (its layer stores it again, deduplicated to the same chunks).
 * A restore of the snapshot onto a machine keeps mtimes, so a machine
 * deployed from it matches wherever it was not changed.
 */
export class ListingBase implements BaseImage {
  readonly description: string;
  readonly #entries: Map<string, BaseListingLine>;
  readonly #children: Map<string, string[]>;
  readonly #digest: string;

  private constructor(identity: string, entries: Map<string, BaseListingLine>, children: Map<string, string[]>) {
    this.description = `base listing ${identity}`;
    this.#entries = entries;
    this.#children = children;
    this.#digest = identity;
  }

  /** Reads `file`; the base's identity is `id` when given (ebm passes `snapshot:<id>`), else the listing's SHA-256. */
  static async open(file: string, id: string | undefined, op: string): Promise<ListingBase> {
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch (err) {
      throw fsError(err, file, op);
    }
    const entries = new Map<string, BaseListingLine>();
    const children = new Map<string, string[]>([['', []]]);
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      let e: BaseListingLine;
      try {
        e = JSON.parse(line) as BaseListingLine;
      } catch (err) {
        throw invalidSource(`base listing ${file}, line ${i + 1}: not JSON (${(err as Error).message})`, file, op);
      }
      if (typeof e?.path !== 'string' || e.path === '' || e.path.startsWith('/') || e.path.split('/').some((c) => c === '' || c === '.' || c === '..') || typeof e.kind !== 'string') {
        throw invalidSource(`base listing ${file}, line ${i + 1}: needs a relative "path" and a "kind"`, file, op);
      }
      entries.set(e.path, e);
      const slash = e.path.lastIndexOf('/');
      const parent = slash < 0 ? '' : e.path.slice(0, slash);
      const list = children.get(parent) ?? [];
      list.push(e.path.slice(slash + 1));
      children.set(parent, list);
    });
    const identity = id ?? `listing+sha256:${createHash('sha256').update(text).digest('hex')}`;
    return new ListingBase(identity, entries, children);
  }

  async describe(_ctx: LayerDiscoverContext, excluded: (rel: string) => boolean): Promise<LayerIdentity> {
    let files = 0;
    let bytes = 0;
    for (const e of this.#entries.values()) {
      if (e.kind === 'dir' || excluded(e.path)) continue;
      files += 1;
      if (e.kind === 'file') bytes += e.size ?? 0;
    }
    return { digest: this.#digest, files, bytes };
  }

  async *entries(_signal: AbortSignal, _op: string, excluded: (rel: string) => boolean): AsyncGenerator<{ path: string; type: LayerEntryType; size: number }> {
    const self = this;
    function* visit(rel: string): Generator<{ path: string; type: LayerEntryType; size: number }> {
      for (const name of [...(self.#children.get(rel) ?? [])].sort()) {
        const p = rel === '' ? name : `${rel}/${name}`;
        if (excluded(p)) continue;
        const e = self.#entries.get(p)!;
        const type = entryType(e.kind);
        yield { path: p, type: type === 'unmatched' ? (e.kind === 'hardlink' ? 'file' : 'other') : type, size: e.kind === 'file' ? e.size ?? 0 : 0 };
        if (e.kind === 'dir') yield* visit(p);
      }
    }
    yield* visit('');
  }

  async names(rel: string): Promise<string[]> {
    return this.#children.get(rel) ?? [];
  }

  async lookup(rel: string): Promise<BaseEntry | undefined> {
    const old = this.#entries.get(rel);
    if (old === undefined) return undefined;
    return {
      isDir: old.kind === 'dir',
      same: async (live, liveAbs) => {
        if (!sameAttributes(live, { type: entryType(old.kind), mode: old.mode ?? -1, uid: old.uid ?? -1, gid: old.gid ?? -1 })) return false;
        if (live.isSymbolicLink()) return old.target !== undefined && (await fsp.readlink(liveAbs)) === old.target;
        if (live.isDirectory()) return true;
        if (!live.isFile()) return old.rdev !== undefined && live.rdev === BigInt(old.rdev);
        return old.size !== undefined && live.size === BigInt(old.size) && old.mtimeNs !== undefined && sameMtime(live.mtimeNs, BigInt(old.mtimeNs));
      },
    };
  }
}

/**
 * The live mtime is the base's, or the base's cut to whole microseconds,
 * milliseconds or seconds (truncated or rounded: it has nothing finer and is
 * less than one such unit away): what a deployment by a tool that sets times
 * coarser than the file system keeps them leaves (`ebm restore` and other
 * utimes users: microseconds; Node's fs.cp: milliseconds, rounded; tar's
 * old formats: seconds).
 */
export function sameMtime(liveNs: bigint, baseNs: bigint): boolean {
  if (liveNs === baseNs) return true;
  const diff = liveNs > baseNs ? liveNs - baseNs : baseNs - liveNs;
  for (const unit of [1000n, 1_000_000n, 1_000_000_000n]) {
    if (liveNs % unit === 0n && diff < unit) return true;
  }
  return false;
}

/** A normalized entry kind as the walk's type (hardlinks and special kinds never equal a live file). */
function entryType(kind: string): LayerEntryType | 'unmatched' {
  if (kind === 'dir' || kind === 'file' || kind === 'symlink') return kind;
  if (kind === 'fifo' || kind === 'chardev' || kind === 'blockdev' || kind === 'socket') return 'other';
  return 'unmatched';
}

function sameAttributes(live: BigIntStats, old: { type: LayerEntryType | 'unmatched'; mode: number; uid: number; gid: number }): boolean {
  return typeOf(live) === old.type && (Number(live.mode) & 0o7777) === (old.mode & 0o7777) && Number(live.uid) === old.uid && Number(live.gid) === old.gid;
}
