import { setTimeout as sleep } from 'node:timers/promises';
import { EbmError, isEbmError } from '@ebm/sdk';
import type { Backend, FileInfo, FileType, Handle, SaveData } from '../backend/backend';
import { describeHandle } from './backend-capabilities';
import { ForwardingBackend } from './forwarding-backend';
import { MoverCounters } from './mover-metrics';

export type BackendOp = 'save' | 'load' | 'stat' | 'list' | 'remove' | 'create' | 'isEmpty' | 'checksum';

export interface RetryEvent {
  readonly op: BackendOp;
  /** `type/name`, `type` for a listing, or the location for create/isEmpty. */
  readonly subject: string;
  /** The attempt that just failed (1 = the first try). */
  readonly attempt: number;
  readonly attempts: number;
  /** How long the mover waits before the next attempt. */
  readonly delayMs: number;
  readonly error: EbmError;
}

export interface RetryOptions {
  /** Attempts in all, the first included (default 5; 1 = never retry). */
  readonly attempts?: number;
  /** Delay before the second attempt (default 200 ms); doubles for each later one. */
  readonly backoffMs?: number;
  /** Upper bound of one delay (default 10 s). */
  readonly maxBackoffMs?: number;
  /** Called before each wait, e.g. to log a warning with the job. */
  readonly onRetry?: (event: RetryEvent) => void;
  readonly counters?: MoverCounters;
}

export const DEFAULT_RETRY: Required<Pick<RetryOptions, 'attempts' | 'backoffMs' | 'maxBackoffMs'>> = { attempts: 5, backoffMs: 200, maxBackoffMs: 10_000 };

/**
 * Retries failures that may go away by themselves: an EbmError whose
 * `retryable` is true (E_STORAGE_IO — including a failed save verification
 * from ChecksummingBackend). Never retries the others: E_DISK_FULL (needs an
 * operator), E_STORAGE_NOT_FOUND and E_CORRUPT_OBJECT (the answer will be the
 * same), E_INTERNAL, or anything that is not an EbmError (a bug).
 *
 * Waits `backoffMs · 2^(n−1)`, capped at `maxBackoffMs`, with "equal jitter"
 * (a uniformly random point in the upper half of that delay), so many jobs
 * that failed together do not retry in lockstep.
 *
 * Why retrying a save is safe: the Backend contract makes a save atomic and
 * overwriting — a failed save leaves no file or the previous one under the
 * name, never a partial one — so sending the same bytes again under the same
 * name converges to the same single complete file however many attempts
 * failed, and wherever they failed (even after the backend stored the bytes
 * but before it answered). The caller must not change the buffers while
 * the save is pending (it never may). Listing is retried by listing again
 * and skipping names already yielded (a listing is a set).
 *
 * After the last attempt the error is rethrown with the attempt count in its
 * message (same code, the original as `cause`).
 */
export class RetryingBackend extends ForwardingBackend {
  readonly #attempts: number;
  readonly #backoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #onRetry: ((event: RetryEvent) => void) | undefined;
  readonly #counters: MoverCounters;

  constructor(inner: Backend, options: RetryOptions = {}) {
    super(inner);
    const attempts = options.attempts ?? DEFAULT_RETRY.attempts;
    const backoffMs = options.backoffMs ?? DEFAULT_RETRY.backoffMs;
    const maxBackoffMs = options.maxBackoffMs ?? Math.max(backoffMs, DEFAULT_RETRY.maxBackoffMs);
    if (!Number.isSafeInteger(attempts) || attempts < 1) throw new RangeError(`retry attempts must be an integer ≥ 1, not ${attempts}`);
    if (!Number.isFinite(backoffMs) || backoffMs < 0) throw new RangeError(`retry backoffMs must be ≥ 0, not ${backoffMs}`);
    if (!Number.isFinite(maxBackoffMs) || maxBackoffMs < backoffMs) throw new RangeError(`retry maxBackoffMs must be ≥ backoffMs (${backoffMs}), not ${maxBackoffMs}`);
    this.#attempts = attempts;
    this.#backoffMs = backoffMs;
    this.#maxBackoffMs = maxBackoffMs;
    this.#onRetry = options.onRetry;
    this.#counters = options.counters ?? new MoverCounters();
  }

  override save(handle: Handle, data: SaveData): Promise<void> {
    return this.#run('save', describeHandle(handle), () => this.inner.save(handle, data));
  }

  override load(handle: Handle, offset?: number, length?: number): Promise<Buffer> {
    return this.#run('load', describeHandle(handle), () => this.inner.load(handle, offset, length));
  }

  override stat(handle: Handle): Promise<FileInfo> {
    return this.#run('stat', describeHandle(handle), () => this.inner.stat(handle));
  }

  override remove(handle: Handle): Promise<void> {
    return this.#run('remove', describeHandle(handle), () => this.inner.remove(handle));
  }

  override create(): Promise<void> {
    return this.#run('create', this.location, () => this.inner.create());
  }

  override isEmpty(): Promise<boolean> {
    return this.#run('isEmpty', this.location, () => this.inner.isEmpty());
  }

  override async *list(type: FileType): AsyncIterable<FileInfo> {
    const yielded = new Set<string>();
    for (let attempt = 1; ; attempt++) {
      try {
        for await (const info of this.inner.list(type)) {
          if (yielded.has(info.name)) continue;
          yielded.add(info.name);
          yield info;
        }
        return;
      } catch (err) {
        await this.#afterFailure('list', type, attempt, err);
      }
    }
  }

  protected override wrapChecksum(handle: Handle, fn: (handle: Handle) => Promise<string>): Promise<string> {
    return this.#run('checksum', describeHandle(handle), () => fn(handle));
  }

  protected override wrapLoadInto(handle: Handle, offset: number, target: Uint8Array, fn: (handle: Handle, offset: number, target: Uint8Array) => Promise<void>): Promise<void> {
    return this.#run('load', describeHandle(handle), () => fn(handle, offset, target));
  }

  async #run<T>(op: BackendOp, subject: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        await this.#afterFailure(op, subject, attempt, err);
      }
    }
  }

  /** Throws if `err` is final; else reports and waits before the next attempt. */
  async #afterFailure(op: BackendOp, subject: string, attempt: number, err: unknown): Promise<void> {
    if (!isEbmError(err) || !err.retryable) throw err;
    if (attempt >= this.#attempts) {
      if (this.#attempts === 1) throw err;
      throw new EbmError(err.code, `${err.message} (gave up after ${attempt} attempts)`, {
        cause: err,
        retryable: err.retryable,
        op: err.op ?? op,
        subject: err.subject ?? subject,
        ...(err.plugin !== undefined ? { plugin: err.plugin } : {}),
      });
    }
    const delayMs = this.delayBefore(attempt + 1);
    this.#counters.retries++;
    this.#onRetry?.({ op, subject, attempt, attempts: this.#attempts, delayMs, error: err });
    if (delayMs > 0) await sleep(delayMs);
  }

  /** The jittered wait before attempt `next` (2, 3, …): within [cap/2, cap], cap = min(max, base·2^(next−2)). */
  delayBefore(next: number): number {
    const cap = Math.min(this.#maxBackoffMs, this.#backoffMs * 2 ** (next - 2));
    return Math.round(cap / 2 + Math.random() * (cap / 2));
  }
}
