import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventFilter } from './request-validation';
import type { ApiLogger, RuntimeEvent, RuntimeEventSource } from './runtime-facade';

export const DEFAULT_HEARTBEAT_MS = 15_000;
export const DEFAULT_SSE_BUFFER_LIMIT_BYTES = 1024 * 1024;
/** Unsent bytes past this many limits disconnect at once, without waiting for the socket to drain. */
const HARD_LIMIT_FACTOR = 4;
/** How long a client may stay past the limit before it is disconnected. */
const STALL_GRACE_MS = 1000;

export interface EventStreamOptions {
  /** A `: heartbeat` comment is sent this often on each stream (keeps proxies and idle timeouts from closing it). */
  readonly heartbeatMs: number;
  /**
   * Bytes a client may leave unread in the server's send buffer (above what
   * the kernel holds). A client still past it a second later (or past 4× it
   * at any moment) is disconnected rather than
   * buffered without bound; it reconnects and re-reads the state it missed.
   */
  readonly bufferLimitBytes: number;
  readonly logger: ApiLogger;
}

interface Client {
  readonly res: ServerResponse;
  readonly filter: EventFilter;
  readonly heartbeat: NodeJS.Timeout;
  /** Pending check that a client past the buffer limit got back under it. */
  stallCheck?: NodeJS.Timeout;
}

/**
 * Fans the runtime's events out to Server-Sent-Events clients.
 *
 * One listener on the runtime's emitter while at least one client is
 * connected, none otherwise. Every event gets the next id of this host
 * process (1, 2, …) whether or not a client's filter lets it through, so a
 * filtered client sees gaps but never a reordering. Resuming with
 * Last-Event-ID is not supported: a reconnecting client re-reads the state
 * it needs (GET /api/v1/jobs) and follows the stream from there.
 */
export class EventStreamHub {
  readonly #source: RuntimeEventSource;
  readonly #options: EventStreamOptions;
  readonly #clients = new Set<Client>();
  #lastId = 0;
  readonly #listener = (event: RuntimeEvent): void => this.#broadcast(event);

  constructor(source: RuntimeEventSource, options: EventStreamOptions) {
    this.#source = source;
    this.#options = options;
  }

  get clientCount(): number {
    return this.#clients.size;
  }

  /** Turns the response into an event stream; it ends when the client leaves or `closeAll` is called. */
  open(req: IncomingMessage, res: ServerResponse, filter: EventFilter): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write(': ebm event stream\nretry: 5000\n\n');
    const heartbeat = setInterval(() => this.#write(client, ': heartbeat\n\n'), this.#options.heartbeatMs);
    const client: Client = { res, filter, heartbeat };
    if (this.#clients.size === 0) this.#source.on('event', this.#listener);
    this.#clients.add(client);
    const drop = (): void => this.#remove(client);
    req.once('close', drop);
    res.once('close', drop);
    res.on('error', drop);
  }

  /** Ends every stream cleanly (server shutdown); resolves when their last bytes are sent or the client is gone. */
  closeAll(): Promise<void> {
    const ended = [...this.#clients].map((client) => {
      this.#remove(client);
      return new Promise<void>((resolve) => {
        if (client.res.destroyed) return resolve();
        client.res.once('close', resolve);
        client.res.end(resolve);
      });
    });
    return Promise.all(ended).then(() => undefined);
  }

  /** Runs inside the runtime's emit: must not throw (a bad payload is logged and skipped). */
  #broadcast(event: RuntimeEvent): void {
    const id = ++this.#lastId;
    let frame: string | undefined;
    for (const client of [...this.#clients]) {
      if (!matches(client.filter, event)) continue;
      if (frame === undefined) {
        try {
          frame = `id: ${id}\nevent: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`;
        } catch (err) {
          this.#options.logger.error('event not serialisable as JSON: not streamed', { event: event.type, id, error: String(err) });
          return;
        }
      }
      this.#write(client, frame);
    }
  }

  /**
   * Node's http corks a response until the next tick, so everything written
   * in one tick is buffered whatever the client's speed, and a healthy client
   * on a slow link may lag for a moment. So a client past the limit gets
   * STALL_GRACE_MS to get back under it; only a backlog past
   * HARD_LIMIT_FACTOR × the limit disconnects at once.
   */
  #write(client: Client, text: string): void {
    if (!this.#clients.has(client)) return;
    client.res.write(text);
    const limit = this.#options.bufferLimitBytes;
    if (client.res.writableLength > limit * HARD_LIMIT_FACTOR) this.#disconnectSlow(client);
    else if (client.res.writableLength > limit && client.stallCheck === undefined) {
      client.stallCheck = setTimeout(() => {
        client.stallCheck = undefined;
        if (this.#clients.has(client) && client.res.writableLength > limit) this.#disconnectSlow(client);
      }, STALL_GRACE_MS);
    }
  }

  #disconnectSlow(client: Client): void {
    this.#options.logger.warn('event stream client too slow: disconnected', {
      bufferedBytes: client.res.writableLength,
      limitBytes: this.#options.bufferLimitBytes,
    });
    this.#remove(client);
    client.res.destroy();
  }

  #remove(client: Client): void {
    if (!this.#clients.delete(client)) return;
    clearInterval(client.heartbeat);
    clearTimeout(client.stallCheck);
    if (this.#clients.size === 0) this.#source.off('event', this.#listener);
  }
}

function matches(filter: EventFilter, event: RuntimeEvent): boolean {
  if (filter.types && !filter.types.has(event.type)) return false;
  if (filter.job === undefined) return true;
  const data = event.data as { jobId?: string; job?: { id: string } };
  return data.jobId === filter.job || data.job?.id === filter.job;
}
