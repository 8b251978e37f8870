import { randomBytes } from 'node:crypto';
import { MemoryBackend } from '../backend/memory-backend';
import { FaultyBackend, names } from './fault-backend.test-support';
import { LimitingBackend } from './limiting-backend';
import { MoverCounters } from './mover-metrics';

describe('LimitingBackend', () => {
  it('never runs more operations at once than its concurrency, and uses all of it', async () => {
    const inner = new FaultyBackend();
    inner.delayMs = 5;
    const counters = new MoverCounters();
    const b = new LimitingBackend(inner, { concurrency: 3, counters });
    const seen: number[] = [];
    const watch = setInterval(() => seen.push(counters.activeOperations), 1);
    try {
      await Promise.all(Array.from({ length: 20 }, (_, i) => b.save({ type: 'locks', name: `l${i}` }, Buffer.from(`lock ${i}`))));
      await Promise.all([
        ...Array.from({ length: 20 }, (_, i) => b.load({ type: 'locks', name: `l${i}` })),
        ...Array.from({ length: 10 }, (_, i) => b.stat({ type: 'locks', name: `l${i}` })),
        ...Array.from({ length: 10 }, (_, i) => b.remove({ type: 'locks', name: `l${i}` })),
      ]);
    } finally {
      clearInterval(watch);
    }
    expect(inner.maxActive).toBe(3);
    expect(Math.max(...seen)).toBeLessThanOrEqual(3);
    expect(counters.activeOperations).toBe(0);
    expect(counters.waitingOperations).toBe(0);
    expect(await names(b, 'locks')).toHaveLength(10);
  });

  it('releases its slot when an operation fails', async () => {
    const inner = new FaultyBackend().failNext('stat', 5, 'E_STORAGE_NOT_FOUND');
    const b = new LimitingBackend(inner, { concurrency: 1 });
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => b.stat({ type: 'locks', name: 'none' })));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    await b.save({ type: 'locks', name: 'x' }, Buffer.from('x'));
  });

  it('lets a caller remove files while listing, even with concurrency 1', async () => {
    const store = new MemoryBackend();
    for (let i = 0; i < 5; i++) await store.save({ type: 'index', name: `i${i}` }, Buffer.from('x'));
    const b = new LimitingBackend(store, { concurrency: 1 });
    for await (const f of b.list('index')) await b.remove({ type: 'index', name: f.name });
    expect(await names(store, 'index')).toEqual([]);
  });

  it('limits bandwidth: 4 MiB saved at 8 MiB/s takes at least about half a second', async () => {
    const store = new MemoryBackend();
    const b = new LimitingBackend(store, { concurrency: 4, bytesPerSecond: 8 * 1024 * 1024 });
    const started = performance.now();
    await Promise.all(Array.from({ length: 4 }, (_, i) => b.save({ type: 'data', name: `p${i}` }, randomBytes(1024 * 1024))));
    const elapsed = performance.now() - started;
    // A lower bound only (4 MiB / 8 MiB/s = 0.5 s, minus a small burst): the limiter must make it wait.
    expect(elapsed).toBeGreaterThanOrEqual(400);
    expect(await names(store, 'data')).toHaveLength(4);
  });

  it('counts loaded bytes against the bandwidth too', async () => {
    const store = new MemoryBackend();
    await store.save({ type: 'data', name: 'big' }, randomBytes(2 * 1024 * 1024));
    const b = new LimitingBackend(store, { bytesPerSecond: 8 * 1024 * 1024 });
    const started = performance.now();
    await b.load({ type: 'data', name: 'big' });
    await b.load({ type: 'data', name: 'big' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(400);
  });

  it('validates its options with RangeErrors', () => {
    expect(() => new LimitingBackend(new MemoryBackend(), { concurrency: 0 })).toThrow(RangeError);
    expect(() => new LimitingBackend(new MemoryBackend(), { bytesPerSecond: 0 })).toThrow(RangeError);
  });
});
