import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
import { PROTOCOL_VERSION } from '../protocol/messages';
import type { HostToWorker, JobSpec, TaskResult, WorkerToHost } from '../protocol/messages';
import type { HarnessWorkerInput, HarnessWorkerOutput } from '../testing/harness-worker';

/**
 * A layer provider for the runtime tests, written as a compiled-JS plugin
 * entry in a temporary directory (a worker loads it like any plugin). Its
 * behaviour is chosen by `options.mode`; layers are 'base' (0) and 'upper' (1).
 */
export function writeTestLayerProvider(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ebm-test-layer-provider-'));
  const entry = path.join(dir, 'index.js');
  const sdk = path.resolve(__dirname, '..', 'index.js');
  writeFileSync(entry, `'use strict';
const { EbmError } = require(${JSON.stringify(sdk)});
const never = () => new Promise(() => {});
const report = (source, mode) => ({ contractVersion: 1, source, layout: 'layer-map', layers: [
  { id: 'base', kind: 'base', name: 'base', order: 0, immutable: true, ...(mode === 'bad-report' ? {} : { digest: 'sha256:' + 'a'.repeat(64) }), bytes: 0, files: 0 },
  { id: 'upper', kind: 'upper', name: 'upper', order: 1, immutable: false, bytes: 0, files: 0 },
] });
async function* answer(ctx, what) {
  const mode = ctx.options.mode || 'ok';
  if (ctx.layer !== 'base' && ctx.layer !== 'upper') throw new EbmError('E_INVALID_SOURCE', 'no layer ' + ctx.layer + ' in ' + ctx.source);
  const item = (p, type) => (what === 'files' ? { path: p, type, size: type === 'file' ? 1 : 0 } : { path: p, change: 'added', type });
  try {
    for (let i = 0; i < (ctx.options.batches || 5); i++) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      if (i === 1 && mode === 'throw') throw new Error('the provider exploded reading b1');
      if (i === 1 && mode === 'typed') throw new EbmError('E_SOURCE_NOT_FOUND', ctx.source + ' vanished while listing');
      if (i === 1 && mode === 'hang') await never();
      if (i === 1 && mode === 'wait-for-cancel') await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      if (i === 1 && mode === 'invalid-path') { yield [item('b1', 'dir'), item('b1/../../etc', 'file')]; continue; }
      if (i === 1 && mode === 'not-clone') { yield [{ ...item('b1', 'dir'), extra: () => 1 }]; continue; }
      if (i === 1 && mode === 'metacopy-above') { yield [{ path: 'b1', change: 'metacopy', type: 'file', dataFrom: { layer: 'upper', path: 'b1' } }]; continue; }
      yield [item('b' + i, 'dir'), item('b' + i + '/f1', 'file'), item('b' + i + '/f2', 'file')];
    }
  } finally {
    ctx.log.info('generator closed');
  }
}
module.exports = {
  async discover(ctx) { ctx.progress.update({ files: 0 }); return report(ctx.source, ctx.options.mode); },
  files: (ctx) => answer(ctx, 'files'),
  changes: (ctx) => answer(ctx, 'changes'),
};
`);
  return entry;
}

export interface LayerJobControls {
  /** Hold each ack this long (a slow consumer). */
  readonly ackDelayMs?: number;
  /** Send the protocol's cancel when this many batches arrived (before their ack). */
  readonly cancelAfterBatches?: number;
  /** Queue the protocol's cancel on the port before the task starts. */
  readonly cancelAtStart?: boolean;
}

export interface LayerJobOutcome {
  readonly result: TaskResult;
  readonly batches: readonly (readonly unknown[])[];
  readonly logs: readonly string[];
  /** The most batches that were received and not yet acknowledged at once. */
  readonly maxUnacked: number;
}

/**
 * Plays the host's side of one task by hand (the protocol as messages.ts
 * says) with the plugin in a real worker thread: the SDK harness worker
 * loads the entry and runs runTask over a transferred port.
 */
export function runLayerJobInWorker(entryPath: string, job: JobSpec, controls: LayerJobControls = {}): Promise<LayerJobOutcome> {
  return new Promise((resolve, reject) => {
    const { port1: host, port2 } = new MessageChannel();
    const batches: unknown[][] = [];
    const logs: string[] = [];
    let unacked = 0;
    let maxUnacked = 0;
    const send = (m: HostToWorker): void => host.postMessage(m);
    host.on('message', (m: WorkerToHost) => {
      if (m.t === 'log') logs.push(m.message);
      if (m.t !== 'layer-batch') return;
      batches.push([...m.items]);
      unacked += 1;
      maxUnacked = Math.max(maxUnacked, unacked);
      if (batches.length === controls.cancelAfterBatches) send({ t: 'cancel', reason: 'the test cancelled mid-stream' });
      setTimeout(() => {
        unacked -= 1;
        send({ t: 'layer-batch-ack', seq: m.seq });
      }, controls.ackDelayMs ?? 0);
    });
    if (controls.cancelAtStart === true) send({ t: 'cancel', reason: 'cancelled before the start' });
    const worker = new Worker(path.resolve(__dirname, '..', 'testing', 'harness-worker.js'));
    worker.once('error', reject);
    worker.once('message', (out: HarnessWorkerOutput) => {
      void worker.terminate();
      // Messages the worker sent before its result may still be queued on our port: let them arrive.
      setTimeout(() => {
        host.close();
        resolve({ result: out.result, batches, logs, maxUnacked });
      }, 20);
    });
    const input: HarnessWorkerInput = {
      request: { protocol: PROTOCOL_VERSION, jobId: randomUUID(), plugin: { id: 'test-layers', version: '1.0.0', entryPath }, job, port: port2 },
      entryPath,
      pluginId: 'test-layers',
      kind: 'layer-provider',
    };
    worker.postMessage(input, [port2]);
  });
}
