import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { throwIfCancelled } from '@ebm/sdk';
import type { LayerDiscoverContext } from '@ebm/sdk';
import { walkLayer } from './walk';
import type { WalkEntry } from './walk';
import { LayerDigestCache } from './layer-digest-cache';
import type { LayerIdentity } from './layer-digest-cache';

/** The algorithm part of a digest this plugin computes over a directory tree (not a tar stream, hence the qualifier). */
export const TREE_DIGEST_ALGORITHM = 'ebmtree+sha256';

/**
 * A host-independent digest of a layer directory: SHA-256 over one JSON line
 * per entry in walk order (sorted, pre-order) holding path, type, mode, owner,
 * size, the content's SHA-256 (files), the target (symlinks), rdev (devices)
 * and the overlay marks. Times are left out: the same layer unpacked on two
 * hosts at different times has the same digest. Reads every file the
 * `cache` does not know unchanged (see LayerDigestCache): the first digest
 * of a layer costs a full read, later ones a walk, or less.
 */
export class TreeDigest {
  readonly #hash = createHash('sha256');

  constructor(private readonly cache?: LayerDigestCache) {}

  async add(e: WalkEntry, signal: AbortSignal, op: string): Promise<void> {
    let content: string | number | null = null;
    if (e.type === 'file' && !e.marks.metacopy && !e.marks.whiteout) {
      content = this.cache?.lookup(e.path, e.st) ?? (await fileSha256(e.abs, signal, op));
    }
    else if (e.type === 'symlink') content = await fsp.readlink(e.abs);
    else if (e.type === 'other') content = e.st.rdev;
    this.cache?.note(e.path, e.st, typeof content === 'string' && e.type === 'file' ? content : null);
    const marks = [e.marks.whiteout ? 'w' : '', e.marks.opaque ? 'o' : '', e.marks.metacopy ? 'm' : '', e.marks.redirect ?? ''];
    const size = e.type === 'file' ? e.st.size : 0;
    this.#hash.update(`${JSON.stringify([e.path, e.type, e.st.mode & 0o7777, e.st.uid, e.st.gid, size, content, marks])}\n`);
  }

  /** The layer's identity once every entry was added (remembered in the cache for the next discovery). */
  finish(counts: { readonly files: number; readonly bytes: number }): LayerIdentity {
    const identity = { digest: `${TREE_DIGEST_ALGORITHM}:${this.#hash.digest('hex')}`, files: counts.files, bytes: counts.bytes };
    this.cache?.save(identity);
    return identity;
  }
}

/** How describeTree counts and digests one directory. */
export interface DescribeTreeOptions {
  /** Compute the tree digest (an immutable layer without a known one); otherwise only count. */
  readonly digest: boolean;
  /** What else shapes the digest (e.g. exclusions): keys the digest cache. */
  readonly scope?: string;
  /** Prunes a path and all below it. */
  readonly skip?: (rel: string) => boolean;
  /** The data bytes an entry counts as a file, or undefined when it is no file (a directory, a whiteout). */
  readonly fileBytes: (e: WalkEntry) => number | undefined;
  /** Called every 1000 files with the counts so far. */
  readonly onProgress?: (counts: { readonly files: number; readonly bytes: number }, currentPath: string) => void;
}

/**
 * A layer directory's counts and (with `digest`) its tree digest: the
 * remembered identity when the digest cache knows the directory unchanged
 * (no walk at all), else one walk that counts, digests and remembers.
 */
export async function describeTree(root: string, ctx: LayerDiscoverContext, o: DescribeTreeOptions): Promise<{ files: number; bytes: number; digest?: string }> {
  let digest: TreeDigest | undefined;
  if (o.digest) {
    const cache = LayerDigestCache.open(root, ctx.options, o.scope);
    const known = await cache.unchangedIdentity(ctx.signal, 'discover');
    if (known !== undefined) return known;
    digest = new TreeDigest(cache);
  }
  const counts = { files: 0, bytes: 0 };
  for await (const e of walkLayer(root, ctx.signal, 'discover', o.skip)) {
    await digest?.add(e, ctx.signal, 'discover');
    const bytes = o.fileBytes(e);
    if (bytes === undefined) continue;
    counts.files += 1;
    counts.bytes += bytes;
    if (counts.files % 1000 === 0) o.onProgress?.(counts, e.path);
  }
  return digest === undefined ? counts : digest.finish(counts);
}

async function fileSha256(abs: string, signal: AbortSignal, op: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(abs, { highWaterMark: 1 << 20 })) {
    throwIfCancelled(signal, op);
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}
