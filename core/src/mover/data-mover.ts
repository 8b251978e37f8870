import type { Backend, Handle, SaveData } from '../backend/backend';
import { byteLength } from './backend-capabilities';
import { ChecksummingBackend, VerificationFailure, VerifyMode } from './checksumming-backend';
import { ForwardingBackend } from './forwarding-backend';
import { LimitingBackend } from './limiting-backend';
import { MoverCounters, MoverMetrics } from './mover-metrics';
import { RetryEvent, RetryingBackend, RetryOptions } from './retrying-backend';

export interface BandwidthLimit {
  readonly bytesPerSecond: number;
  /** Bytes that may pass at full speed after an idle spell (default: 1/50 s of traffic, 16 KiB..1 MiB). */
  readonly burstBytes?: number;
}

export interface DataMoverOptions {
  /** How each save is verified (default 'read-back'; see VerifyMode). */
  readonly verify?: VerifyMode;
  /** Retry policy for retryable failures (default: 5 attempts, 200 ms doubling to at most 10 s). */
  readonly retry?: Omit<RetryOptions, 'counters' | 'onRetry'>;
  /** Backend operations at once for this repository (default 4). */
  readonly concurrency?: number;
  /** Average byte rate over saves and loads (default unlimited). */
  readonly bandwidth?: BandwidthLimit;
  /** Refuse content-addressed files whose bytes do not hash to their name (default true). */
  readonly checkContentNames?: boolean;
  readonly onRetry?: (event: RetryEvent) => void;
  readonly onVerificationFailure?: (failure: VerificationFailure) => void;
}

/**
 * The data mover: THE only component that writes to a repository's backend.
 * Every Backend a repository is opened on in production (CLI commands,
 * `ebm serve`) is wrapped once by `createDataMover`; nothing else calls a raw
 * backend's save or remove. It is itself a Backend, so the repository code
 * above it, and the backends below it (the local directory, the S3 backend of
 * a later issue), are unchanged. Layers, outermost first:
 *
 *   DataMover (metrics) → RetryingBackend → ChecksummingBackend → LimitingBackend → backend
 *
 * - retry is outside verification, so a save whose stored copy fails
 *   verification (E_STORAGE_IO) is sent again;
 * - limits are innermost, so each real transfer — a save, its read-back,
 *   a load — holds a slot and pays for its bytes, while a retry's back-off
 *   wait holds neither.
 *
 * Visibility guarantee: a snapshot becomes visible only after all its data
 * is verified stored. Because a save through the mover resolves only after
 * the stored object was verified (its SHA-256 read back or reported by the
 * backend equals the SHA-256 of the bytes sent), the repository's write order
 * (docs/format.md, "Write order and crash safety": packs → index → snapshot,
 * each awaited before the next starts) turns into: every pack is verified
 * before the index naming it is written, the index is verified before the
 * snapshot is written, and the snapshot itself is verified before the backup
 * reports it. A pack that fails verification on every attempt fails the save,
 * BlobStore records the failure, `flush()` rethrows it, so no index names the
 * pack and no snapshot is written; `BlobStore.abort()` removes the packs the
 * attempt wrote. (The mover removes the bad object itself at once.)
 *
 * `metrics` gives the counters for the host's /metrics endpoint.
 */
export class DataMover extends ForwardingBackend {
  /** The backend the mover writes to (for diagnostics and tests; do not write to it directly). */
  readonly backend: Backend;
  /** Verification in use ('backend-checksum' falls back to 'read-back' for a backend without checksums). */
  readonly verification: VerifyMode;
  readonly concurrency: number;
  readonly #counters: MoverCounters;

  /** Use createDataMover. */
  constructor(backend: Backend, stack: Backend, counters: MoverCounters, verification: VerifyMode, concurrency: number) {
    super(stack);
    this.backend = backend;
    this.#counters = counters;
    this.verification = verification;
    this.concurrency = concurrency;
  }

  /** A copy of the counters now. */
  get metrics(): MoverMetrics {
    return this.#counters.snapshot();
  }

  override async save(handle: Handle, data: SaveData): Promise<void> {
    try {
      await this.inner.save(handle, data);
    } catch (err) {
      this.#counters.failures++;
      throw err;
    }
    this.#counters.objectsSaved++;
    this.#counters.bytesSaved += byteLength(data);
  }

  override async load(handle: Handle, offset?: number, length?: number): Promise<Buffer> {
    const data = await this.inner.load(handle, offset, length);
    this.#counters.bytesLoaded += data.length;
    return data;
  }

  protected override async wrapLoadInto(handle: Handle, offset: number, target: Uint8Array, fn: (handle: Handle, offset: number, target: Uint8Array) => Promise<void>): Promise<void> {
    await fn(handle, offset, target);
    this.#counters.bytesLoaded += target.length;
  }

  override async remove(handle: Handle): Promise<void> {
    try {
      await this.inner.remove(handle);
    } catch (err) {
      this.#counters.failures++;
      throw err;
    }
  }
}

/**
 * Wraps `backend` in the data mover (see DataMover). Wrap each backend once,
 * where a repository's backend is made; wrapping a DataMover again is a
 * wiring mistake (double verification) and throws a TypeError.
 */
export function createDataMover(backend: Backend, options: DataMoverOptions = {}): DataMover {
  if (backend instanceof DataMover) throw new TypeError(`the backend of ${backend.location} is already wrapped in a data mover`);
  const counters = new MoverCounters();
  const limited = new LimitingBackend(backend, {
    concurrency: options.concurrency,
    bytesPerSecond: options.bandwidth?.bytesPerSecond,
    burstBytes: options.bandwidth?.burstBytes,
    counters,
  });
  const checked = new ChecksummingBackend(limited, {
    verify: options.verify,
    checkContentNames: options.checkContentNames,
    counters,
    onVerificationFailure: options.onVerificationFailure,
  });
  const retried = new RetryingBackend(checked, { ...options.retry, onRetry: options.onRetry, counters });
  return new DataMover(backend, retried, counters, checked.verification, limited.concurrency);
}
