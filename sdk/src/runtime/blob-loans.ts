import { EbmError } from '../errors/ebm-error';
import { returnRing, SharedRing, takeRing } from './shared-ring';

/** Room for the blobs a restore has on loan at once (a few files, each a few blobs ahead: see READ_AHEAD_BLOBS). */
export const LOAN_RING_BYTES = 16 * 1024 * 1024;

/** The byte a returned region is overwritten with when poisoning (BlobLoans options). */
export const POISON_BYTE = 0xee;

/**
 * The host side of borrowed restore pieces (a load-blob with `borrow`): the
 * bytes of a reply are lent out of one shared ring, keyed by the request's
 * seq, until the worker gives them back (release-blob). So a restore
 * allocates no buffer per blob on either side of the worker boundary.
 *
 * `lend` never waits: when the ring has no room (many files in progress, a
 * blob larger than the ring), the caller answers with a buffer of the
 * worker's own instead, as for a request without `borrow`. The ring is taken
 * from this thread's pool on first use and given back by `close` once
 * nothing is on loan; a ring with loans outstanding (the worker died or was
 * cancelled while holding some) is dropped instead, since the worker may
 * still read it.
 */
export class BlobLoans {
  readonly #capacity: number;
  readonly #poison: boolean;
  readonly #onLoan = new Map<number, Uint8Array>();
  #ring: SharedRing | undefined;
  #closed = false;

  /**
   * `poison`: overwrite a region with POISON_BYTE when it comes back, so a
   * plugin that kept a borrowed piece reads garbage (the SDK's test host
   * does this; a production host need not pay for it).
   */
  constructor(options: { readonly capacity?: number; readonly poison?: boolean } = {}) {
    this.#capacity = options.capacity ?? LOAN_RING_BYTES;
    this.#poison = options.poison === true;
  }

  /** Regions on loan now. */
  get outstanding(): number {
    return this.#onLoan.size;
  }

  /** A region of exactly `bytes` for the reply to request `seq`, or undefined when there is no room now. */
  lend(seq: number, bytes: number): Uint8Array | undefined {
    if (this.#closed || bytes === 0 || bytes > this.#capacity) return undefined;
    if (this.#onLoan.has(seq)) throw new RangeError(`BlobLoans: request ${seq} already has a loan`);
    this.#ring ??= takeRing(this.#capacity);
    const region = this.#ring.tryAcquire(bytes);
    if (region !== undefined) this.#onLoan.set(seq, region);
    return region;
  }

  /** True when `data` is bytes this lender handed out. */
  lent(data: Uint8Array): boolean {
    return this.#ring !== undefined && this.#ring.holds(data);
  }

  /**
   * The worker gave back the reply to `seq` (or the host could not fill the
   * region and never sent it). A seq that has nothing on loan is a broken
   * protocol: E_PROTOCOL naming it.
   */
  giveBack(seq: number): void {
    const region = this.#onLoan.get(seq);
    if (region === undefined) throw new EbmError('E_PROTOCOL', `release-blob names request ${seq}, which has no bytes on loan (never lent, or given back twice)`);
    this.#onLoan.delete(seq);
    if (this.#poison) region.fill(POISON_BYTE);
    this.#ring!.release(region);
  }

  /** No more loans; the ring goes back to the thread's pool if nothing is out. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ring !== undefined && this.#onLoan.size === 0) returnRing(this.#ring);
    this.#ring = undefined;
  }
}
