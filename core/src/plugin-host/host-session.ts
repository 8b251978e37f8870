import type { MessagePort } from 'node:worker_threads';
import { isSharedArrayBuffer } from 'node:util/types';
import { BlobLoans, decodePutBlobs, toErrorRecord } from '@ebm/sdk';
import { EbmError } from '@ebm/sdk';
import type { BlobCodec, BlobKind, ErrorRecord, HostToWorker, JsonValue, LayerChange, LayerFile, LayerInfo, ProgressUpdate, Warning, WorkerRequest } from '@ebm/sdk';
import type { BlobServer } from './blob-server';
import { parseWorkerMessage } from './protocol-guard';

/** A scratch buffer for a shared blob (see #put) is at least a chunk's average size; a few are kept for reuse. */
const SCRATCH_MIN_BYTES = 1024 * 1024;
const SCRATCHES_KEPT = 4;

/** A reply as #answer makes it: a load-blob reply may be marked for transfer (see #send). */
type Reply = HostToWorker | (Extract<HostToWorker, { t: 'load-blob-reply' }> & { readonly transfer: true });

/** A log line a plugin sent. */
export interface PluginLogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields?: Record<string, JsonValue>;
}

export interface SessionHandlers {
  onProgress?(progress: ProgressUpdate): void;
  onLog?(entry: PluginLogEntry): void;
  onWarning?(warning: Warning): void;
  /** A discovery announced a layer before its report (LayerDiscoverContext.announce); ignored when unset. */
  onLayerReady?(layer: LayerInfo): void;
  /**
   * A layer query's batch (only layer-files/layer-changes jobs set it; for any
   * other job a layer-batch is E_PROTOCOL). The ack goes back when the promise
   * resolves — that is the worker's backpressure; a rejection goes back as a
   * reply-error, and the worker's task fails with it.
   */
  onBatch?(items: readonly (LayerFile | LayerChange)[]): Promise<void> | void;
  /** Every message from the worker, and every reply the host sends (the stall clock). */
  onActivity(): void;
  /** The session cannot go on (malformed message, a handler threw): the job must fail with `error`. Called at most once. */
  onFailure(error: ErrorRecord): void;
}

/**
 * Serves one task's end of the protocol port: answers the worker's requests
 * from the BlobServer and forwards progress, logs and warnings.
 *
 * A put-blob (or put-blobs) is acknowledged only after `server.put` resolves (for every blob): the worker
 * limits the bytes it has in flight, so a slow repository slows the plugin
 * instead of filling the host's memory. A server error goes back to the
 * worker as a reply-error (the plugin decides whether that fails the job).
 * A layer-batch is acknowledged the same way, after `onBatch` resolves.
 */
export class HostSession {
  readonly #port: MessagePort;
  readonly #server: BlobServer;
  readonly #pluginId: string;
  readonly #handlers: SessionHandlers;
  #pending = 0;
  #closed = false;
  #failed = false;
  readonly #scratches: Buffer[] = [];
  /** A restore's borrowed pieces (load-blob with borrow), lent from one shared ring taken on first use. */
  readonly #loans = new BlobLoans();

