import * as net from 'node:net';
import type { JobRecord } from '../jobs/job-types';
import { createApiServer } from './api-server';
import type { ApiServer } from './api-server';
import { FakeRuntime } from './fake-runtime.test-support';
import { eventually, memoryLogger, request, SseReader, TOKEN } from './http-client.test-support';

/**
 * GET /api/v1/events over real HTTP on 127.0.0.1, fed by an in-memory
 * runtime (the real runtime's events are wired and tested end to end by the
 * host process).
 */
describe('event stream (SSE)', () => {
  let runtime: FakeRuntime;
  let logger: ReturnType<typeof memoryLogger>;
  let server: ApiServer;
  let port: number;
  const listeners = (): number => runtime.emitter.listenerCount('event');

  async function start(options: { heartbeatMs?: number; sseBufferLimitBytes?: number } = {}): Promise<void> {
    server = createApiServer(runtime, { token: TOKEN, logger, ...options });
    ({ port } = await server.listen('127.0.0.1', 0));
  }

  beforeEach(() => {
    runtime = new FakeRuntime();
    logger = memoryLogger();
  });

  afterEach(() => server.close());

  it('delivers the runtime events in order, each with an event name, an id and JSON data', async () => {
    await start();
    const reader = await SseReader.open(port);
    expect(reader.res.headers['content-type']).toMatch(/^text\/event-stream/);
    await eventually(() => listeners() === 1);

    const triggered = await request(port, '/api/v1/datasets/home/backup', { method: 'POST' });
    const job = triggered.json<JobRecord>();
    runtime.setState(job.id, 'running');
    runtime.emit({ type: 'job:progress', data: { jobId: job.id, progress: { files: 10, bytes: 4096 } } });
    runtime.emit({ type: 'job:log', data: { jobId: job.id, line: { time: '2024-05-01T00:00:00.000Z', level: 'info', message: 'line\nwith a newline' } } });
    runtime.emit({ type: 'job:done', data: { job: { ...job, state: 'done' } } });
    await reader.until((r) => r.events.length === 5);

    expect(reader.events.map((e) => e.event)).toEqual(['job:queued', 'job:state', 'job:progress', 'job:log', 'job:done']);
    expect(reader.events.map((e) => e.id)).toEqual(['1', '2', '3', '4', '5']);
    const data = reader.events.map((e) => JSON.parse(e.data!) as Record<string, unknown>);
    expect(data[0]).toMatchObject({ job: { id: job.id, state: 'queued' } });
    expect(data[1]).toEqual({ jobId: job.id, state: 'running', previous: 'queued', attempt: 1 });
    expect(data[2]).toEqual({ jobId: job.id, progress: { files: 10, bytes: 4096 } });
    expect(data[3]).toMatchObject({ line: { message: 'line\nwith a newline' } });
    expect(data[4]).toMatchObject({ job: { state: 'done' } });
    reader.close();
  });

  it('skips (and logs) an event whose data is not JSON, and goes on streaming', async () => {
    await start();
    const reader = await SseReader.open(port);
    const bad = { jobId: 'job-1', progress: { bytes: 1n } } as unknown as { jobId: string; progress: { bytes: number } };
    runtime.emit({ type: 'job:progress', data: bad });
    runtime.emit({ type: 'plugin:loaded', data: { pluginId: 'filesystem', version: '0.1.0' } });
    await reader.until((r) => r.events.length === 1);
    expect(reader.events.map((e) => [e.id, e.event])).toEqual([['2', 'plugin:loaded']]);
    expect(logger.lines).toContainEqual(expect.objectContaining({ level: 'error', msg: 'event not serialisable as JSON: not streamed' }));
    reader.close();
  });

  it('sends heartbeat comments at the configured interval', async () => {
    await start({ heartbeatMs: 20 });
    const reader = await SseReader.open(port);
    await reader.until((r) => r.frames.filter((f) => f.comment === 'heartbeat').length >= 2);
    expect(reader.events).toEqual([]);
    reader.close();
  });

  it('filters by job and by event type; ids stay those of the whole stream', async () => {
    await start();
    const byJob = await SseReader.open(port, '/api/v1/events?job=job-2');
    const byType = await SseReader.open(port, '/api/v1/events?types=job:done,plugin:crashed');
    await request(port, '/api/v1/datasets/home/backup', { method: 'POST' });
    await request(port, '/api/v1/datasets/db/backup', { method: 'POST' });
    runtime.emit({ type: 'plugin:crashed', data: { pluginId: 'flaky', error: { code: 'E_PLUGIN_CRASHED', message: 'worker exited', retryable: true } } });
    runtime.setState('job-2', 'cancelled');
    await byJob.until((r) => r.events.length === 2);
    await byType.until((r) => r.events.length === 1);
    expect(byJob.events.map((e) => [e.id, e.event])).toEqual([['2', 'job:queued'], ['4', 'job:state']]);
    expect(byType.events.map((e) => [e.id, e.event])).toEqual([['3', 'plugin:crashed']]);
    byJob.close();
    byType.close();
  });

  it('rejects an unknown event type with 400', async () => {
    await start();
    const res = await request(port, '/api/v1/events?types=job:exploded');
    expect(res.status).toBe(400);
    expect(res.json<{ error: { message: string } }>().error.message).toMatch(/unknown event type "job:exploded"/);
    expect(listeners()).toBe(0);
  });

  it('removes its listener from the runtime when the last client disconnects', async () => {
    await start({ heartbeatMs: 10 });
    expect(listeners()).toBe(0);
    const a = await SseReader.open(port);
    const b = await SseReader.open(port);
    await eventually(() => listeners() === 1);
    a.close();
    runtime.emit({ type: 'plugin:loaded', data: { pluginId: 'filesystem', version: '0.1.0' } });
    await b.until((r) => r.events.length === 1);
    b.close();
    await eventually(() => listeners() === 0);
    // Streams that ended are logged like any request.
    await eventually(() => logger.lines.filter((l) => l.msg === 'http' && l.fields.route === '/api/v1/events').length === 2);
  });

  it('disconnects a client that does not read, instead of buffering without bound', async () => {
    await start({ sseBufferLimitBytes: 256 * 1024 });
    // A raw socket that sends the request and then never reads: the kernel buffers fill, then the server's.
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
    await eventually(() => listeners() === 1);
    socket.pause();

    const big = 'x'.repeat(64 * 1024);
    let emitted = 0;
    while (listeners() > 0) {
      runtime.emit({ type: 'job:log', data: { jobId: 'job-1', line: { time: '2024-05-01T00:00:00.000Z', level: 'info', message: big } } });
      emitted++;
      // Yield often: the limit is enforced after the socket had a turn to drain.
      if (emitted % 2 === 0) await new Promise((resolve) => setImmediate(resolve));
      if (emitted > 2000) throw new Error('the slow client was never disconnected');
    }
    expect(logger.lines).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'event stream client too slow: disconnected' }));
    socket.resume();
    await new Promise((resolve) => socket.once('close', resolve));
  });

  it('keeps a client that reads, even when one burst of events exceeds the buffer limit', async () => {
    await start({ sseBufferLimitBytes: 64 * 1024 });
    const reader = await SseReader.open(port);
    await eventually(() => listeners() === 1);
    const line = { time: '2024-05-01T00:00:00.000Z', level: 'info' as const, message: 'y'.repeat(16 * 1024) };
    for (let i = 0; i < 12; i++) runtime.emit({ type: 'job:log', data: { jobId: 'job-1', line } }); // ~192 KiB in one tick
    await reader.until((r) => r.events.length === 12 || r.ended);
    expect(reader.ended).toBe(false);
    expect(reader.events.map((e) => e.id)).toEqual(Array.from({ length: 12 }, (_, i) => String(i + 1)));
    expect(logger.lines.filter((l) => l.level === 'warn')).toEqual([]);
    reader.close();
  });

  it('closes cleanly with a client connected: the stream ends and the listener is removed', async () => {
    await start();
    const reader = await SseReader.open(port);
    await eventually(() => listeners() === 1);
    await server.close();
    await reader.until((r) => r.ended);
    expect(listeners()).toBe(0);
    // A second close is harmless.
    await server.close();
  });
});
