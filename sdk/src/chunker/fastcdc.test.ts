import { createHmac } from 'node:crypto';
import { ChunkerParams } from './chunker-params';
import { Chunker, validateChunkerParams } from './fastcdc';
import { createGearTable } from './gear-table';

/** Deterministic test input: xorshift32 words, little-endian. */
function xorshiftBytes(length: number, seed: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(length / 4));
  let x = seed >>> 0;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  return new Uint8Array(words.buffer, 0, length);
}

const KEY = Uint8Array.from({ length: 32 }, (_, i) => i);
const SMALL: ChunkerParams = { algorithm: 'fastcdc-gear32-v1', minSize: 16384, avgSize: 65536, maxSize: 262144, normalization: 2, gearKey: KEY };
const DEFAULT: ChunkerParams = { ...SMALL, minSize: 512 * 1024, avgSize: 1024 * 1024, maxSize: 8 * 1024 * 1024 };
const INPUT = xorshiftBytes(8 * 1024 * 1024, 0x2545f491);

function chunkAll(params: ChunkerParams, data: Uint8Array, pieceSize = data.length): Uint8Array[] {
  const chunker = new Chunker(params);
  const out: Uint8Array[] = [];
  for (let off = 0; off < data.length; off += pieceSize) out.push(...chunker.push(data.subarray(off, off + pieceSize)));
  const last = chunker.finish();
  if (last) out.push(last);
  return out;
}

const lengths = (chunks: Uint8Array[]): number[] => chunks.map((c) => c.length);

/** A deliberately naive implementation written from the spec in fastcdc.ts, for cross-checking. */
function referenceCutLengths(params: ChunkerParams, data: Uint8Array): number[] {
  const gear = createGearTable(params.gearKey);
  const bits = Math.log2(params.avgSize);
  const mask = (n: number): number => Number((((1n << BigInt(n)) - 1n) << BigInt(32 - n)) & 0xffffffffn);
  const maskS = mask(bits + params.normalization);
  const maskL = mask(bits - params.normalization);
  const out: number[] = [];
  let start = 0;
  while (start < data.length) {
    const remaining = data.length - start;
    let length = Math.min(remaining, params.maxSize);
    let h = 0;
    for (let i = params.minSize; i < Math.min(remaining, params.maxSize); i++) {
      h = (h * 2 + gear[data[start + i]!]!) % 2 ** 32;
      const m = i < params.avgSize ? maskS : maskL;
      if ((h & m) >>> 0 === 0) {
        length = i + 1;
        break;
      }
    }
    out.push(length);
    start += length;
  }
  return out;
}

describe('createGearTable', () => {
  it('derives table[i] from HMAC-SHA-256(gearKey, "ebm-gear-v1" ‖ i), little-endian', () => {
    const table = createGearTable(KEY);
    for (const i of [0, 1, 77, 255]) {
      const mac = createHmac('sha256', KEY).update(Buffer.concat([Buffer.from('ebm-gear-v1'), Buffer.from([i])])).digest();
      expect(table[i]).toBe(mac.readUInt32LE(0));
    }
    expect(createGearTable(Uint8Array.from(KEY).reverse())[0]).not.toBe(table[0]);
  });
});

