import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EBM_MAIN, PASSWORD } from './cli';

/** A real `ebm serve` (the host process) for end-to-end tests, and its HTTP API. */
export const TOKEN = 'test-token-0123456789';

export interface Host {
  readonly child: ChildProcess;
  readonly url: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  logs(): string;
}

/** Starts a real `ebm serve` on an ephemeral loopback port and waits until its API answers. */
/**
 * Writes `<dir>/ebm.config.yaml`: the given lines (repositories, datasets,
 * budgets, …) plus the state directory `<dir>/state` and an info-level
 * JSON-lines log `<dir>/host.jsonl`. Returns the file's path.
 */
export function writeHostConfig(dir: string, lines: readonly string[]): string {
  const file = path.join(dir, 'ebm.config.yaml');
  fs.writeFileSync(file, [...lines, `state: { dir: ${path.join(dir, 'state')} }`, `log: { level: info, file: ${path.join(dir, 'host.jsonl')} }`, ''].join('\n'));
  return file;
}

/** SIGTERM, then the host's exit. */
export async function stopHost(host: Host): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  host.child.kill('SIGTERM');
  return host.exited;
}

/** Starts `ebm serve --config config` on a free port; `env` adds to (or overrides) the host's environment. */
export function startHost(config: string, env: Record<string, string> = {}): Promise<Host> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [EBM_MAIN, 'serve', '--config', config, '--listen', '127.0.0.1:0', '--json'], {
      env: { ...process.env, EBM_PASSWORD: PASSWORD, EBM_API_TOKEN: TOKEN, ...env } as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes('"op":"serve"'));
      if (line) {
        const { port } = JSON.parse(line) as { port: number };
        resolve({ child, url: `http://127.0.0.1:${port}`, exited, logs: () => err });
      }
    });
    void exited.then((e) => reject(new Error(`ebm serve exited early (${e.code ?? e.signal}):\n${out}\n${err}`)));
    setTimeout(() => reject(new Error(`ebm serve did not start:\n${out}\n${err}`)), 30000).unref(); // no effect once resolved; must not hold jest open
  });
}

export async function api<T>(host: Host, method: string, route: string, body?: unknown, token: string | null = TOKEN): Promise<{ status: number; body: T }> {
  const res = await fetch(`${host.url}${route}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
}

export async function waitForJob(host: Host, id: string, states: string[], timeoutMs = 60000): Promise<{ state: string; error?: { code: string; message: string }; result?: Record<string, unknown> }> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await api<{ state: string }>(host, 'GET', `/api/v1/jobs/${id}`);
    if (states.includes(body.state)) return body;
    if (Date.now() > until) throw new Error(`job ${id} stayed ${body.state}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface SseEvent {
  readonly type: string;
  readonly data: unknown;
}

export interface EventStream {
  readonly seen: SseEvent[];
  /** Resolves with the first event (already seen or to come) that matches; rejects if the stream ends first. */
  waitFor(match: (e: SseEvent) => boolean): Promise<SseEvent>;
  /** Resolves when the server ends the stream. */
  readonly end: Promise<void>;
  close(): void;
}

/** GET /api/v1/events of a real host, parsed frame by frame. */
export async function subscribe(host: Host, query = ''): Promise<EventStream> {
  const abort = new AbortController();
  const res = await fetch(`${host.url}/api/v1/events${query}`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: abort.signal });
  expect([res.status, res.headers.get('content-type')]).toEqual([200, expect.stringContaining('text/event-stream')]);
  const seen: SseEvent[] = [];
  let waiters: Array<{ match: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void; reject: (err: Error) => void }> = [];
  let ended = false;
  const settle = (): void => {
    waiters = waiters.filter((w) => {
      const hit = seen.find(w.match);
      if (hit) w.resolve(hit);
      else if (ended) w.reject(new Error(`the event stream ended; seen: ${seen.map((e) => e.type).join(', ')}`));
      else return true;
      return false;
    });
  };
  const end = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let i = buffer.indexOf('\n\n'); i >= 0; i = buffer.indexOf('\n\n')) {
          const frame = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          const type = /^event: (.*)$/m.exec(frame)?.[1];
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (type !== undefined && data !== undefined) seen.push({ type, data: JSON.parse(data) as unknown });
        }
        settle();
      }
    } catch {
      // aborted by close()
    } finally {
      ended = true;
      settle();
    }
  })();
  return {
    seen,
    end,
    waitFor: (match) => new Promise((resolve, reject) => {
      waiters.push({ match, resolve, reject });
      settle();
    }),
    close: () => abort.abort(),
  };
}
