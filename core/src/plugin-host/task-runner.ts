import { MessageChannel, MessagePort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { EbmError, toErrorRecord } from '@ebm/sdk';
import type { ErrorRecord, TaskRequest, TaskResult } from '@ebm/sdk';
import type { BlobServer } from './blob-server';
import { checkTaskResult, FailureContext, poolFailureRecord, withContext } from './failure-mapping';
import { HostSession, SessionHandlers } from './host-session';

export interface SupervisedTask {
  readonly request: Omit<TaskRequest, 'port'>;
  readonly server: BlobServer;
  readonly ctx: FailureContext;
  readonly signal?: AbortSignal;
  /** 0 disables stall detection. */
  readonly stallTimeoutMs: number;
  readonly cancelGraceMs: number;
  readonly handlers: Pick<SessionHandlers, 'onProgress' | 'onLog' | 'onWarning' | 'onBatch' | 'onLayerReady'>;
  /**
   * Starts the task in a worker: `pool.run(request, { transferList, signal })`.
   * Aborting `hardAbort` must terminate the worker (piscina does).
   */
  readonly start: (request: TaskRequest, transferList: MessagePort[], hardAbort: AbortSignal) => Promise<unknown>;
}

/**
 * Runs one task in a worker and watches it. Never rejects: the outcome is a
 * TaskResult whose error (if any) carries the plugin and operation.
 *
 * Stopping a task (the job's signal aborted, the worker stalled, or it broke
 * the protocol) is cooperative first: the worker gets a cancel message and
 * `cancelGraceMs` to return; then the worker is terminated. A synchronous
 * loop only the hard kill can stop, which is why it exists. The stall clock
 * runs only while the worker owes the host a message: time the host spends
 * serving the worker's requests (a slow repository, a slow consumer of layer
 * batches) does not count; every message, layer batches included, resets it.
 */
export function runSupervisedTask(task: SupervisedTask): Promise<TaskResult> {
  const { ctx, signal, stallTimeoutMs, cancelGraceMs } = task;
  if (signal?.aborted) return Promise.resolve({ ok: false, error: cancelledRecord(ctx, signal, false, cancelGraceMs) });

  return new Promise<TaskResult>((resolve) => {
    const hardAbort = new AbortController();
    let stopReason: ((killed: boolean) => ErrorRecord) | undefined;
    let killed = false;
    let settled = false;
    let lastActivity = performance.now();
    let stallTimer: NodeJS.Timeout | undefined;
    let graceTimer: NodeJS.Timeout | undefined;

    const channel = new MessageChannel();
    const session = new HostSession(channel.port1, task.server, ctx.pluginId, {
      ...task.handlers,
      onActivity: () => {
        lastActivity = performance.now();
      },
      onFailure: (error) => stop(() => withContext(error, ctx)),
    });

    const stop = (reason: (killed: boolean) => ErrorRecord): void => {
      if (settled || stopReason !== undefined) return;
      stopReason = reason;
      session.cancel(reason(false).message);
      graceTimer = setTimeout(() => {
        killed = true;
        hardAbort.abort();
      }, cancelGraceMs);
    };
    const onAbort = (): void => stop((k) => cancelledRecord(ctx, signal, k, cancelGraceMs));
    signal?.addEventListener('abort', onAbort, { once: true });

    const checkStall = (): void => {
      if (settled || stopReason !== undefined) return;
      const now = performance.now();
      if (session.pendingRequests > 0) lastActivity = now; // the worker waits on us
      const idle = now - lastActivity;
      if (idle >= stallTimeoutMs) stop((k) => stalledRecord(ctx, stallTimeoutMs, k, cancelGraceMs));
      else stallTimer = setTimeout(checkStall, stallTimeoutMs - idle);
    };
    if (stallTimeoutMs > 0) stallTimer = setTimeout(checkStall, stallTimeoutMs);

    const settle = (outcome: TaskResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(stallTimer);
      clearTimeout(graceTimer);
      signal?.removeEventListener('abort', onAbort);
      session.close();
      if (stopReason === undefined) {
        resolve(outcome);
        return;
      }
      // We asked the task to stop: the job fails for our reason, whatever the task did meanwhile.
      const error = stopReason(killed);
      const own = outcome.ok ? undefined : outcome.error;
      resolve({ ok: false, error: own !== undefined && own.code !== error.code && error.cause === undefined ? { ...error, cause: own } : error });
    };

    const request: TaskRequest = { ...task.request, port: channel.port2 };
    let started: Promise<unknown>;
    try {
      started = task.start(request, [channel.port2], hardAbort.signal);
    } catch (err) {
      started = Promise.reject(err);
    }
    started.then(
      (value) => settle(checkTaskResult(value, ctx)),
      (err: unknown) => settle({ ok: false, error: poolFailureRecord(err, ctx) }),
    );
  });
}

function cancelledRecord(ctx: FailureContext, signal: AbortSignal | undefined, killed: boolean, graceMs: number): ErrorRecord {
  const reason = signal?.reason as { message?: unknown } | undefined;
  const why = typeof reason?.message === 'string' && reason.message !== '' && reason.message !== 'This operation was aborted' ? `: ${reason.message}` : '';
  const kill = killed ? `; plugin ${ctx.pluginId} did not stop within ${graceMs} ms, so its worker was terminated` : '';
  return record('E_CANCELLED', `${ctx.op} job ${ctx.jobId} was cancelled${why}${kill}`, ctx);
}

function stalledRecord(ctx: FailureContext, stallMs: number, killed: boolean, graceMs: number): ErrorRecord {
  const kill = killed ? `; it ignored the cancel request for ${graceMs} ms, so its worker was terminated` : '';
  return record('E_PLUGIN_TIMEOUT', `plugin ${ctx.pluginId} sent nothing for ${stallMs} ms during ${ctx.op} job ${ctx.jobId} (the stall timeout)${kill}`, ctx);
}

function record(code: 'E_CANCELLED' | 'E_PLUGIN_TIMEOUT', message: string, ctx: FailureContext): ErrorRecord {
  const { stack: _stack, ...rec } = toErrorRecord(new EbmError(code, message, { plugin: ctx.pluginId, op: ctx.op }));
  return rec;
}
