import { dropIdleRings, returnRing, SharedRing, takeRing } from './shared-ring';

describe('SharedRing', () => {
  it('hands out contiguous regions of one SharedArrayBuffer, in order', () => {
    const ring = new SharedRing(10);
    const a = ring.tryAcquire(4)!;
    const b = ring.tryAcquire(3)!;
    expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(b.buffer).toBe(a.buffer);
    expect([a.byteOffset, a.length, b.byteOffset, b.length]).toEqual([0, 4, 4, 3]);
    expect(ring.inFlight).toBe(7);
    expect(ring.holds(a)).toBe(true);
    expect(ring.holds(new Uint8Array(4))).toBe(false);
  });

  it('wraps around to the start once the oldest region is released, and never overlaps a live one', () => {
    const ring = new SharedRing(10);
    const a = ring.tryAcquire(4)!;
    ring.tryAcquire(4);
    expect(ring.tryAcquire(4)).toBeUndefined(); // 2 bytes left at the end, the start is taken
    ring.release(a);
    const c = ring.tryAcquire(4)!;
    expect(c.byteOffset).toBe(0);
    expect(ring.tryAcquire(1)).toBeUndefined(); // wrapped: head (4) has met the oldest region (4)
  });

  it('reclaims room only from the oldest region on, whatever order regions are released in', () => {
    const ring = new SharedRing(8);
    const a = ring.tryAcquire(4)!;
    const b = ring.tryAcquire(4)!;
    ring.release(b);
    expect(ring.inFlight).toBe(4);
    expect(ring.tryAcquire(4)).toBeUndefined(); // b's room lies behind a, which is still live
    ring.release(a);
    expect(ring.tryAcquire(8)!.byteOffset).toBe(0); // empty: starts over at 0 with all the room
  });

  it('serves waiters first in, first out, and a waiter goes before later tryAcquire calls', async () => {
    const ring = new SharedRing(8);
    const a = ring.tryAcquire(6)!;
    const order: string[] = [];
    const big = ring.acquire(8).then((r) => (order.push(`big@${r.byteOffset}`), r));
    const small = ring.acquire(1).then((r) => order.push(`small@${r.byteOffset}`));
    expect(ring.waiting).toBe(2);
    expect(ring.tryAcquire(1)).toBeUndefined(); // 2 bytes are free, but others queued first
    ring.release(a);
    const bigRegion = await big;
    expect(order).toEqual(['big@0']);
    expect(ring.waiting).toBe(1);
    ring.release(bigRegion);
    await small;
    expect(order).toEqual(['big@0', 'small@0']);
  });

  it('rejects waiting and later acquires once failed', async () => {
    const ring = new SharedRing(4);
    ring.tryAcquire(4);
    const waiting = ring.acquire(2);
    const err = new Error('cancelled');
    ring.fail(err);
    await expect(waiting).rejects.toBe(err);
    expect(() => ring.tryAcquire(1)).toThrow(err);
  });

  it('refuses requests larger than the ring, and arrays it did not hand out', () => {
    const ring = new SharedRing(4);
    expect(() => ring.tryAcquire(5)).toThrow(RangeError);
    const a = ring.tryAcquire(2)!;
    ring.release(a);
    expect(() => ring.release(a)).toThrow(/did not hand out, or twice/);
    expect(() => ring.release(new Uint8Array(2))).toThrow(/not one of its regions/);
    expect(ring.tryAcquire(0)!.length).toBe(0);
  });

  it('keeps every live region inside the ring and disjoint from the others under random use', () => {
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const ring = new SharedRing(1000);
    const live: Uint8Array[] = [];
    let handedOut = 0;
    for (let step = 0; step < 20_000; step++) {
      if (live.length > 0 && random(3) === 0) {
        ring.release(live.splice(random(live.length), 1)[0]!);
        continue;
      }
      const region = ring.tryAcquire(1 + random(300));
      if (region === undefined) continue;
      handedOut++;
      expect(region.byteOffset + region.length).toBeLessThanOrEqual(1000);
      for (const other of live) {
        const disjoint = region.byteOffset + region.length <= other.byteOffset || other.byteOffset + other.length <= region.byteOffset;
        expect(disjoint).toBe(true);
      }
      live.push(region);
    }
    expect(handedOut).toBeGreaterThan(5000);
    expect(ring.inFlight).toBe(live.reduce((n, r) => n + r.length, 0));
  });

  it('is kept for the next job of the thread once everything was released, and dropped otherwise', async () => {
    const ring = takeRing(4096);
    const region = ring.tryAcquire(100)!;
    returnRing(ring); // a region is still out: the host may be reading it
    expect(takeRing(4096)).not.toBe(ring);
    ring.release(region);
    returnRing(ring);
    expect(takeRing(4096)).toBe(ring);
    expect(takeRing(4096)).not.toBe(ring); // handed out once
    const failed = takeRing(4096);
    failed.fail(new Error('cancelled'));
    returnRing(failed);
    expect(takeRing(4096)).not.toBe(failed);
    returnRing(ring);
    expect(takeRing(8192)).not.toBe(ring); // another size
    dropIdleRings(); // the host, every plugin unloaded: nothing is kept any more
    expect(takeRing(4096)).not.toBe(ring);
  });
});
