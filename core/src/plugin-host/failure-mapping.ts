import { EbmError, isErrorCode, toErrorRecord } from '@ebm/sdk';
import type { ErrorRecord, TaskOp, TaskResult } from '@ebm/sdk';

/** Who was running what, for error messages. */
export interface FailureContext {
  readonly pluginId: string;
  readonly jobId: string;
  readonly op: TaskOp;
  /** The worker's V8 heap limit, named in out-of-memory errors. */
  readonly heapMiB: number;
}

const EXIT_MESSAGE = /^worker exited with code: (-?\d+)/;
/** piscina's message when a pool is destroyed under a running task. */
const TERMINATING = 'Terminating worker thread';

/**
 * Maps a rejection of a piscina task (the worker died, not the plugin
 * throwing, which comes back as a TaskResult) to a record with a clear code:
 * Velero's users see "received EOF" when a plugin dies; ours see which plugin,
 * what happened and what to do.
 */
export function poolFailureRecord(err: unknown, ctx: FailureContext): ErrorRecord {
  const during = `during ${ctx.op} job ${ctx.jobId}`;
  const e = err as { code?: unknown; message?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const cause = toErrorRecord(err, 'E_INTERNAL');
  if (e?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return withContext(new EbmError('E_PLUGIN_OUT_OF_MEMORY', `plugin ${ctx.pluginId} ran out of memory ${during} (worker heap limit ${ctx.heapMiB} MiB); its worker was terminated`).toRecord(), ctx);
  }
  const exit = EXIT_MESSAGE.exec(message);
  if (exit) {
    return withContext(new EbmError('E_PLUGIN_CRASHED', `plugin ${ctx.pluginId}'s worker exited with code ${exit[1]} ${during}`).toRecord(), ctx);
  }
  if (message === TERMINATING) {
    return withContext(new EbmError('E_CANCELLED', `the plugin host was closed ${during}; plugin ${ctx.pluginId}'s worker was terminated`).toRecord(), ctx);
  }
  return withContext({ ...new EbmError('E_PLUGIN_CRASHED', `plugin ${ctx.pluginId}'s worker died ${during}: ${message}`).toRecord(), cause }, ctx);
}

/**
 * Checks what the worker returned and stamps the plugin and operation on a
 * failure record. A result of the wrong shape is E_PROTOCOL.
 */
export function checkTaskResult(value: unknown, ctx: FailureContext): TaskResult {
  const r = value as { ok?: unknown; result?: { op?: unknown }; error?: { code?: unknown; message?: unknown } } | null;
  if (typeof r === 'object' && r !== null) {
    if (r.ok === true && typeof r.result === 'object' && r.result !== null && r.result.op === ctx.op) return r as TaskResult;
    if (r.ok === false && typeof r.error === 'object' && r.error !== null && isErrorCode(r.error.code) && typeof r.error.message === 'string') {
      return { ok: false, error: withContext(r.error as ErrorRecord, ctx) };
    }
  }
  return {
    ok: false,
    error: withContext(new EbmError('E_PROTOCOL', `plugin ${ctx.pluginId} returned a malformed result for ${ctx.op} job ${ctx.jobId} (expected {ok:true, result:{op:'${ctx.op}',…}} or {ok:false, error})`).toRecord(), ctx),
  };
}

/** Fills in `plugin` and `op` when the record does not name them already. */
export function withContext(record: ErrorRecord, ctx: Pick<FailureContext, 'pluginId' | 'op'>): ErrorRecord {
  return { ...record, plugin: record.plugin ?? ctx.pluginId, op: record.op ?? ctx.op };
}
