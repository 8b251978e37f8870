import { EbmError } from '@ebm/sdk';
import type { FileInfo, FileType } from '../backend/backend';
import { MemoryBackend } from '../backend/memory-backend';
import { ChecksumMemoryBackend, FaultyBackend, names } from './fault-backend.test-support';
import { MoverCounters } from './mover-metrics';
import { RetryEvent, RetryingBackend } from './retrying-backend';

const h = { type: 'index', name: 'i1' } as const;

describe('RetryingBackend', () => {
  it('retries a save that fails with E_STORAGE_IO until it succeeds, reporting each retry', async () => {
    const store = new MemoryBackend();
    const inner = new FaultyBackend(store).failNext('save', 3);
    const events: RetryEvent[] = [];
    const counters = new MoverCounters();
    const b = new RetryingBackend(inner, { attempts: 5, backoffMs: 2, onRetry: (e) => events.push(e), counters });
    await b.save(h, Buffer.from('index bytes'));
    expect(store.peek(h)?.toString()).toBe('index bytes');
    expect(inner.calls.save).toBe(4);
    expect(counters.retries).toBe(3);
    expect(events.map((e) => [e.op, e.subject, e.attempt, e.attempts, e.error.code])).toEqual([
      ['save', 'index/i1', 1, 5, 'E_STORAGE_IO'],
      ['save', 'index/i1', 2, 5, 'E_STORAGE_IO'],
      ['save', 'index/i1', 3, 5, 'E_STORAGE_IO'],
    ]);
  });

  it.each([
    ['E_DISK_FULL', 'save'],
    ['E_STORAGE_NOT_FOUND', 'load'],
    ['E_CORRUPT_OBJECT', 'load'],
    ['E_INTERNAL', 'remove'],
  ] as const)('never retries %s (on %s) and passes the error through unchanged', async (code, op) => {
    const store = new MemoryBackend();
    await store.save(h, Buffer.from('x'));
    const inner = new FaultyBackend(store).failNext(op, 1, code);
    const b = new RetryingBackend(inner, { attempts: 5, backoffMs: 1 });
    const call = op === 'save' ? b.save(h, Buffer.from('y')) : op === 'load' ? b.load(h) : b.remove(h);
    await expect(call).rejects.toMatchObject({ code, message: `injected ${code} on ${op}` });
    expect(inner.calls[op]).toBe(1);
  });

  it('never retries an error that is not an EbmError (a bug, not a transient failure)', async () => {
    const inner = new FaultyBackend();
    let calls = 0;
    inner.stat = async () => {
      calls++;
      throw new TypeError('boom');
    };
    await expect(new RetryingBackend(inner, { backoffMs: 1 }).stat(h)).rejects.toThrow(TypeError);
    expect(calls).toBe(1);
  });

  it('gives up after the last attempt with the attempt count, the same code and the original as cause', async () => {
    const inner = new FaultyBackend().failNext('save', 100);
    const b = new RetryingBackend(inner, { attempts: 3, backoffMs: 1 });
    const err = (await b.save(h, Buffer.from('x')).catch((e: unknown) => e)) as EbmError;
    expect(err).toBeInstanceOf(EbmError);
    expect(err.code).toBe('E_STORAGE_IO');
    expect(err.retryable).toBe(true);
    expect(err.message).toBe('injected E_STORAGE_IO on save (gave up after 3 attempts)');
    expect(err.subject).toBe('index/i1');
    expect((err.cause as EbmError).message).toBe('injected E_STORAGE_IO on save');
    expect(inner.calls.save).toBe(3);
  });

  it('with attempts 1 never retries and rethrows the error as it was', async () => {
    const inner = new FaultyBackend().failNext('load', 1);
    await expect(new RetryingBackend(inner, { attempts: 1 }).load(h)).rejects.toMatchObject({ message: 'injected E_STORAGE_IO on load' });
    expect(inner.calls.load).toBe(1);
  });

  it('backs off exponentially with jitter, capped at maxBackoffMs', async () => {
    const delays: number[] = [];
    const inner = new FaultyBackend().failNext('stat', 5);
    await inner.save(h, Buffer.from('x'));
    const b = new RetryingBackend(inner, { attempts: 6, backoffMs: 4, maxBackoffMs: 10, onRetry: (e) => delays.push(e.delayMs) });
    await b.stat(h);
    const caps = [4, 8, 10, 10, 10];
    expect(delays).toHaveLength(5);
    delays.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(caps[i]! / 2);
      expect(d).toBeLessThanOrEqual(caps[i]!);
    });
    // Jitter: many draws of the same step are not all equal.
    expect(new Set(Array.from({ length: 50 }, () => new RetryingBackend(inner, { backoffMs: 1000 }).delayBefore(2))).size).toBeGreaterThan(1);
  });

  it('retries a listing that breaks midway without yielding a name twice', async () => {
    const store = new MemoryBackend();
    for (const n of ['a1', 'b2', 'c3', 'd4']) await store.save({ type: 'snapshots', name: n }, Buffer.from(n));
    let failedOnce = false;
    const flaky = new FaultyBackend(store);
    flaky.list = async function* (type: FileType): AsyncIterable<FileInfo> {
      let i = 0;
      for await (const f of store.list(type)) {
        if (i++ === 2 && !failedOnce) {
          failedOnce = true;
          throw new EbmError('E_STORAGE_IO', 'connection reset while listing');
        }
        yield f;
      }
    };
    const counters = new MoverCounters();
    const listed: string[] = [];
    for await (const f of new RetryingBackend(flaky, { backoffMs: 1, counters }).list('snapshots')) listed.push(f.name);
    expect(listed.sort()).toEqual(['a1', 'b2', 'c3', 'd4']);
    expect(counters.retries).toBe(1);
  });

  it("forwards and retries the backend's checksum capability", async () => {
    const store = new ChecksumMemoryBackend();
    await store.save(h, Buffer.from('abc'));
    const plain = new RetryingBackend(new MemoryBackend());
    expect(plain.checksum).toBeUndefined();
    const b = new RetryingBackend(new FaultyBackend(store).failNext('checksum', 2), { backoffMs: 1 });
    expect(await b.checksum!(h)).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(store.checksumCalls).toBe(1);
    expect(await names(b, 'index')).toEqual(['i1']);
  });

  it('validates its options with RangeErrors', () => {
    const m = new MemoryBackend();
    expect(() => new RetryingBackend(m, { attempts: 0 })).toThrow(RangeError);
    expect(() => new RetryingBackend(m, { backoffMs: -1 })).toThrow(RangeError);
    expect(() => new RetryingBackend(m, { backoffMs: 100, maxBackoffMs: 10 })).toThrow(RangeError);
  });
});
