import type { Backend, FileInfo, FileType, Handle, SaveData } from '../backend/backend';
import { byteLength } from './backend-capabilities';
import { ForwardingBackend } from './forwarding-backend';
import { MoverCounters } from './mover-metrics';
import { Semaphore } from './semaphore';
import { TokenBucket } from './token-bucket';

export interface LimitOptions {
  /** Backend operations running at once (default 4). Use one LimitingBackend per repository. */
  readonly concurrency?: number;
  /** Bytes per second over saves and loads together (default: unlimited). */
  readonly bytesPerSecond?: number;
  /** Bytes that may pass at full speed after an idle spell (default: see TokenBucket). */
  readonly burstBytes?: number;
  readonly counters?: MoverCounters;
}

export const DEFAULT_CONCURRENCY = 4;

/**
 * Limits one repository's backend traffic: at most `concurrency` operations
 * in the inner backend at once (the rest wait in arrival order) and, with
 * `bytesPerSecond`, an average byte rate over saves and loads.
 *
 * The interface moves whole objects, so the rate is enforced per object, not
 * per packet: a save waits for its bytes' share of the rate *before* it is
 * sent (without holding a slot, so waiting for bandwidth never blocks a
 * cheap stat), a load pays for its bytes *after* they arrived (its size is
 * known only then). Over any span longer than a few objects the average
 * stays at or below the rate; a single object still travels at line speed.
 *
 * A listing holds a slot only while fetching each entry, never while the
 * caller works on one, so a caller that removes files while listing cannot
 * deadlock itself even with concurrency 1. Nothing here waits by polling.
 */
export class LimitingBackend extends ForwardingBackend {
  readonly #slots: Semaphore;
  readonly #bucket: TokenBucket | undefined;

  constructor(inner: Backend, options: LimitOptions = {}) {
    super(inner);
    const counters = options.counters;
    this.#slots = new Semaphore(options.concurrency ?? DEFAULT_CONCURRENCY, (active, waiting) => {
      if (counters === undefined) return;
      counters.activeOperations = active;
      counters.waitingOperations = waiting;
    });
    this.#bucket = options.bytesPerSecond === undefined ? undefined : new TokenBucket(options.bytesPerSecond, options.burstBytes);
  }

  get concurrency(): number {
    return this.#slots.limit;
  }

  override async save(handle: Handle, data: SaveData): Promise<void> {
    await this.#bucket?.take(byteLength(data));
    return this.#slots.use(() => this.inner.save(handle, data));
  }

  override async load(handle: Handle, offset?: number, length?: number): Promise<Buffer> {
    const data = await this.#slots.use(() => this.inner.load(handle, offset, length));
    await this.#bucket?.take(data.length);
    return data;
  }

  override stat(handle: Handle): Promise<FileInfo> {
    return this.#slots.use(() => this.inner.stat(handle));
  }

  override remove(handle: Handle): Promise<void> {
    return this.#slots.use(() => this.inner.remove(handle));
  }

  override create(): Promise<void> {
    return this.#slots.use(() => this.inner.create());
  }

  override isEmpty(): Promise<boolean> {
    return this.#slots.use(() => this.inner.isEmpty());
  }

  override async *list(type: FileType): AsyncIterable<FileInfo> {
    const iterator = this.inner.list(type)[Symbol.asyncIterator]();
    let done = false;
    try {
      for (;;) {
        const next = await this.#slots.use(() => iterator.next());
        if (next.done === true) {
          done = true;
          return;
        }
        yield next.value;
      }
    } finally {
      // The caller stopped early (break/throw): let the inner listing clean up.
      if (!done) await iterator.return?.();
    }
  }

  protected override wrapChecksum(handle: Handle, fn: (handle: Handle) => Promise<string>): Promise<string> {
    return this.#slots.use(() => fn(handle));
  }

  protected override async wrapLoadInto(handle: Handle, offset: number, target: Uint8Array, fn: (handle: Handle, offset: number, target: Uint8Array) => Promise<void>): Promise<void> {
    await this.#slots.use(() => fn(handle, offset, target));
    await this.#bucket?.take(target.length);
  }
}
