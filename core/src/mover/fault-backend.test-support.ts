/**
 * Test doubles for the mover's tests: a backend that injects faults and
 * counts what reaches it, and a backend that reports stored checksums like
 * an object store. Not used by production code.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { EbmError } from '@ebm/sdk';
import type { ErrorCode } from '@ebm/sdk';
import { collectBytes } from '../backend/backend';
import type { Backend, FileInfo, FileType, Handle, SaveData } from '../backend/backend';
import { MemoryBackend } from '../backend/memory-backend';
import { sha256Hex } from './backend-capabilities';
import { ForwardingBackend } from './forwarding-backend';
import type { BackendOp } from './retrying-backend';

type Matcher = (handle: Handle) => boolean;

/** How a corrupted save changes the bytes: one bit flipped in the middle, one byte more, or the last byte lost. */
export type Corruption = 'flip' | 'append' | 'truncate';

interface PlannedFailure {
  readonly op: BackendOp;
  remaining: number;
  readonly code: ErrorCode;
}

/**
 * Forwards to `inner`, but:
 * - `failNext(op, n, code)`: the next n calls of op throw EbmError(code) without reaching inner;
 * - `corruptSaves(n, match, how)`: the next n matching saves store altered bytes (a bit
 *   flipped, a byte more or less) and still report success, like a faulty disk or network path;
 * - `dropSaves(n)`: the next n saves report success but store nothing;
 * - `delayMs`: every operation takes at least this long (so overlaps can be seen);
 * - counts calls per op (a loadInto counts as a load, and its target buffers are
 *   kept in `loadIntoTargets`), operations in flight now and at most (`maxActive`).
 */
export class FaultyBackend extends ForwardingBackend {
  readonly calls: Record<BackendOp, number> = { save: 0, load: 0, stat: 0, list: 0, remove: 0, create: 0, isEmpty: 0, checksum: 0 };
  active = 0;
  maxActive = 0;
  delayMs = 0;
  readonly #failures: PlannedFailure[] = [];
  #corrupt: { remaining: number; match: Matcher; how: Corruption } = { remaining: 0, match: () => true, how: 'flip' };
  #drop = 0;
  /** Handles whose saves were corrupted, in order. */
  readonly corrupted: Handle[] = [];
  /** The ArrayBuffer of every loadInto target, in order (to see whether a reader reuses its buffers). */
  readonly loadIntoTargets: ArrayBufferLike[] = [];

  constructor(inner: Backend = new MemoryBackend()) {
    super(inner);
  }

  failNext(op: BackendOp, count: number, code: ErrorCode = 'E_STORAGE_IO'): this {
    this.#failures.push({ op, remaining: count, code });
    return this;
  }

  corruptSaves(count: number, match: Matcher = () => true, how: Corruption = 'flip'): this {
    this.#corrupt = { remaining: count, match, how };
    return this;
  }

  dropSaves(count: number): this {
    this.#drop = count;
    return this;
  }

  override save(handle: Handle, data: SaveData): Promise<void> {
    return this.#op('save', async () => {
      if (this.#drop > 0) {
        this.#drop--;
        return;
      }
      if (this.#corrupt.remaining > 0 && this.#corrupt.match(handle)) {
        this.#corrupt.remaining--;
        this.corrupted.push(handle);
        const bytes = await collectBytes(data);
        const how = bytes.length === 0 ? 'append' : this.#corrupt.how;
        if (how === 'append') return this.inner.save(handle, [bytes, Buffer.from([0])]);
        if (how === 'truncate') return this.inner.save(handle, bytes.subarray(0, bytes.length - 1));
        bytes[bytes.length >> 1] ^= 0x10;
        return this.inner.save(handle, bytes);
      }
      return this.inner.save(handle, data);
    });
  }

  override load(handle: Handle, offset?: number, length?: number): Promise<Buffer> {
    return this.#op('load', () => this.inner.load(handle, offset, length));
  }

  override stat(handle: Handle): Promise<FileInfo> {
    return this.#op('stat', () => this.inner.stat(handle));
  }

  override remove(handle: Handle): Promise<void> {
    return this.#op('remove', () => this.inner.remove(handle));
  }

  override create(): Promise<void> {
    return this.#op('create', () => this.inner.create());
  }

  override isEmpty(): Promise<boolean> {
    return this.#op('isEmpty', () => this.inner.isEmpty());
  }

  override async *list(type: FileType): AsyncIterable<FileInfo> {
    const items = await this.#op('list', async () => {
      const out: FileInfo[] = [];
      for await (const f of this.inner.list(type)) out.push(f);
      return out;
    });
    yield* items;
  }

  protected override wrapLoadInto(handle: Handle, offset: number, target: Uint8Array, fn: (handle: Handle, offset: number, target: Uint8Array) => Promise<void>): Promise<void> {
    this.loadIntoTargets.push(target.buffer);
    return this.#op('load', () => fn(handle, offset, target));
  }

  protected override wrapChecksum(handle: Handle, fn: (handle: Handle) => Promise<string>): Promise<string> {
    return this.#op('checksum', () => fn(handle));
  }

  async #op<T>(op: BackendOp, fn: () => Promise<T>): Promise<T> {
    this.calls[op]++;
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      if (this.delayMs > 0) await sleep(this.delayMs);
      const planned = this.#failures.find((f) => f.op === op && f.remaining > 0);
      if (planned !== undefined) {
        planned.remaining--;
        throw new EbmError(planned.code, `injected ${planned.code} on ${op}`, { op });
      }
      return await fn();
    } finally {
      this.active--;
    }
  }
}

/** A MemoryBackend that reports the SHA-256 of what it holds, as an object store's checksum would. */
export class ChecksumMemoryBackend extends MemoryBackend {
  checksumCalls = 0;

  async checksum(handle: Handle): Promise<string> {
    this.checksumCalls++;
    const stored = this.peek(handle);
    if (stored === undefined) throw new EbmError('E_STORAGE_NOT_FOUND', `${this.location}/${handle.type}/${handle.name}: no such file`);
    return sha256Hex(stored);
  }
}

export async function names(backend: Backend, type: FileType): Promise<string[]> {
  const out: string[] = [];
  for await (const f of backend.list(type)) out.push(f.name);
  return out.sort();
}