  constructor(port: MessagePort, server: BlobServer, pluginId: string, handlers: SessionHandlers) {
    this.#port = port;
    this.#server = server;
    this.#pluginId = pluginId;
    this.#handlers = handlers;
    port.on('message', (raw: unknown) => this.#receive(raw));
  }

  /** Requests the host is still serving (while > 0 the worker is waiting on us, not stalled). */
  get pendingRequests(): number {
    return this.#pending;
  }

  /** Asks the plugin to stop (cooperative; the supervisor hard-kills after a grace period). */
  cancel(reason: string): void {
    this.#send({ t: 'cancel', reason });
  }

  /** Stops serving and closes the port. Replies still in flight are dropped. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#loans.close();
    this.#port.removeAllListeners('message');
    this.#port.close();
  }

  #receive(raw: unknown): void {
    if (this.#closed || this.#failed) return;
    this.#handlers.onActivity();
    try {
      const msg = parseWorkerMessage(raw, this.#pluginId);
      switch (msg.t) {
        case 'progress':
          this.#handlers.onProgress?.(msg.progress);
          break;
        case 'log':
          this.#handlers.onLog?.(msg.fields === undefined ? { level: msg.level, message: msg.message } : { level: msg.level, message: msg.message, fields: msg.fields });
          break;
        case 'warning':
          this.#handlers.onWarning?.(msg.warning);
          break;
        case 'layer-ready':
          this.#handlers.onLayerReady?.(msg.layer);
          break;
        case 'release-blob':
          this.#loans.giveBack(msg.of);
          break;
        case 'layer-batch':
          if (this.#handlers.onBatch === undefined) throw new EbmError('E_PROTOCOL', `plugin ${this.#pluginId} sent a layer-batch, but this job is not a layer query`, { plugin: this.#pluginId });
          this.#serve(msg);
          break;
        default:
          this.#serve(msg);
      }
    } catch (err) {
      this.#fail(toErrorRecord(err, 'E_INTERNAL'));
    }
  }

  #serve(msg: WorkerRequest): void {
    this.#pending++;
    const { seq } = msg;
    this.#answer(msg)
      .catch((err: unknown): Reply => ({ t: 'reply-error', seq, error: toErrorRecord(err, 'E_INTERNAL') }))
      .then((reply) => {
        this.#pending--;
        if (this.#closed) return;
        this.#handlers.onActivity();
        this.#send(reply);
      })
      .catch((err: unknown) => this.#fail(toErrorRecord(err, 'E_INTERNAL')));
  }

  async #answer(msg: WorkerRequest): Promise<Reply> {
    switch (msg.t) {
      case 'query-blobs':
        return { t: 'query-blobs-reply', seq: msg.seq, missing: await this.#server.missing(msg.ids) };
      case 'put-blob':
        await this.#put(msg.kind, msg.id, msg.data, msg.codec ?? 0);
        return { t: 'put-blob-ack', seq: msg.seq };
      case 'put-blobs':
        // In order, each awaited: the store's own backpressure (packs in flight) applies per blob.
        for (const blob of decodePutBlobs(msg.index, msg.buffers)) await this.#put(blob.kind, blob.id, blob.body, blob.codec);
        return { t: 'put-blob-ack', seq: msg.seq };
      case 'load-tree':
        return { t: 'load-tree-reply', seq: msg.seq, data: await this.#server.loadTree(msg.id) };
      case 'load-blob':
        if (this.#server.takeBlob === undefined) return { t: 'load-blob-reply', seq: msg.seq, data: await this.#server.loadBlob(msg.id) };
        return this.#loadBlob(msg.seq, msg.id, msg.borrow === true);
      case 'layer-batch':
        await this.#handlers.onBatch?.(msg.items);
        return { t: 'layer-batch-ack', seq: msg.seq };
    }
  }

  /**
   * A data blob for the worker: lent from the restore ring when the worker
   * borrows (it gives the region back with release-blob), else in a buffer of
   * its own that moves to the worker (transferred, see #send). A region lent
   * for a blob that then failed to load goes straight back.
   */
  async #loadBlob(seq: number, id: string, borrow: boolean): Promise<Reply> {
    let lent = false;
    const into = (length: number): Uint8Array | undefined => {
      const region = this.#loans.lend(seq, length);
      lent = region !== undefined;
      return region;
    };
    try {
      const data = await this.#server.takeBlob!(id, borrow ? into : undefined);
      if (lent && this.#loans.lent(data)) return { t: 'load-blob-reply', seq, data };
      if (lent) this.#loans.giveBack(seq); // lent, then answered from elsewhere: the region is free again
      lent = false;
      return { t: 'load-blob-reply', seq, data, transfer: true };
    } catch (err) {
      if (lent) this.#loans.giveBack(seq);
      throw err;
    }
  }

  /**
   * Stores a blob from the host's own memory: bytes in shared memory (the
   * worker's ring) are copied into a scratch buffer first, so what the server
   * hashes is what it stores whatever the worker does meanwhile. Scratch
   * buffers are reused (one per put in progress, a few kept), so no blob
   * costs an allocation, and `data` stays valid until put resolves, as
   * BlobServer promises.
   */
  async #put(kind: BlobKind, id: string, data: Uint8Array, codec: BlobCodec): Promise<void> {
    if (!isSharedArrayBuffer(data.buffer)) return this.#server.put(kind, id, data, codec);
    let scratch = this.#scratches.pop();
    if (scratch === undefined || scratch.length < data.length) scratch = Buffer.allocUnsafeSlow(Math.max(data.length, SCRATCH_MIN_BYTES));
    try {
      const copy = scratch.subarray(0, data.length);
      copy.set(data);
      await this.#server.put(kind, id, copy, codec);
    } finally {
      if (this.#scratches.length < SCRATCHES_KEPT) this.#scratches.push(scratch);
    }
  }

  /**
   * Replies are copied, except a blob the server handed over with takeBlob
   * (`transfer`): its ArrayBuffer is moved to the worker, which saves a copy
   * per blob of a restore and leaves the host no buffer to collect. Bytes the
   * server may keep (loadBlob, loadTree) are never transferred: that would
   * detach them here. Node's buffer pool cannot be detached (a transfer of it
   * copies), so a pooled slice is safe too.
   */
  #send(message: Reply): void {
    if (this.#closed) return;
    if (message.t === 'load-blob-reply' && 'transfer' in message) {
      const { data } = message;
      this.#port.postMessage({ t: message.t, seq: message.seq, data }, isSharedArrayBuffer(data.buffer) ? [] : [data.buffer]);
    } else {
      this.#port.postMessage(message);
    }
  }

  #fail(error: ErrorRecord): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#handlers.onFailure({ ...error, plugin: error.plugin ?? this.#pluginId });
  }
}
