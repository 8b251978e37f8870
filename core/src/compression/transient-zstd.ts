import { EbmError } from '@ebm/sdk';
import { decompress } from 'zstd-napi';
import { CCtx, compressBound, DCtx, getFrameContentSize } from 'zstd-napi/binding';

/**
 * zstd on the host's blob path, into buffers reused from call to call.
 *
 * The host compresses blobs only to encrypt the result at once, and
 * decompresses a plugin's frames only to re-hash them; neither output
 * outlives the caller's synchronous use. zstd-napi's simple functions
 * allocate a fresh buffer per call, and on this path that was ~1 GiB of
 * short-lived buffers per GiB backed up: each one counts as external memory,
 * and V8 answers external memory growth with full garbage collections (about
 * one per 64 MiB). One reused buffer per direction avoids all of that.
 *
 * CONTRACT: a returned view is valid only until the next call of the same
 * function, in this thread. Copy it (encrypting copies) before anything
 * else may run, and never hand it to another thread.
 */

/** Reused buffers are kept up to this size; a larger blob gets a buffer of its own. */
const MAX_KEPT_BYTES = 16 * 1024 * 1024;

/** One buffer reused from call to call, grown as needed up to MAX_KEPT_BYTES. */
class Scratch {
  #kept: Buffer = Buffer.alloc(0);

  /** At least `size` bytes: the kept buffer, a grown one (kept from now on), or a one-off above the cap. */
  take(size: number): Buffer {
    if (this.#kept.length >= size) return this.#kept;
    const grown = Buffer.allocUnsafe(Math.max(size, Math.min(MAX_KEPT_BYTES, this.#kept.length * 2)));
    if (grown.length <= MAX_KEPT_BYTES) this.#kept = grown;
    return grown;
  }
}

let cctx: CCtx | undefined;
let dctx: DCtx | undefined;

/**
 * This thread's one decompression context, for any synchronous decompression
 * (a context keeps its window buffers between calls: one per thread, not one
 * per caller).
 */
export function threadDctx(): DCtx {
  dctx ??= new DCtx();
  return dctx;
}
const compressScratch = new Scratch();
const decompressScratch = new Scratch();

/**
 * zstd frame of `plaintext` at `level`, or undefined when it would not be
 * smaller than the plaintext (then store it as is). Transient: see the contract above.
 */
export function compressTransient(plaintext: Uint8Array, level: number): Buffer | undefined {
  cctx ??= new CCtx();
  const out = compressScratch.take(compressBound(plaintext.length));
  const length = cctx.compress(out, plaintext, level);
  return length + 1 < plaintext.length ? out.subarray(0, length) : undefined;
}

/**
 * The plaintext of a zstd frame a plugin sent, to re-hash it. A broken frame,
 * or one whose content differs from the size it declares, is E_PROTOCOL
 * naming `what`. Transient: see the contract above.
 */
export function decompressTransient(frame: Uint8Array, what: string): Buffer {
  let size: number | null;
  try {
    size = getFrameContentSize(frame);
  } catch (err) {
    throw pluginFrameDamaged(what, err);
  }
  if (size === null) {
    try {
      return decompress(frame); // a streamed frame: sized as it decompresses (a buffer of its own)
    } catch (err) {
      throw pluginFrameDamaged(what, err);
    }
  }
  const out = decompressScratch.take(size);
  let length: number;
  try {
    length = threadDctx().decompress(out.subarray(0, size), frame);
  } catch (err) {
    throw pluginFrameDamaged(what, err);
  }
  if (length !== size) throw new EbmError('E_PROTOCOL', `${what}: the zstd frame sent by the plugin holds ${length} bytes but declares ${size}`, { subject: what });
  return out.subarray(0, size);
}

/** A zstd frame a plugin sent that does not decompress: E_PROTOCOL naming `what` (the plugin is at fault, not the repository). */
export function pluginFrameDamaged(what: string, err: unknown): EbmError {
  return new EbmError('E_PROTOCOL', `${what}: the zstd frame sent by the plugin is damaged (${(err as Error).message})`, { subject: what });
}

/** A stored zstd frame that does not decompress: E_CORRUPT_OBJECT naming `what`. */
export function storedFrameDamaged(what: string, err: unknown): EbmError {
  return new EbmError('E_CORRUPT_OBJECT', `${what}: zstd frame is damaged (${(err as Error).message})`, { subject: what });
}
