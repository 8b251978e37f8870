import { MessageChannel, MessagePort } from 'node:worker_threads';
import { EbmError } from '../errors/ebm-error';
import type { HostToWorker, WorkerToHost } from '../protocol/messages';
import { PortChannel } from './port-channel';

describe('PortChannel', () => {
  let host: MessagePort;
  let channel: PortChannel;
  let received: WorkerToHost[];
  beforeEach(() => {
    const { port1, port2 } = new MessageChannel();
    host = port1;
    received = [];
    host.on('message', (m: WorkerToHost) => received.push(m));
    channel = new PortChannel(port2);
  });
  afterEach(() => {
    channel.close();
    host.close();
  });
  const nextRequest = async (): Promise<WorkerToHost & { seq: number }> => {
    while (received.length === 0) await new Promise((r) => setImmediate(r));
    return received.shift() as WorkerToHost & { seq: number };
  };
  const reply = (m: HostToWorker): void => host.postMessage(m);

  it('matches replies to requests by seq, in any order', async () => {
    const a = channel.request({ t: 'query-blobs', ids: ['a'] });
    const b = channel.request({ t: 'query-blobs', ids: ['b'] });
    const ra = await nextRequest();
    const rb = await nextRequest();
    reply({ t: 'query-blobs-reply', seq: rb.seq, missing: ['b'] });
    reply({ t: 'query-blobs-reply', seq: ra.seq, missing: [] });
    expect((await a).missing).toEqual([]);
    expect((await b).missing).toEqual(['b']);
  });

  it('rejects with the host error rebuilt as an EbmError, and with E_PROTOCOL for a reply of the wrong type', async () => {
    const failing = channel.request({ t: 'load-tree', id: 'x' });
    const first = await nextRequest();
    reply({ t: 'reply-error', seq: first.seq, error: new EbmError('E_BLOB_NOT_FOUND', 'tree x is missing', { subject: 'x' }).toRecord() });
    await expect(failing).rejects.toMatchObject({ name: 'EbmError', code: 'E_BLOB_NOT_FOUND', message: 'tree x is missing', subject: 'x' });
    const confused = channel.request({ t: 'load-tree', id: 'y' });
    const second = await nextRequest();
    reply({ t: 'put-blob-ack', seq: second.seq });
    await expect(confused).rejects.toMatchObject({ code: 'E_PROTOCOL', message: expect.stringContaining("'put-blob-ack' instead of 'load-tree-reply'") });
  });

  it('transfers put-blob buffers instead of copying them', async () => {
    const data = new Uint8Array(1000).fill(7);
    void channel.request({ t: 'put-blob', id: 'i', kind: 'data', data }, [data.buffer]).catch(() => undefined);
    expect(data.byteLength).toBe(0); // detached: moved to the other side
    const sent = (await nextRequest()) as { data: Uint8Array };
    expect(sent.data).toEqual(new Uint8Array(1000).fill(7));
  });

  it('on cancel aborts the signal and fails pending and later requests with E_CANCELLED', async () => {
    const pending = channel.request({ t: 'load-blob', id: 'z' });
    reply({ t: 'cancel', reason: 'operator pressed Ctrl-C' });
    await expect(pending).rejects.toMatchObject({ code: 'E_CANCELLED', message: expect.stringContaining('operator pressed Ctrl-C') });
    expect(channel.signal.aborted).toBe(true);
    expect(channel.signal.reason).toMatchObject({ code: 'E_CANCELLED' });
    await expect(channel.request({ t: 'load-blob', id: 'w' })).rejects.toMatchObject({ code: 'E_CANCELLED' });
  });
});
