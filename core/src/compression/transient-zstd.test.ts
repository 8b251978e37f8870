import { randomBytes } from 'node:crypto';
import { compress, Compressor, decompress } from 'zstd-napi';
import { compressTransient, decompressTransient } from './transient-zstd';

/** Exactly n bytes of compressible text. */
function text(n: number, seed: string): Buffer {
  const line = `${seed} the same words again and again `;
  return Buffer.from(line.repeat(Math.ceil(n / line.length)).slice(0, n));
}

describe('transient zstd (reused buffers on the host blob path)', () => {
  it('compresses to a frame any zstd decoder reads, and declines data that would not shrink', () => {
    const plain = text(200_000, 'a');
    const frame = Buffer.from(compressTransient(plain, 3)!);
    expect(frame.length).toBeLessThan(plain.length / 10);
    expect(decompress(frame).equals(plain)).toBe(true);
    expect(compressTransient(randomBytes(100_000), 3)).toBeUndefined();
  });

  it('decompresses a plugin frame exactly, reusing one buffer: a result is valid until the next call', () => {
    const a = text(300_000, 'first');
    const b = text(300_000, 'second');
    const fromA = decompressTransient(compress(a), 'blob A');
    expect(fromA.equals(a)).toBe(true);
    expect(b.length).toBe(a.length);
    const fromB = decompressTransient(compress(b), 'blob B');
    expect(fromB.equals(b)).toBe(true);
    expect(fromB.buffer).toBe(fromA.buffer); // the contract callers rely on: copy before the next call
    expect(fromA.subarray(0, 6).toString()).toBe('second');
  });

  it('gives a blob larger than the kept buffer a buffer of its own', () => {
    const big = text(20 * 1024 * 1024, 'big');
    const small = decompressTransient(compress(text(1000, 'small')), 'small blob');
    const large = decompressTransient(compress(big), 'big blob');
    expect(large.equals(big)).toBe(true);
    expect(large.buffer).not.toBe(small.buffer);
  });

  it('reads a streamed frame that does not declare its size', () => {
    const plain = text(100_000, 'streamed');
    const streaming = new Compressor();
    streaming.setParameters({ contentSizeFlag: false });
    expect(decompressTransient(streaming.compress(plain), 'blob S').equals(plain)).toBe(true);
  });

  it('refuses a damaged frame, and a frame whose content differs from its declared size, with E_PROTOCOL naming the blob', () => {
    const frame = Buffer.from(compress(text(50_000, 'x')));
    const damaged = Buffer.from(frame);
    damaged[damaged.length >> 1] ^= 0xff;
    damaged[damaged.length - 3] ^= 0xff;
    expect(() => decompressTransient(damaged, 'blob D')).toThrow(expect.objectContaining({ code: 'E_PROTOCOL', message: expect.stringContaining('blob D') }));
    expect(() => decompressTransient(Buffer.from('not zstd at all'), 'blob N')).toThrow(expect.objectContaining({ code: 'E_PROTOCOL', message: expect.stringContaining('blob N') }));
    // Two frames back to back: the first declares 50 000 bytes, the pair holds 100 000.
    expect(() => decompressTransient(Buffer.concat([frame, frame]), 'blob T')).toThrow(expect.objectContaining({ code: 'E_PROTOCOL' }));
  });
});
