import * as http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiLogger } from './runtime-facade';
import type { JsonValue } from '@ebm/sdk';

/** Test helpers: a plain HTTP client and an SSE reader over real loopback sockets. */

export const TOKEN = 'test-token-0123456789abcdef';

export interface TestResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
  json<T = Record<string, unknown>>(): T;
}

export interface RequestOptions {
  readonly method?: string;
  /** Bearer token; `null` sends none. Default TOKEN. */
  readonly token?: string | null;
  readonly body?: unknown;
  /** Sent as is (takes precedence over body). */
  readonly rawBody?: string | Buffer;
  readonly headers?: Readonly<Record<string, string>>;
}

export function request(port: number, path: string, options: RequestOptions = {}): Promise<TestResponse> {
  const payload = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? TOKEN : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (payload !== undefined) {
    headers['content-type'] ??= 'application/json';
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: <T>() => JSON.parse(text) as T });
      });
      res.on('error', reject);
    });
    // The server may answer (413) before reading the whole body; a write error after that is not the test's concern.
    req.on('error', reject);
    req.end(payload);
  });
}

export interface SseFrame {
  readonly id?: string;
  readonly event?: string;
  readonly data?: string;
  readonly comment?: string;
}

/** An open GET /api/v1/events stream, parsed frame by frame. */
export class SseReader {
  readonly frames: SseFrame[] = [];
  ended = false;
  #buffer = '';
  #waiters: (() => void)[] = [];

  private constructor(readonly req: http.ClientRequest, readonly res: http.IncomingMessage) {
    res.setEncoding('utf8');
    res.on('data', (text: string) => {
      this.#buffer += text;
      let cut: number;
      while ((cut = this.#buffer.indexOf('\n\n')) >= 0) {
        this.#parseBlock(this.#buffer.slice(0, cut));
        this.#buffer = this.#buffer.slice(cut + 2);
      }
      this.#wake();
    });
    res.on('end', () => {
      this.ended = true;
      this.#wake();
    });
    res.on('error', () => undefined);
  }

  static open(port: number, path = '/api/v1/events'): Promise<SseReader> {
    return new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path, headers: { authorization: `Bearer ${TOKEN}` }, agent: false }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`event stream answered ${res.statusCode}`));
        else resolve(new SseReader(req, res));
      });
      req.on('error', reject);
    });
  }

  get events(): (SseFrame & { event: string })[] {
    return this.frames.filter((f): f is SseFrame & { event: string } => f.event !== undefined);
  }

  /** Resolves once `predicate` holds (checked on every chunk); the jest timeout bounds the wait. */
  async until(predicate: (reader: SseReader) => boolean): Promise<void> {
    while (!predicate(this)) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  close(): void {
    this.req.destroy();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  #parseBlock(block: string): void {
    const frame: { id?: string; event?: string; data?: string; comment?: string } = {};
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) frame.comment = line.slice(1).trim();
      else if (line.startsWith('id: ')) frame.id = line.slice(4);
      else if (line.startsWith('event: ')) frame.event = line.slice(7);
      else if (line.startsWith('data: ')) frame.data = frame.data === undefined ? line.slice(6) : `${frame.data}\n${line.slice(6)}`;
    }
    this.frames.push(frame);
  }
}

/**
 * Polls `condition` until it holds (for effects only the server side can
 * observe, like a removed listener); throws after `timeoutMs`, so a condition
 * that never holds fails its test instead of polling on after it timed out.
 */
export async function eventually(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition still false after ${timeoutMs} ms: ${condition.toString()}`);
    await sleep(5);
  }
}

export interface LogLine {
  readonly level: 'info' | 'warn' | 'error';
  readonly msg: string;
  readonly fields: Readonly<Record<string, JsonValue>>;
}

export function memoryLogger(): ApiLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    info: (msg, fields = {}) => void lines.push({ level: 'info', msg, fields }),
    warn: (msg, fields = {}) => void lines.push({ level: 'warn', msg, fields }),
    error: (msg, fields = {}) => void lines.push({ level: 'error', msg, fields }),
  };
}
