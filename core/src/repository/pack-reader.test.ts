import { randomBytes } from 'node:crypto';
import { computeBlobId } from '@ebm/sdk';
import { MemoryBackend } from '../backend/memory-backend';
import { collectBytes } from '../backend/backend';
import { fileHash } from '../compression/payload-codec';
import { joinSealed, sealBlob } from './pack-format';
import { loadSealedBlob, loadVerifiedPack, readPackHeader } from './pack-reader';
import { PackWriter } from './pack-writer';
import type { MasterKeys } from './types';
import { aesGcmCipher } from '../crypto/object-cipher';

const keys: MasterKeys = { encryption: randomBytes(32), id: randomBytes(32), chunker: randomBytes(32) };
const cipher = aesGcmCipher(keys.encryption);

function blob(size: number): { id: string; plain: Buffer; sealed: Buffer } {
  const plain = randomBytes(size);
  const id = computeBlobId(keys.id, plain);
  return { id, plain, sealed: joinSealed(sealBlob(cipher, 0, plain, Buffer.from(id, 'hex'))) };
}

describe('readPackHeader', () => {
  it('reads headers larger than one tail read (2000 blobs) from storage', async () => {
    const backend = new MemoryBackend();
    await backend.create();
    const writer = new PackWriter(cipher, 10 * 1024 * 1024);
    const input = Array.from({ length: 2000 }, () => blob(10));
    for (const b of input) writer.add('tree', b.id, b.sealed, b.plain.length);
    const [pack] = writer.finishAll();
    await backend.save({ type: 'data', name: pack!.name }, pack!.contents);
    const header = await readPackHeader({ backend, cipher }, pack!.name);
    expect(header.map((h) => h.id)).toEqual(input.map((b) => b.id));
    expect(await readPackHeader({ backend, cipher }, pack!.name, pack!.size)).toEqual(header);
  });

  it('reports truncation, a bad trailer and a damaged header as E_CORRUPT_OBJECT naming the pack', async () => {
    const backend = new MemoryBackend();
    await backend.create();
    const writer = new PackWriter(cipher, 1 << 20);
    for (const b of Array.from({ length: 3 }, () => blob(100))) writer.add('data', b.id, b.sealed, 100);
    const [pack] = writer.finishAll();
    const data = await collectBytes(pack!.contents);
    const variants: Array<[string, Buffer, RegExp]> = [
      ['truncated', data.subarray(0, data.length - 10), /./],
      ['tiny', data.subarray(0, 10), /too short/],
      ['cut at the front', data.subarray(50), /describes/],
      ['bad trailer', Buffer.concat([data.subarray(0, data.length - 4), Buffer.from([0xff, 0xff, 0xff, 0x7f])]), /header length/],
      ['damaged header', (() => { const b = Buffer.from(data); b[b.length - 20]! ^= 1; return b; })(), /authentication failed/],
    ];
    for (const [name, bytes, message] of variants) {
      const packName = `${name.replace(/ /g, '-')}-pack`;
      await backend.save({ type: 'data', name: packName }, bytes);
      await expect(readPackHeader({ backend, cipher }, packName)).rejects.toMatchObject({ code: 'E_CORRUPT_OBJECT', message: expect.stringMatching(message) });
      await expect(readPackHeader({ backend, cipher }, packName)).rejects.toThrow(packName);
    }
  });
});

describe('loadVerifiedPack / loadSealedBlob', () => {
  it('return the bytes when the pack hashes to its name, and name the pack or blob otherwise', async () => {
    const backend = new MemoryBackend();
    await backend.create();
    const writer = new PackWriter(cipher, 1 << 20);
    const b = blob(200);
    writer.add('data', b.id, b.sealed, 200);
    const [pack] = writer.finishAll();
    await backend.save({ type: 'data', name: pack!.name }, pack!.contents);
    expect(fileHash(await loadVerifiedPack({ backend }, pack!.name))).toBe(pack!.name);
    expect(await loadSealedBlob({ backend }, pack!.name, pack!.blobs[0]!)).toEqual(b.sealed);
    const damaged = await collectBytes(pack!.contents);
    damaged[3]! ^= 1;
    await backend.save({ type: 'data', name: pack!.name }, damaged);
    await expect(loadVerifiedPack({ backend }, pack!.name)).rejects.toMatchObject({ code: 'E_CORRUPT_OBJECT', subject: pack!.name });
    await backend.remove({ type: 'data', name: pack!.name });
    await expect(loadSealedBlob({ backend }, pack!.name, pack!.blobs[0]!)).rejects.toMatchObject({ code: 'E_STORAGE_NOT_FOUND', message: expect.stringContaining(`blob ${b.id} in pack ${pack!.name}`) });
  });
});
