import type { BlobKind } from '@ebm/sdk';
import type { Backend } from '../backend/backend';
import type { PackBlob } from './pack-format';
import type { FinishedPack } from './pack-writer';

/** A finished pack of this session that no index names yet. */
export interface PendingPack {
  readonly name: string;
  readonly kind: BlobKind;
  readonly blobs: readonly PackBlob[];
  /** Resolves once the pack is durably stored (and verified, through the data mover). */
  readonly saved: Promise<void>;
  settled: boolean;
}

/**
 * The packs of one store being saved, and the backpressure on them: at most
 * `maxInFlight` packs of a kind are saved at once beyond the one a caller
 * may wait behind, so the packs held in memory stay bounded whatever the
 * storage's speed. The first failed save is kept: every later caller sees it.
 */
export class PackSaves {
  readonly #inFlight = new Map<BlobKind, PendingPack[]>([['data', []], ['tree', []]]);
  #failure: unknown;
  #written = 0;

  constructor(
    private readonly backend: Backend,
    private readonly maxInFlight: number,
  ) {}

  /** The first failed save's error, or undefined. */
  get failure(): unknown {
    return this.#failure;
  }

  /** Packs saved so far. */
  get written(): number {
    return this.#written;
  }

  /** Starts saving a finished pack (its parts as they are). */
  start(pack: FinishedPack): PendingPack {
    const entry: PendingPack = {
      name: pack.name,
      kind: pack.blobs[0]!.kind,
      blobs: pack.blobs,
      settled: false,
      saved: this.backend.save({ type: 'data', name: pack.name }, pack.contents).finally(() => pack.release()).then(
        () => {
          entry.settled = true;
          this.#written++;
        },
        (err: unknown) => {
          entry.settled = true;
          this.#failure ??= err;
          throw err;
        },
      ),
    };
    entry.saved.catch(() => undefined); // the failure is rethrown to the next caller
    this.#inFlight.get(entry.kind)!.push(entry);
    return entry;
  }

  /** True when more than the allowed packs of `kind` are still being saved (or one failed). */
  mustWait(kind: BlobKind): boolean {
    if (this.#failure !== undefined) return true;
    const queue = this.#inFlight.get(kind)!;
    while (queue.length > 0 && queue[0]!.settled) queue.shift(); // packs mostly settle in order: the queue stays short
    let unsettled = 0;
    for (const p of queue) if (!p.settled) unsettled++;
    return unsettled > this.maxInFlight;
  }

  /** Waits until at most the allowed packs of `kind` are being saved; rethrows a failed save. */
  async waitForRoom(kind: BlobKind): Promise<void> {
    for (;;) {
      const queue = this.#inFlight.get(kind)!.filter((p) => !p.settled);
      this.#inFlight.set(kind, queue);
      if (queue.length <= this.maxInFlight) break;
      await queue[0]!.saved;
    }
    if (this.#failure !== undefined) throw this.#failure;
  }
}
