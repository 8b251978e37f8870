import { receiveMessageOnPort } from 'node:worker_threads';
import type { MessagePort, TransferListItem } from 'node:worker_threads';
import { EbmError } from '../errors/ebm-error';
import type {
  HostToWorker, LayerBatchAck, LayerReadyMessage, LoadBlobReply, LoadTreeReply, LogMessage, ProgressMessage, PutBlobAck, QueryBlobsReply, ReleaseBlobMessage, WarningMessage, WorkerRequest,
} from '../protocol/messages';

/** The reply each request expects (same seq). */
export interface ReplyFor {
  'query-blobs': QueryBlobsReply;
  'put-blob': PutBlobAck;
  'put-blobs': PutBlobAck;
  'load-tree': LoadTreeReply;
  'load-blob': LoadBlobReply;
  'layer-batch': LayerBatchAck;
}

const EXPECTED_REPLY: { readonly [K in keyof ReplyFor]: ReplyFor[K]['t'] } = {
  'query-blobs': 'query-blobs-reply',
  'put-blob': 'put-blob-ack',
  'put-blobs': 'put-blob-ack',
  'load-tree': 'load-tree-reply',
  'load-blob': 'load-blob-reply',
  'layer-batch': 'layer-batch-ack',
};

export type RequestBody<T extends keyof ReplyFor> = Omit<Extract<WorkerRequest, { t: T }>, 'seq'>;

interface Pending {
  readonly expect: string;
  readonly resolve: (reply: HostToWorker) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * The worker's end of the host conversation: numbered requests with exactly
 * one reply each, fire-and-forget notices (progress, log, warning), and the
 * host's `cancel`, which aborts `signal` and fails every pending and future
 * request with E_CANCELLED.
 */
export class PortChannel {
  readonly #port: MessagePort;
  readonly #controller = new AbortController();
  readonly #pending = new Map<number, Pending>();
  #nextSeq = 1;
  /** Set once the conversation cannot continue (cancelled, protocol broken, closed). */
  #failure: EbmError | undefined;
  readonly #onMessage = (message: unknown): void => this.#receive(message as HostToWorker);

  constructor(port: MessagePort) {
    this.#port = port;
    // A cancel the host sent before the task started waits in the port's queue:
    // take it now, synchronously, so the plugin starts with an aborted signal
    // instead of running until the next turn of the event loop delivers it.
    for (let queued = receiveMessageOnPort(port); queued !== undefined; queued = receiveMessageOnPort(port)) {
      this.#receive(queued.message as HostToWorker);
    }
    port.on('message', this.#onMessage);
  }

  /** Aborted when the host cancels the job; its `reason` is an EbmError E_CANCELLED. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /**
   * Sends a request and resolves with its reply. A `reply-error` rejects with
   * the host's error rebuilt as an EbmError. Buffers in `transfer` are moved,
   * not copied: the caller must not use them afterwards.
   */
  request<T extends keyof ReplyFor>(body: RequestBody<T> & { readonly t: T }, transfer?: readonly TransferListItem[]): Promise<ReplyFor[T]> {
    if (this.#failure) return Promise.reject(this.#failure);
    const seq = this.#nextSeq++;
    return new Promise<ReplyFor[T]>((resolve, reject) => {
      this.#pending.set(seq, { expect: EXPECTED_REPLY[body.t], resolve: resolve as (r: HostToWorker) => void, reject });
      try {
        this.#port.postMessage({ ...body, seq }, transfer);
      } catch (err) {
        this.#pending.delete(seq);
        reject(new EbmError('E_PROTOCOL', `could not send a ${body.t} request to the host: ${(err as Error).message}`, { cause: err }));
      }
    });
  }

  /** Sends a notice that has no reply. Dropped silently once the channel is closed or cancelled. */
  notify(message: ProgressMessage | LogMessage | WarningMessage | LayerReadyMessage | ReleaseBlobMessage): void {
    if (this.#failure) return;
    this.#port.postMessage(message);
  }

  /**
   * Ends the conversation: fails whatever is still pending and closes the port
   * (the host sees the port's 'close' after every message sent before it).
   */
  close(): void {
    this.#fail(new EbmError('E_PROTOCOL', 'the task ended while a request to the host was still pending'));
    this.#port.off('message', this.#onMessage);
    this.#port.close();
  }

  #receive(message: HostToWorker): void {
    if (typeof message !== 'object' || message === null || typeof message.t !== 'string') {
      this.#fail(new EbmError('E_PROTOCOL', `the host sent a malformed message (${JSON.stringify(message)?.slice(0, 100)})`));
      return;
    }
    if (message.t === 'cancel') {
      const reason = typeof message.reason === 'string' && message.reason !== '' ? message.reason : 'cancelled by the host';
      const err = new EbmError('E_CANCELLED', `the operation was cancelled: ${reason}`);
      this.#fail(err);
      if (!this.#controller.signal.aborted) this.#controller.abort(err);
      return;
    }
    const pending = this.#pending.get(message.seq);
    if (pending === undefined) return; // a late reply to a request that already failed
    this.#pending.delete(message.seq);
    if (message.t === 'reply-error') {
      pending.reject(EbmError.fromRecord(message.error));
    } else if (message.t !== pending.expect) {
      pending.reject(new EbmError('E_PROTOCOL', `the host answered request ${message.seq} with '${message.t}' instead of '${pending.expect}'`));
    } else {
      pending.resolve(message);
    }
  }

  #fail(err: EbmError): void {
    if (this.#failure === undefined) this.#failure = err;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(this.#failure);
  }
}
