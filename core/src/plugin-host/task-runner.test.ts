import { randomBytes } from 'node:crypto';
import type { MessagePort } from 'node:worker_threads';
import { computeBlobId } from '@ebm/sdk';
import type { BackupJobSpec, HostToWorker, TaskRequest, TaskResult } from '@ebm/sdk';
import type { BlobServer } from './blob-server';
import { MemoryBlobServer } from './memory-blob-server';
import { runSupervisedTask, SupervisedTask } from './task-runner';

/**
 * The supervisor with an in-thread fake worker: `start` plays the worker on
 * the real MessagePort it is given. (Real workers: plugin-host*.test.ts.)
 */
const idKey = randomBytes(32);
const job: BackupJobSpec = {
  op: 'backup',
  source: '/src',
  options: {},
  addressing: { idKey, chunker: { algorithm: 'fastcdc-gear32-v1', minSize: 1024, avgSize: 4096, maxSize: 16384, normalization: 2, gearKey: randomBytes(32) } },
  windowBytes: 1 << 20,
};
const okResult: TaskResult = {
  ok: true,
  result: { op: 'backup', tree: 'a'.repeat(64), stats: { files: 0, dirs: 0, others: 0, filesRead: 0, filesReused: 0, bytesTotal: 0, bytesRead: 0, blobsOffered: 0, blobsShipped: 0, bytesShipped: 0 }, warnings: [], warningsDropped: 0 },
};

function supervise(start: (port: MessagePort, hardAbort: AbortSignal) => Promise<unknown>, overrides: Partial<SupervisedTask> = {}): Promise<TaskResult> {
  return runSupervisedTask({
    request: { protocol: 1, jobId: 'job-1', plugin: { id: 'fake', version: '1.0.0', entryPath: '/nowhere.js' }, job },
    server: new MemoryBlobServer(idKey),
    ctx: { pluginId: 'fake', jobId: 'job-1', op: 'backup', heapMiB: 64 },
    stallTimeoutMs: 2000,
    cancelGraceMs: 150,
    handlers: {},
    start: (request: TaskRequest, _transfer, hardAbort) => start(request.port, hardAbort),
    ...overrides,
  });
}

/** Resolves with `value` when the port receives a cancel; rejects like piscina when hard-aborted. */
function untilCancelled(port: MessagePort, hardAbort: AbortSignal, value: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    port.on('message', (m: HostToWorker) => {
      if (m.t === 'cancel') resolve(value);
    });
    hardAbort.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })));
  });
}

const cancelledByPlugin = { ok: false, error: { code: 'E_CANCELLED', message: 'stopped', retryable: false } };

describe('runSupervisedTask', () => {
  it('returns the task result and stamps plugin and op on a failure', async () => {
    expect(await supervise(async () => okResult)).toEqual(okResult);
    const failed = await supervise(async () => ({ ok: false, error: { code: 'E_SOURCE_NOT_FOUND', message: 'no /src', retryable: false } }));
    expect(failed).toEqual({ ok: false, error: { code: 'E_SOURCE_NOT_FOUND', message: 'no /src', retryable: false, plugin: 'fake', op: 'backup' } });
  });

  it('fails with E_PROTOCOL when the worker returns a result of the wrong shape or operation', async () => {
    const wrongOp = await supervise(async () => ({ ok: true, result: { op: 'restore' } }));
    expect(wrongOp.ok === false && wrongOp.error.code).toBe('E_PROTOCOL');
    const junk = await supervise(async () => 'done!');
    expect(junk.ok === false && junk.error.message).toContain('plugin fake returned a malformed result for backup job job-1');
  });

  it('cancels the worker and fails with E_PROTOCOL when it sends a malformed message', async () => {
    const outcome = await supervise(async (port, hardAbort) => {
      port.postMessage({ t: 'gimme-the-keys' });
      return untilCancelled(port, hardAbort, cancelledByPlugin);
    });
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error.code).toBe('E_PROTOCOL');
    expect(outcome.error.message).toContain('unknown message type "gimme-the-keys"');
    expect(outcome.error.plugin).toBe('fake');
  });

  it('does not count time the host spends serving a request as a stall', async () => {
    const inner = new MemoryBlobServer(idKey);
    const slow: BlobServer = {
      missing: (ids) => inner.missing(ids),
      put: async (kind, id, data) => {
        await new Promise((r) => setTimeout(r, 400)); // a slow repository, 4× the stall timeout
        await inner.put(kind, id, data);
      },
      loadTree: (id) => inner.loadTree(id),
      loadBlob: (id) => inner.loadBlob(id),
    };
    const data = randomBytes(100);
    const outcome = await supervise(
      (port) =>
        new Promise((resolve) => {
          port.on('message', (m: HostToWorker) => {
            if (m.t === 'put-blob-ack') resolve(okResult);
          });
          port.postMessage({ t: 'put-blob', seq: 1, id: computeBlobId(idKey, data), kind: 'data', data });
        }),
      { server: slow, stallTimeoutMs: 100 },
    );
    expect(outcome).toEqual(okResult);
  });

  it('fails with E_PLUGIN_TIMEOUT, after a cooperative stop, when the worker goes silent', async () => {
    const started = Date.now();
    const outcome = await supervise((port, hardAbort) => untilCancelled(port, hardAbort, cancelledByPlugin), { stallTimeoutMs: 200 });
    expect(Date.now() - started).toBeLessThan(1500);
    expect(outcome.ok === false && outcome.error.code).toBe('E_PLUGIN_TIMEOUT');
    expect(outcome.ok === false && outcome.error.message).toBe('plugin fake sent nothing for 200 ms during backup job job-1 (the stall timeout)');
    // The plugin's own E_CANCELLED is kept as the cause.
    expect(outcome.ok === false && outcome.error.cause?.code).toBe('E_CANCELLED');
  });

  it('hard-aborts the task when it ignores the cancel for the grace period', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    let aborted = false;
    const outcome = await supervise(
      (_port, hardAbort) =>
        new Promise((_resolve, reject) => {
          hardAbort.addEventListener('abort', () => {
            aborted = true;
            reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
          });
        }),
      { signal: controller.signal },
    );
    expect(aborted).toBe(true);
    expect(outcome.ok === false && outcome.error.code).toBe('E_CANCELLED');
    expect(outcome.ok === false && outcome.error.message).toBe('backup job job-1 was cancelled; plugin fake did not stop within 150 ms, so its worker was terminated');
  });

  it('does not start a task whose signal is already aborted', async () => {
    let started = false;
    const outcome = await supervise(
      async () => {
        started = true;
        return okResult;
      },
      { signal: AbortSignal.abort(new Error('operator changed their mind')) },
    );
    expect(started).toBe(false);
    expect(outcome.ok === false && outcome.error.message).toBe('backup job job-1 was cancelled: operator changed their mind');
  });
});
