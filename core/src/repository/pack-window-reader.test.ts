import { randomBytes } from 'node:crypto';
import { computeBlobId } from '@ebm/sdk';
import type { Handle } from '../backend/backend';
import { MemoryBackend } from '../backend/memory-backend';
import { aesGcmCipher } from '../crypto/object-cipher';
import { MasterIndex } from './master-index';
import { openBlob, sealBlob } from './pack-format';
import type { PackBlob } from './pack-format';
import { PackWindowReader, WINDOW_BYTES } from './pack-window-reader';
import { PackWriter } from './pack-writer';
import type { MasterKeys } from './types';

const keys: MasterKeys = { encryption: randomBytes(32), id: randomBytes(32), chunker: randomBytes(32) };
const cipher = aesGcmCipher(keys.encryption);

/** A memory backend that counts ranged loads and can be told to fail them. */
class CountingBackend extends MemoryBackend {
  loads: Array<{ offset: number; length: number | undefined }> = [];
  failNext: Error | undefined;
  override async load(handle: Handle, offset = 0, length?: number): Promise<Buffer> {
    this.loads.push({ offset, length });
    if (this.failNext !== undefined) {
      const err = this.failNext;
      this.failNext = undefined;
      throw err;
    }
    return super.load(handle, offset, length);
  }
}

/**
 * A counting backend that also reads into given buffers (ReadIntoCapable),
 * remembering each target. It writes a target in two halves with a random
 * pause between them, as a read on another thread fills a buffer while this
 * one runs: a buffer handed to two reads at once ends up mixed.
 */
class ReadIntoBackend extends CountingBackend {
  readonly targets = new Set<ArrayBufferLike>();
  async loadInto(handle: Handle, offset: number, target: Uint8Array): Promise<void> {
    this.targets.add(target.buffer);
    const bytes = await this.load(handle, offset, target.length);
    const pause = (): Promise<void> => new Promise((r) => setTimeout(r, Math.floor(Math.random() * 3)));
    const half = bytes.length >> 1;
    await pause();
    target.set(bytes.subarray(0, half));
    await pause();
    target.set(bytes.subarray(half), half);
  }
}

/** One stored pack of blobs of the given sizes, indexed. */
async function storedPack(sizes: readonly number[], backend: CountingBackend = new CountingBackend()) {
  await backend.create();
  const writer = new PackWriter(cipher, 64 * 1024 * 1024);
  const plains = new Map<string, Buffer>();
  for (const size of sizes) {
    const plain = randomBytes(size);
    const id = computeBlobId(keys.id, plain);
    plains.set(id, plain);
    writer.add('data', id, sealBlob(cipher, 0, plain, Buffer.from(id, 'hex')), size);
  }
  const [pack] = writer.finishAll();
  await backend.save({ type: 'data', name: pack!.name }, pack!.contents);
  const index = new MasterIndex();
  index.addPack(pack!.name, pack!.blobs);
  const reader = new PackWindowReader({ backend }, (p) => index.blobAreaEnd(p));
  const open = (blob: PackBlob): Promise<Buffer> => reader.read(pack!.name, blob, (sealed) => openBlob({ keys, cipher, bindsBlobIds: true }, sealed, blob, pack!.name));
  backend.loads = [];
  return { backend, pack: pack!, plains, reader, open };
}