describe('Chunker (fastcdc-gear32-v1)', () => {
  it('cuts a fixed input at pinned points (64 KiB average)', () => {
    // Pinned: if this changes, every existing repository loses deduplication.
    expect(lengths(chunkAll(SMALL, INPUT))).toEqual([
      109120, 87964, 78432, 69061, 72276, 74145, 91019, 77867, 71588, 68778, 119690, 69668, 91246, 74899, 69967, 81405,
      66028, 68511, 70925, 121133, 142710, 122210, 74179, 93484, 79910, 66674, 128670, 95328, 71015, 68946, 88099, 67943,
      68949, 67862, 30751, 44132, 75096, 123530, 30112, 99877, 73819, 86479, 82631, 77031, 21178, 76501, 75172, 78543,
      87844, 113875, 27768, 83148, 67650, 72595, 71291, 81977, 69837, 92395, 69034, 103775, 87216, 128254, 72291, 82797,
      52954, 67334, 113408, 83869, 83409, 54705, 101026, 70577, 79291, 74187, 138628, 91235, 46565, 80488, 102641, 77925,
      51252, 73738, 70066, 61307, 44217, 99144, 16423, 68096, 70734, 112605, 71139, 87540, 71936, 108844, 68235, 75416,
      66857, 108033, 16616, 99952, 70659, 86545, 69391, 121165, 67923, 56233,
    ]);
  });

  it('cuts a fixed input at pinned points (default 512 KiB / 1 MiB / 8 MiB)', () => {
    expect(lengths(chunkAll(DEFAULT, INPUT))).toEqual([1080854, 1356033, 1177450, 1389003, 1210148, 1603252, 571868]);
  });

  it('agrees with a naive implementation of the specification', () => {
    const data = INPUT.subarray(0, 1024 * 1024);
    expect(lengths(chunkAll(SMALL, data))).toEqual(referenceCutLengths(SMALL, data));
    const tight = { ...SMALL, minSize: 1024, avgSize: 4096, maxSize: 8192, normalization: 1 };
    expect(lengths(chunkAll(tight, data))).toEqual(referenceCutLengths(tight, data));
  });

  it('reassembles to the input and gives the same chunks however the input is split', () => {
    const data = INPUT.subarray(0, 1024 * 1024);
    const whole = chunkAll(SMALL, data);
    expect(Buffer.concat(whole).equals(Buffer.from(data))).toBe(true);
    for (const piece of [1, 7, 4096, 65537, 300000]) {
      const sample = piece < 100 ? data.subarray(0, 150000) : data;
      const expected = piece < 100 ? lengths(chunkAll(SMALL, sample)) : lengths(whole);
      const split = chunkAll(SMALL, sample, piece);
      expect(lengths(split)).toEqual(expected);
      expect(Buffer.concat(split).equals(Buffer.from(sample))).toBe(true);
    }
  });

  it('cuts (boundaries only) agree with push, however the input is split, and keep nothing', () => {
    const data = INPUT.subarray(0, 2 * 1024 * 1024);
    const tight = { ...SMALL, minSize: 1024, avgSize: 4096, maxSize: 8192, normalization: 1 };
    for (const params of [SMALL, tight]) {
      for (const piece of [data.length, 4096, 65537, 300000]) {
        const chunker = new Chunker(params);
        const cutLengths: number[] = [];
        let since = 0;
        for (let off = 0; off < data.length; off += piece) {
          const view = data.subarray(off, off + piece);
          let from = 0;
          for (const cut of chunker.cuts(view)) {
            cutLengths.push(since + cut - from);
            since = 0;
            from = cut;
          }
          since += view.length - from;
        }
        if (since > 0) cutLengths.push(since);
        expect(cutLengths).toEqual(referenceCutLengths(params, data));
      }
    }
    const reused = new Chunker(SMALL);
    reused.cuts(data.subarray(0, 1000)); // a chunk in progress ...
    reused.reset(); // ... forgotten
    expect(reused.cuts(data)).toEqual(new Chunker(SMALL).cuts(data));
  });

  it('gives different cut points under a different key', () => {
    const other = { ...SMALL, gearKey: Uint8Array.from({ length: 32 }, (_, i) => 255 - i) };
    const a = lengths(chunkAll(SMALL, INPUT));
    const b = lengths(chunkAll(other, INPUT));
    expect(b).not.toEqual(a);
    // Boundaries (cumulative offsets) should be almost entirely different.
    const cuts = (l: number[]): Set<number> => new Set(l.map((_, i) => l.slice(0, i + 1).reduce((x, y) => x + y, 0)));
    const ca = cuts(a);
    const shared = [...cuts(b)].filter((c) => ca.has(c) && c !== INPUT.length).length;
    expect(shared).toBeLessThan(3);
  });

  it('respects minSize and maxSize (every chunk but the last)', () => {
    const params = { ...SMALL, minSize: 2048, avgSize: 8192, maxSize: 12000 };
    const zeros = new Uint8Array(100000); // a constant input never matches a mask: all chunks hit maxSize
    expect(lengths(chunkAll(params, zeros))).toEqual([...Array(8).fill(12000), 4000]);
    const chunks = lengths(chunkAll(params, INPUT.subarray(0, 1024 * 1024)));
    for (const len of chunks.slice(0, -1)) {
      expect(len).toBeGreaterThan(params.minSize);
      expect(len).toBeLessThanOrEqual(params.maxSize);
    }
  });

  it('returns no chunk for empty input and one chunk for input smaller than minSize', () => {
    expect(chunkAll(SMALL, new Uint8Array(0))).toEqual([]);
    const chunker = new Chunker(SMALL);
    expect(chunker.push(new Uint8Array(0))).toEqual([]);
    expect(chunker.finish()).toBeUndefined();
    const small = INPUT.subarray(0, SMALL.minSize - 1);
    const chunks = chunkAll(SMALL, small, 1000);
    expect(chunks).toHaveLength(1);
    expect(Buffer.from(chunks[0]!).equals(Buffer.from(small))).toBe(true);
  });

  it('changes only the first chunk(s) after an insertion near the start', () => {
    const data = INPUT.subarray(0, 2 * 1024 * 1024);
    const edited = Buffer.concat([data.subarray(0, 1000), Buffer.from('inserted bytes'), data.subarray(1000)]);
    const before = chunkAll(SMALL, data).map((c) => Buffer.from(c).toString('hex'));
    const after = chunkAll(SMALL, edited).map((c) => Buffer.from(c).toString('hex'));
    const afterSet = new Set(after);
    const kept = before.filter((c) => afterSet.has(c)).length;
    expect(kept).toBeGreaterThanOrEqual(before.length - 2);
    expect(after[0]).not.toBe(before[0]);
  });

  it('returns chunks that own their whole buffer and never alias the input', () => {
    const data = Uint8Array.from(INPUT.subarray(0, 500000));
    const chunks = chunkAll(SMALL, data, 100000);
    for (const c of chunks) {
      expect(c.byteOffset).toBe(0);
      expect(c.buffer.byteLength).toBe(c.length);
      expect(c.buffer).not.toBe(data.buffer);
    }
  });

  it('refuses unusable parameters with E_UNSUPPORTED_FORMAT', () => {
    expect(() => validateChunkerParams({ ...SMALL, avgSize: 60000 })).toThrow(expect.objectContaining({ code: 'E_UNSUPPORTED_FORMAT' }));
    expect(() => new Chunker({ ...SMALL, minSize: SMALL.maxSize })).toThrow(/minSize < avgSize < maxSize/);
  });
});
