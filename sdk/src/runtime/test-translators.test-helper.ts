import { createHash } from 'node:crypto';
import type { BackupContext, RestoreContext } from '../translator/context';
import type { Translator } from '../translator/translator';

/** A source for the in-memory translator: bytes are files, objects are directories. */
export type MemNode = Uint8Array | { readonly [name: string]: MemNode };

/** What the in-memory translator restored: path → bytes, or 'dir'. */
export type Restored = Map<string, Uint8Array | 'dir'>;

export interface MemTranslatorOptions {
  /** Reuse the parent's content when a file's stamp (a hash of its bytes, standing in for mtime) is unchanged. */
  readonly reuse?: boolean;
  /** Size of the pieces files are fed to writeContent in. */
  readonly pieceSize?: number;
}

/**
 * A tiny translator for tests: backs up a nested in-memory object (the
 * source string is ignored) depth-first and restores into a Map.
 */
export function memTranslator(root: MemNode, restored: Restored = new Map(), opts: MemTranslatorOptions = {}): Translator {
  const pieceSize = opts.pieceSize ?? 64 * 1024;
  return {
    async backup(ctx: BackupContext) {
      const walk = async (node: MemNode, prefix: string): Promise<void> => {
        for (const [name, child] of Object.entries(node)) {
          const path = prefix === '' ? name : `${prefix}/${name}`;
          if (child instanceof Uint8Array) {
            const stamp = createHash('sha256').update(child).digest('hex');
            const prev = opts.reuse && ctx.previous ? await ctx.previous.lookup(path) : undefined;
            if (prev !== undefined && prev.kind === 'file' && prev.mtimeNs === stamp) {
              await ctx.tree.add(path, { kind: 'file', mtimeNs: stamp, size: prev.size!, content: prev.content! });
            } else {
              const stored = await ctx.tree.writeContent(pieces(child, pieceSize));
              await ctx.tree.add(path, { kind: 'file', mtimeNs: stamp, ...stored });
            }
          } else {
            await ctx.tree.add(path, { kind: 'dir', mode: 0o755 });
            await walk(child as MemNode, path);
          }
        }
      };
      await walk(root, '');
      return { meta: { format: 'mem', version: 1 } };
    },
    async restore(ctx: RestoreContext) {
      for await (const { path, entry } of ctx.entries()) {
        if (entry.kind === 'dir') {
          restored.set(path, 'dir');
        } else {
          const parts: Uint8Array[] = [];
          for await (const data of ctx.readContent(entry)) parts.push(data);
          restored.set(path, Buffer.concat(parts));
        }
      }
    },
  };
}

/** Yields `data` in pieces of `size` bytes (fresh copies, as a stream would). */
export function* pieces(data: Uint8Array, size: number): Generator<Uint8Array> {
  for (let off = 0; off < data.length; off += size) yield Uint8Array.from(data.subarray(off, off + size));
}

/** Deterministic pseudo-random bytes (xorshift32). */
export function pseudoRandom(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Flattens a MemNode into what memTranslator's restore produces. */
export function flatten(node: MemNode, prefix = '', out: Restored = new Map()): Restored {
  for (const [name, child] of Object.entries(node)) {
    const path = prefix === '' ? name : `${prefix}/${name}`;
    if (child instanceof Uint8Array) out.set(path, Buffer.from(child));
    else {
      out.set(path, 'dir');
      flatten(child as MemNode, path, out);
    }
  }
  return out;
}
