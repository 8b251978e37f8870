/**
 * The memory a backup's blobs travel through on their way to the host: one
 * SharedArrayBuffer, allocated once per job, handed out in regions first in,
 * first out. A put-blob message carries a view of its region; a view of
 * shared memory crosses postMessage as a reference, not as a copy. So no
 * blob costs an allocation on either side of the worker boundary, and
 * neither thread collects a gigabyte of dead buffers per gigabyte backed up
 * (each thread let tens of MiB of them pile up between its garbage
 * collections, most of ebm's peak memory).
 *
 * A region is held from the moment a blob is offered until the host has
 * answered that it has the blob or acknowledged its upload; `acquire` waits
 * while no contiguous room is free (waiters are served first in, first out),
 * `tryAcquire` does not wait. The byte budget of a job (its window) is kept
 * apart (ByteWindow): the ring only says where the bytes are.
 *
 * Contract: the holder writes a region only between `acquire` and handing it
 * to the host, and nobody touches it after `release`. Regions may be released
 * in any order; room is reclaimed from the oldest region on. A request larger
 * than the ring can never be met: the caller checks `capacity` first.
 */
export class SharedRing {
  readonly capacity: number;
  readonly #bytes: Uint8Array;
  /** Live regions in allocation order (the oldest first); `released` ones wait for the older ones. */
  #live: Region[] = [];
  /** Index of the oldest entry of #live still present (entries before it were reclaimed). */
  #first = 0;
  /** Where the next region starts when it fits there. */
  #head = 0;
  #inFlight = 0;
  #waiters: Waiter[] = [];
  #failure: unknown;
  readonly #byStart = new Map<number, Region>();

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity <= 0) throw new RangeError(`SharedRing: the capacity must be a positive integer of bytes, got ${capacity}`);
    this.capacity = capacity;
    this.#bytes = new Uint8Array(new SharedArrayBuffer(capacity));
  }

  /** Bytes held by regions not yet released. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Producers queued for room. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** True when nothing is out, nobody waits and the ring never failed: a later job may use it. */
  get reusable(): boolean {
    return this.#failure === undefined && this.#inFlight === 0 && this.#waiters.length === 0 && this.#byStart.size === 0;
  }

  /** A region of exactly `bytes` if one is free now (and nobody is queued before us). */
  tryAcquire(bytes: number): Uint8Array | undefined {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#waiters.length > 0) return undefined;
    return this.#take(bytes);
  }

  /** Waits for a region of exactly `bytes`. Rejects once the ring has failed. */
  acquire(bytes: number): Promise<Uint8Array> {
    const region = this.tryAcquire(bytes);
    if (region !== undefined) return Promise.resolve(region);
    return new Promise((resolve, reject) => this.#waiters.push({ bytes, resolve, reject }));
  }

  /** Gives a region back (the array `acquire` returned, or any view starting where it starts). */
  release(region: Uint8Array): void {
    if (region.buffer !== this.#bytes.buffer) {
      if (region.length === 0) return; // the empty region tryAcquire(0) gives
      throw new RangeError('SharedRing: released an array that is not one of its regions');
    }
    const entry = this.#byStart.get(region.byteOffset);
    if (entry === undefined) throw new RangeError(`SharedRing: released a region it did not hand out, or twice (offset ${region.byteOffset})`);
    entry.released = true;
    this.#inFlight -= entry.view.length;
    this.#byStart.delete(entry.start);
    this.#reclaim();
    this.#serveWaiters();
  }

  /** True when `data` is a view of this ring's memory. */
  holds(data: Uint8Array): boolean {
    return data.buffer === this.#bytes.buffer;
  }

  /** Rejects every current and future acquire with `err` (the job failed or was cancelled). */
  fail(err: unknown): void {
    if (this.#failure === undefined) this.#failure = err;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(this.#failure);
  }

  #serveWaiters(): void {
    while (this.#waiters.length > 0) {
      const region = this.#take(this.#waiters[0]!.bytes);
      if (region === undefined) return;
      this.#waiters.shift()!.resolve(region);
    }
  }

  /** Drops released regions from the old end; an empty ring starts over at 0 (the most contiguous room). */
  #reclaim(): void {
    while (this.#first < this.#live.length && this.#live[this.#first]!.released) this.#first++;
    if (this.#first === this.#live.length) {
      this.#live = [];
      this.#first = 0;
      this.#head = 0;
    } else if (this.#first > 1024 && this.#first * 2 > this.#live.length) {
      this.#live = this.#live.slice(this.#first);
      this.#first = 0;
    }
  }

  #take(bytes: number): Uint8Array | undefined {
    if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > this.capacity) throw new RangeError(`SharedRing: cannot hand out ${bytes} bytes from a ring of ${this.capacity}`);
    if (bytes === 0) return new Uint8Array(0);
    const start = this.#fitAt(bytes);
    if (start === undefined) return undefined;
    const region: Region = { start, view: this.#bytes.subarray(start, start + bytes), released: false };
    this.#live.push(region);
    this.#byStart.set(start, region);
    this.#head = start + bytes;
    this.#inFlight += bytes;
    return region.view;
  }

  /** Where `bytes` contiguous free bytes start, or undefined. Live data spans [oldest, head), wrapping at most once. */
  #fitAt(bytes: number): number | undefined {
    if (this.#first === this.#live.length) return 0;
    const oldest = this.#live[this.#first]!.start;
    if (this.#head > oldest) {
      // Not wrapped: free room after head, then before the oldest region.
      if (this.#head + bytes <= this.capacity) return this.#head;
      return bytes <= oldest ? 0 : undefined;
    }
    // Wrapped: the only free room is between head and the oldest region.
    return this.#head + bytes <= oldest ? this.#head : undefined;
  }
}

/**
 * Rings of finished jobs, kept for the next job in this thread. Reusing one
 * matters beyond this thread: the host holds views of every ring it was sent
 * until its own garbage collector gets to them, and a ring's memory is freed
 * only then; a host running job after job would otherwise keep one ring per
 * recent job (a flood of 100 small backups grew the process by 357 MiB
 * instead of ~180).
 */
const idleRings: SharedRing[] = [];
const IDLE_RINGS_KEPT = 2;

/** A ring of `capacity` bytes: an idle one from an earlier job of this thread, or a new one. */
export function takeRing(capacity: number): SharedRing {
  const at = idleRings.findIndex((r) => r.capacity === capacity);
  return at >= 0 ? idleRings.splice(at, 1)[0]! : new SharedRing(capacity);
}

/**
 * Gives a ring back for a later job, once its job is over and every region
 * was released (the host answered for every blob). A ring that failed, or
 * still has regions out, is dropped instead: the host may still be reading it.
 */
export function returnRing(ring: SharedRing): void {
  if (ring.reusable && idleRings.length < IDLE_RINGS_KEPT) idleRings.push(ring);
}

/**
 * Forgets this thread's idle rings, so its collector may free them: a host
 * whose plugins were all unloaded for being idle keeps no restore ring.
 */
export function dropIdleRings(): void {
  idleRings.length = 0;
}

interface Region {
  readonly start: number;
  readonly view: Uint8Array;
  released: boolean;
}

interface Waiter {
  readonly bytes: number;
  readonly resolve: (region: Uint8Array) => void;
  readonly reject: (err: unknown) => void;
}
