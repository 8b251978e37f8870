import { createHash, randomBytes } from 'node:crypto';
import { computeBlobId } from '@ebm/sdk';
import { joinSealed, openBlob, sealBlob } from './pack-format';
import { parsePackHeader, sealedBlobOf } from './pack-reader';
import { PackWriter } from './pack-writer';
import type { MasterKeys } from './types';
import { aesGcmCipher } from '../crypto/object-cipher';

const keys: MasterKeys = { encryption: randomBytes(32), id: randomBytes(32), chunker: randomBytes(32) };
const cipher = aesGcmCipher(keys.encryption);
const access = { keys, cipher };

/** A blob sealed as the store seals it (`pieces`) and as one buffer (`sealed`): the writer takes both. */
function blob(size: number): { id: string; plain: Buffer; pieces: readonly Uint8Array[]; sealed: Buffer } {
  const plain = randomBytes(size);
  const pieces = sealBlob(cipher, 0, plain);
  return { id: computeBlobId(keys.id, plain), plain, pieces, sealed: joinSealed(pieces) };
}

describe('PackWriter', () => {
  it('finishes a pack when the next blob would pass the target; the pack parses and every blob opens', () => {
    const writer = new PackWriter(cipher, 1000);
    const input = Array.from({ length: 5 }, () => blob(300)); // 300 + 29 sealed overhead + 1 codec byte
    expect(input[0]!.pieces).toHaveLength(3); // nonce and codec byte joined, ciphertext, tag
    const finished = input.flatMap((b, i) => writer.add('data', b.id, i % 2 === 0 ? b.pieces : b.sealed, b.plain.length));
    expect(finished).toHaveLength(1); // 3×330 = 990 fit; the 4th starts a new pack
    finished.push(...writer.finishAll());
    expect(finished.map((p) => p.blobs.length)).toEqual([3, 2]);
    for (const pack of finished) {
      expect(pack.name).toBe(createHash('sha256').update(pack.data).digest('hex'));
      const header = parsePackHeader({ cipher }, pack.name, pack.data);
      expect(header).toEqual(pack.blobs);
      for (const entry of header) {
        const original = input.find((b) => b.id === entry.id)!;
        expect(openBlob(access, sealedBlobOf(pack.data, entry, pack.name), entry, pack.name)).toEqual(original.plain);
      }
    }
  });

  it('keeps data and tree blobs in separate packs, and gives an oversized blob its own pack', () => {
    const writer = new PackWriter(cipher, 1000);
    const d = blob(100);
    const t = blob(100);
    const big = blob(5000);
    expect(writer.add('data', d.id, d.sealed, 100)).toEqual([]);
    expect(writer.add('tree', t.id, t.pieces, 100)).toEqual([]);
    const bigPacks = writer.add('data', big.id, big.sealed, 5000);
    expect(bigPacks.map((p) => p.blobs.map((b) => b.id))).toEqual([[d.id], [big.id]]);
    expect(writer.blobInOpenPack(t.id)?.sealed).toEqual(t.sealed);
    const rest = writer.finishAll();
    expect(rest.map((p) => p.blobs.map((b) => `${b.kind}:${b.id}`))).toEqual([[`tree:${t.id}`]]);
    expect(writer.finishAll()).toEqual([]);
  });
});
