import { createHash } from 'node:crypto';
import { EbmError, isEbmError } from '@ebm/sdk';
import type { Backend, Handle, SaveData } from '../backend/backend';
import { backendChecksum, byteLength, CONTENT_ADDRESSED_TYPES, describeHandle, readIntoFunction, sha256Hex, sha256Of } from './backend-capabilities';
import { ForwardingBackend } from './forwarding-backend';
import { MoverCounters } from './mover-metrics';

/**
 * How a save is verified once the backend says it is stored:
 * - 'read-back': load the object and hash it (works everywhere; costs a read; objects over
 *   READ_BACK_CHUNK are read in ranges after a stat). On a local directory the
 *   read usually comes from the page cache: it proves the file system holds
 *   the right bytes under the name, not that the disk media does;
 * - 'backend-checksum': ask the backend for the stored object's SHA-256
 *   (ChecksumCapable); falls back to 'read-back' for a backend without it;
 * - 'none': trust the backend (the SHA-256 is still computed to check content-addressed names).
 */
export type VerifyMode = 'read-back' | 'backend-checksum' | 'none';

export interface VerificationFailure {
  readonly handle: Handle;
  /** SHA-256 of what was sent. */
  readonly expected: string;
  /** SHA-256 of what the backend holds, or undefined when it was missing, of another size or unreadable. */
  readonly actual: string | undefined;
  /** What was wrong, in words (as in the error message). */
  readonly reason: string;
}

export interface ChecksummingOptions {
  /** Default 'read-back'. */
  readonly verify?: VerifyMode;
  /**
   * Refuse to save a keys/data/index/snapshots file whose bytes do not hash
   * to its name (default true). Off only for tests that store arbitrary names
   * (the shared conformance suite does).
   */
  readonly checkContentNames?: boolean;
  readonly counters?: MoverCounters;
  readonly onVerificationFailure?: (failure: VerificationFailure) => void;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Objects larger than this are read back in ranges of this size (bounds the memory of a verification). */
export const READ_BACK_CHUNK = 4 * 1024 * 1024;
/**
 * Read-back buffers kept for the next verification (a backend with loadInto
 * reads into them): one per verification that may run at once in a typical
 * backup, so saving a GiB of packs does not allocate a GiB of buffers.
 */
const SPARE_READ_BACK_BUFFERS = 2;
/** Objects up to this size are read back whole with `load` (a buffer of their own is cheaper than a stat). */
const SMALL_OBJECT_BYTES = 64 * 1024;

/**
 * Computes the SHA-256 of every object before it is sent and verifies the
 * stored object after `save`, so a save resolves only once the bytes are
 * known to be stored exactly. On a mismatch (a bit flipped on the way or at
 * rest, a truncated upload, an object that vanished) the bad object is removed
 * and the save fails with E_STORAGE_IO, which is retryable: a RetryingBackend
 * outside this one sends it again. Loads are passed through: readers already
 * verify what they load (names of content-addressed files, GCM tags, blob ids).
 */
export class ChecksummingBackend extends ForwardingBackend {
  /** The verification actually used (after falling back for a backend without checksums). */
  readonly verification: VerifyMode;
  readonly #checkNames: boolean;
  readonly #counters: MoverCounters;
  readonly #onFailure: ((failure: VerificationFailure) => void) | undefined;
  readonly #storedChecksum: ((handle: Handle) => Promise<string>) | undefined;
  readonly #innerLoadInto: ((handle: Handle, offset: number, target: Uint8Array) => Promise<void>) | undefined;
  readonly #spareReadBack: Buffer[] = [];

  constructor(inner: Backend, options: ChecksummingOptions = {}) {
    super(inner);
    const wanted = options.verify ?? 'read-back';
    if (wanted !== 'read-back' && wanted !== 'backend-checksum' && wanted !== 'none') {
      throw new RangeError(`verify must be 'read-back', 'backend-checksum' or 'none', not ${JSON.stringify(wanted)}`);
    }
    this.#storedChecksum = backendChecksum(inner);
    this.#innerLoadInto = readIntoFunction(inner);
    this.verification = wanted === 'backend-checksum' && this.#storedChecksum === undefined ? 'read-back' : wanted;
    this.#checkNames = options.checkContentNames ?? true;
    this.#counters = options.counters ?? new MoverCounters();
    this.#onFailure = options.onVerificationFailure;
  }

