import type { PackBlob } from '../repository/pack-format';
import { planPrune } from './prune-plan';

const id = (n: number): string => n.toString(16).padStart(64, '0');
const pack = (c: string): string => c.repeat(64);
function blobs(...ns: number[]): PackBlob[] {
  return ns.map((n, i) => ({ id: id(n), kind: 'data', offset: i * 100, length: 100, rawLength: 50 }));
}

describe('planPrune', () => {
  it('deletes unused packs, rewrites mostly-unused ones, keeps the rest, and keeps each used blob once', () => {
    const indexed = new Map<string, readonly PackBlob[]>([
      [pack('a'), blobs(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)], // 9 of 10 used: 10 % unused, kept
      [pack('b'), blobs(11, 12)], // unused: removed
      [pack('c'), blobs(1, 13, 14)], // 1 is a duplicate of a's copy; 13 used: rewritten keeping 13
      [pack('d'), blobs(15)], // missing from storage, unused: only its index entries go
    ]);
    const present = new Map([[pack('a'), 1500], [pack('b'), 400], [pack('c'), 500], [pack('e'), 77]]);
    const used = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 13].map(id));
    const { plan, unplaced } = planPrune(indexed, present, used);
    expect(unplaced).toEqual([]);
    expect(plan.keep.map((p) => p.id)).toEqual([pack('a')]);
    expect(plan.keep[0]!.blobs).toHaveLength(10);
    expect(plan.rewrite).toEqual([{ pack: pack('c'), keep: [blobs(1, 13, 14)[1]] }]);
    expect(plan.remove).toEqual([pack('b'), pack('d')]);
    expect(plan.unindexed).toEqual([pack('e')]);
    expect(plan.blobsRemoved).toBe(2 + 2 + 1);
    expect(plan.bytesReleased).toBe(400 + 500 + 77);
  });

  it('reports used blobs that only missing packs hold', () => {
    const { unplaced } = planPrune(new Map([[pack('a'), blobs(1)]]), new Map(), new Set([id(1)]));
    expect(unplaced).toEqual([id(1)]);
  });
});
