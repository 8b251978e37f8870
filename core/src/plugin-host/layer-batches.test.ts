import { MessageChannel } from 'node:worker_threads';
import { EbmError } from '@ebm/sdk';
import type { ErrorRecord, HostToWorker, LayerChange, LayerFile } from '@ebm/sdk';
import { HostSession } from './host-session';
import { batchReceiver } from './layer-batches';
import { TEST_LAYER_REPORT } from './layer-provider.test-helper';
import { noBlobs } from './no-blobs';

/**
 * The host's side of layer batches against a hand-driven worker port: a
 * worker that bypasses the SDK (and its validation) meets the host's own
 * checks, and the ack waits for the consumer.
 */
function session(onBatch?: (items: readonly (LayerFile | LayerChange)[]) => Promise<void> | void) {
  const { port1, port2 } = new MessageChannel();
  const failures: ErrorRecord[] = [];
  const replies: HostToWorker[] = [];
  let waiting: (() => void) | undefined;
  port2.on('message', (m: HostToWorker) => {
    replies.push(m);
    waiting?.();
  });
  const host = new HostSession(port1, noBlobs('layer-files'), 'rogue', {
    onActivity: () => undefined,
    onFailure: (e) => failures.push(e),
    ...(onBatch ? { onBatch } : {}),
  });
  const reply = (): Promise<HostToWorker> => (replies.length > 0 ? Promise.resolve(replies.shift()!) : new Promise((r) => (waiting = () => { waiting = undefined; r(replies.shift()!); })));
  const close = (): void => { host.close(); port2.close(); };
  return { send: (m: unknown) => port2.postMessage(m), reply, failures, host, close };
}

const tick = () => new Promise((r) => setTimeout(r, 30));

describe('layer batches on the host', () => {
  it('acknowledges a batch only once the consumer resolved, counting it as a request the host serves', async () => {
    let release: () => void = () => undefined;
    const got: unknown[] = [];
    const s = session((items) => {
      got.push(items);
      return new Promise<void>((r) => (release = r));
    });
    s.send({ t: 'layer-batch', seq: 1, items: [{ path: 'a', type: 'file', size: 1 }] });
    await tick();
    expect(got).toEqual([[{ path: 'a', type: 'file', size: 1 }]]);
    expect(s.host.pendingRequests).toBe(1); // the stall clock does not run meanwhile
    release();
    expect(await s.reply()).toEqual({ t: 'layer-batch-ack', seq: 1 });
    expect(s.host.pendingRequests).toBe(0);
    s.close();
  });

  it('refuses a layer-batch in a job that is not a layer query, and malformed items, with E_PROTOCOL', async () => {
    const plain = session();
    plain.send({ t: 'layer-batch', seq: 1, items: [] });
    await tick();
    expect(plain.failures).toMatchObject([{ code: 'E_PROTOCOL', message: 'plugin rogue sent a layer-batch, but this job is not a layer query', plugin: 'rogue' }]);
    plain.close();
    const malformed = session(() => undefined);
    malformed.send({ t: 'layer-batch', seq: 2, items: [{ path: 'a' }, 7] });
    await tick();
    expect(malformed.failures).toMatchObject([{ code: 'E_PROTOCOL', message: 'plugin rogue sent a malformed message: "layer-batch" items[1] must be an object with a string path, got number 7' }]);
    malformed.close();
  });

  it('validates batches against the job\'s report: the worker gets the error back and the consumer never sees the batch', async () => {
    const got: unknown[] = [];
    const receive = batchReceiver({ op: 'layer-changes', source: '/src', layer: 'base', options: {}, report: TEST_LAYER_REPORT }, 'rogue', (items) => {
      got.push(items);
    });
    const s = session(receive);
    s.send({ t: 'layer-batch', seq: 3, items: [{ path: 'x', change: 'metacopy', type: 'file', dataFrom: { layer: 'upper', path: 'x' } }] });
    const reply = await s.reply();
    expect(reply).toMatchObject({ t: 'reply-error', seq: 3, error: { code: 'E_PLUGIN_FAILED', subject: '[0].dataFrom.layer', plugin: 'rogue' } });
    s.send({ t: 'layer-batch', seq: 4, items: [{ path: '../etc/passwd', change: 'added', type: 'file' }] });
    expect(await s.reply()).toMatchObject({ t: 'reply-error', seq: 4, error: { code: 'E_PLUGIN_FAILED', subject: '[0].path' } });
    expect(got).toEqual([]);
    expect(() => receive([{ path: 'ok', change: 'added', type: 'dir' }])).not.toThrow(EbmError);
    expect(got).toHaveLength(1);
    s.close();
  });
});