describe('PackWindowReader', () => {
  it('serves small blobs stored one after the other from one read, also when asked for all at once', async () => {
    const { backend, pack, plains, open } = await storedPack(Array.from({ length: 40 }, () => 10_000));
    const opened = await Promise.all(pack.blobs.map(open));
    opened.forEach((plain, i) => expect(plain.equals(plains.get(pack.blobs[i]!.id)!)).toBe(true));
    expect(backend.loads).toEqual([{ offset: 0, length: pack.blobs[39]!.offset + pack.blobs[39]!.length }]); // never past the blobs
  });

  it('reads a window of WINDOW_BYTES from a blob, and the next window where it ends', async () => {
    const { backend, pack, open } = await storedPack(Array.from({ length: 30 }, () => 100_000));
    for (const blob of pack.blobs) await open(blob);
    const perWindow = Math.floor(WINDOW_BYTES / pack.blobs[0]!.length); // a blob straddling a window's end starts the next window
    expect(backend.loads.map((l) => l.offset)).toEqual([0, 10, 20].map((i) => pack.blobs[i]!.offset));
    expect(perWindow).toBe(10);
    expect(backend.loads.every((l) => l.length !== undefined && l.length <= WINDOW_BYTES)).toBe(true);
  });

  it('reads a large blob exactly, and a blob of a pack the index does not name', async () => {
    const { backend, pack, plains, open } = await storedPack([2 * WINDOW_BYTES, 5000]);
    const big = pack.blobs[0]!;
    expect((await open(big)).equals(plains.get(big.id)!)).toBe(true);
    expect(backend.loads).toEqual([{ offset: big.offset, length: big.length }]);
    const unindexed = new PackWindowReader({ backend }, () => undefined);
    backend.loads = [];
    const small = pack.blobs[1]!;
    await unindexed.read(pack.name, small, (sealed) => sealed.length);
    expect(backend.loads).toEqual([{ offset: small.offset, length: small.length }]);
  });

  it('names the waiting blob when its window cannot be read, and tries again on the next request', async () => {
    const { backend, pack, plains, reader, open } = await storedPack([1000, 1000, 1000]);
    backend.failNext = Object.assign(new Error('gone'), { code: 'E_STORAGE_NOT_FOUND' });
    const [first, second] = pack.blobs;
    const reads = [reader.read(pack.name, first!, (b) => b.length), reader.read(pack.name, second!, (b) => b.length)];
    await expect(reads[0]).rejects.toMatchObject({ code: 'E_STORAGE_NOT_FOUND', message: expect.stringContaining(`blob ${first!.id} in pack ${pack.name}`) });
    await expect(reads[1]).rejects.toMatchObject({ code: 'E_STORAGE_NOT_FOUND', message: expect.stringContaining(`blob ${second!.id}`) });
    expect((await open(second!)).equals(plains.get(second!.id)!)).toBe(true);
    expect(backend.loads).toHaveLength(2);
  });

  it('reads the storage again for a blob whose window was discarded as damaged', async () => {
    const { backend, pack, reader } = await storedPack([1000, 1000]);
    const length = (b: Buffer): number => b.length;
    await reader.read(pack.name, pack.blobs[0]!, length);
    await reader.read(pack.name, pack.blobs[1]!, length);
    expect(backend.loads).toHaveLength(1);
    reader.discard(pack.name, pack.blobs[1]!);
    await reader.read(pack.name, pack.blobs[1]!, length);
    expect(backend.loads).toHaveLength(2);
  });

  it('reads windows into reused buffers when the backend can, never reusing one a read still waits for or decrypts from', async () => {
    const backend = new ReadIntoBackend();
    const { pack, plains, open } = await storedPack(Array.from({ length: 200 }, () => 100_000), backend); // ~20 windows
    // A restore's pattern: in order, a few requests ahead; then everything at once in a random order.
    for (let i = 0; i < pack.blobs.length; i += 4) {
      const batch = pack.blobs.slice(i, i + 4);
      const opened = await Promise.all(batch.map(open));
      opened.forEach((plain, k) => expect(plain.equals(plains.get(batch[k]!.id)!)).toBe(true));
    }
    expect(backend.loads.length).toBeGreaterThanOrEqual(20);
    expect(backend.targets.size).toBeLessThanOrEqual(12); // the 8 windows kept and a few spare
    const shuffled = [...pack.blobs].sort(() => Math.random() - 0.5);
    const opened = await Promise.all(shuffled.map(open));
    opened.forEach((plain, k) => expect(plain.equals(plains.get(shuffled[k]!.id)!)).toBe(true));
  });
});