  override async save(handle: Handle, data: SaveData): Promise<void> {
    // A hash-named file's name IS the SHA-256 its writer computed before
    // sending (the pack writer hashes while building the pack), so with a
    // verification after the write, hashing the bytes again here would only
    // repeat that work (about 0.6 s per GiB). The read-back still compares the
    // stored bytes with the name, and a mismatch is diagnosed below.
    const named = this.#checkNames && CONTENT_ADDRESSED_TYPES.has(handle.type) && SHA256_HEX.test(handle.name);
    const expected = named && this.verification !== 'none' ? handle.name : await sha256Of(data);
    if (this.#checkNames && CONTENT_ADDRESSED_TYPES.has(handle.type) && handle.name !== expected) {
      // The writer names these files by the hash of their bytes, so a mismatch
      // means a bug or memory corruption before sending: storing it would
      // plant a file that `check` reports as damaged. Sending again cannot help.
      throw new EbmError(
        'E_INTERNAL',
        `refusing to save ${this.location}/${describeHandle(handle)}: its bytes hash to ${expected}, not to its name${SHA256_HEX.test(handle.name) ? '' : ' (not a SHA-256)'}; nothing was stored`,
        { subject: describeHandle(handle), op: 'save', retryable: false },
      );
    }
    await this.inner.save(handle, data);
    if (this.verification === 'none') return;
    const stored = await this.#stored(handle, byteLength(data));
    if (stored.hash === expected) return;
    if (named && (await sha256Of(data)) !== handle.name) {
      // The bytes never matched their name: a writer bug, not the storage.
      await this.inner.remove(handle).catch(() => undefined);
      throw new EbmError('E_INTERNAL', `refused ${this.location}/${describeHandle(handle)}: its bytes do not hash to its name; it was removed again`, {
        subject: describeHandle(handle),
        op: 'save',
        retryable: false,
      });
    }
    const reason = stored.hash === undefined ? stored.problem : `stored bytes hash to ${stored.hash}, sent bytes to ${expected}`;
    this.#counters.verificationFailures++;
    this.#onFailure?.({ handle, expected, actual: stored.hash, reason });
    // A bad object must not stay under a good name: later readers would trust
    // the name. Removing is idempotent; if it fails too, the save's retry
    // overwrites it, and `check` reports a leftover.
    await this.inner.remove(handle).catch(() => undefined);
    throw new EbmError('E_STORAGE_IO', `${this.location}/${describeHandle(handle)}: the stored object failed verification (${reason}); it was removed, save it again`, {
      subject: describeHandle(handle),
      op: 'verify',
      retryable: true,
    });
  }

  /**
   * What the backend holds under `handle`: its SHA-256, or why it cannot be
   * the object just sent. A read-back of a larger object goes in ranges after
   * a stat (so a longer object is caught too), keeping memory per
   * verification at READ_BACK_CHUNK however large packs grow; with a backend
   * that reads into given buffers (loadInto), into reused ones.
   */
  async #stored(handle: Handle, size: number): Promise<{ hash: string } | { hash?: undefined; problem: string }> {
    try {
      if (this.verification === 'backend-checksum' && this.#storedChecksum !== undefined) return { hash: (await this.#storedChecksum(handle)).toLowerCase() };
      const loadInto = this.#innerLoadInto;
      if (size <= SMALL_OBJECT_BYTES || (loadInto === undefined && size <= READ_BACK_CHUNK)) {
        const whole = await this.inner.load(handle);
        this.#counters.bytesVerified += whole.length;
        return { hash: sha256Hex(whole) };
      }
      const info = await this.inner.stat(handle);
      if (info.size !== size) return { problem: `${info.size} bytes stored, ${size} sent` };
      const hash = createHash('sha256');
      const buffer = loadInto === undefined ? undefined : (this.#spareReadBack.pop() ?? Buffer.allocUnsafeSlow(READ_BACK_CHUNK));
      try {
        for (let offset = 0; offset < size; offset += READ_BACK_CHUNK) {
          const length = Math.min(READ_BACK_CHUNK, size - offset);
          let part: Uint8Array;
          if (buffer === undefined) {
            part = await this.inner.load(handle, offset, length);
          } else {
            part = buffer.subarray(0, length);
            await loadInto!(handle, offset, part);
          }
          this.#counters.bytesVerified += part.length;
          hash.update(part);
        }
      } finally {
        if (buffer !== undefined && this.#spareReadBack.length < SPARE_READ_BACK_BUFFERS) this.#spareReadBack.push(buffer);
      }
      return { hash: hash.digest('hex') };
    } catch (err) {
      if (isEbmError(err) && err.code === 'E_STORAGE_NOT_FOUND') return { problem: 'the object was missing when read back' };
      if (isEbmError(err) && err.code === 'E_CORRUPT_OBJECT') return { problem: `the object read back was damaged: ${err.message}` };
      throw err;
    }
  }
}
