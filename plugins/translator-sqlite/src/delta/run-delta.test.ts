import { randomBytes } from 'node:crypto';
import { blockBodyLength, BLOCK_HEADER_BYTES, decodeBlockBody, encodeBlock } from './delta-block';
import { applyDelta, diffRun } from './run-delta';

/**
 * The delta codec on its own, with the page shapes SQLite produces: a few
 * bytes rewritten in place, cells moved within a page or to its neighbour,
 * and buffers that are not 4-byte aligned (the comparison then goes byte by
 * byte). Real databases are covered by page-delta.test.ts.
 */
describe('run deltas', () => {
  const pageSize = 1024;
  const pages = 8;
  const key = randomBytes(pageSize * pages);

  /** The run as pages, each copied to its own buffer at `shift` bytes into a larger one (shift 1: unaligned). */
  function asPages(run: Buffer, shift = 0): Buffer[] {
    return Array.from({ length: pages }, (_, i) => {
      const holder = Buffer.alloc(pageSize + shift);
      run.copy(holder, shift, i * pageSize, (i + 1) * pageSize);
      return holder.subarray(shift);
    });
  }

  function changedRun(): Buffer {
    const run = Buffer.from(key);
    run.write('new value', 100); // an in-place update
    run[pageSize * 3 + 7] ^= 0xff; // one byte
    key.copy(run, pageSize * 5 + 40, pageSize * 5 + 10, pageSize * 5 + 900); // cells moved within a page
    key.copy(run, pageSize * 6, pageSize * 7, pageSize * 7 + 600); // cells moved from the neighbour
    return run;
  }

  it.each([
    ['patches, aligned', false, 0],
    ['patches, unaligned', false, 1],
    ['deflate, aligned', true, 0],
    ['deflate, unaligned', true, 3],
  ] as const)('rebuilds the run exactly from the key image and the delta (%s)', (_label, deflate, shift) => {
    const run = changedRun();
    const delta = diffRun(asPages(run, shift), key, pageSize, Number.POSITIVE_INFINITY, deflate)!;
    expect(applyDelta(key, delta, pageSize).equals(run)).toBe(true);
    expect(delta.length).toBeLessThan(run.length / 2);
  });

  it('is empty for an unchanged run, and undefined once it passes the limit', () => {
    expect(diffRun(asPages(key), key, pageSize, 0, false)!.length).toBe(0);
    const rewritten = randomBytes(key.length);
    expect(diffRun(asPages(rewritten), key, pageSize, key.length / 2, true)).toBeUndefined();
  });

  it('deflate keeps the smaller encoding: moved cells cost less than as patches', () => {
    const run = changedRun();
    const patched = diffRun(asPages(run), key, pageSize, Number.POSITIVE_INFINITY, false)!;
    const deflated = diffRun(asPages(run), key, pageSize, Number.POSITIVE_INFINITY, true)!;
    expect(deflated.length).toBeLessThan(patched.length);
  });

  it('refuses a damaged delta with an error saying what does not fit', () => {
    const delta = diffRun(asPages(changedRun()), key, pageSize, Number.POSITIVE_INFINITY, true)!;
    expect(() => applyDelta(key, delta.subarray(0, delta.length - 1), pageSize)).toThrow(/does not fit|does not inflate|inflates to/);
    const badPage = Buffer.from(delta);
    badPage.writeUInt32LE(pages, 0); // a page the run does not have
    expect(() => applyDelta(key, badPage, pageSize)).toThrow(/record for page 8/);
    const badMethod = Buffer.from(delta);
    badMethod[4] = 9;
    expect(() => applyDelta(key, badMethod, pageSize)).toThrow(/unknown method 9/);
  });

  it('delta blocks carry the deltas of a segment by run, and refuse records outside it', () => {
    const block = encodeBlock([{ run: 32, delta: Buffer.from('a') }, { run: 33, delta: Buffer.alloc(0) }, { run: 35, delta: Buffer.from('bc') }]);
    expect(blockBodyLength(block)).toBe(block.length - BLOCK_HEADER_BYTES);
    const records = decodeBlockBody(block.subarray(BLOCK_HEADER_BYTES), 32, 16);
    expect([...records.entries()].map(([run, d]) => [run, d.toString()])).toEqual([[32, 'a'], [35, 'bc']]);
    expect(() => decodeBlockBody(block.subarray(BLOCK_HEADER_BYTES), 0, 16)).toThrow(/record for run 32/);
    expect(() => blockBodyLength(Buffer.from('not a block'))).toThrow(/no delta block/);
    expect(encodeBlock([]).length).toBe(BLOCK_HEADER_BYTES);
  });
});
