import { createHash, randomBytes } from 'node:crypto';
import { computeBlobId } from '@ebm/sdk';
import { collectBytes } from '../backend/backend';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SpooledPackBody } from './pack-body';
import { blobAad, joinSealed, openBlob, sealBlob } from './pack-format';
import { parsePackHeader, sealedBlobOf } from './pack-reader';
import { PackWriter } from './pack-writer';
import type { MasterKeys } from './types';
import { aesGcmCipher } from '../crypto/object-cipher';

const keys: MasterKeys = { encryption: randomBytes(32), id: randomBytes(32), chunker: randomBytes(32) };
const cipher = aesGcmCipher(keys.encryption);
const access = { keys, cipher, bindsBlobIds: true };

/** A blob sealed as the store seals it (`pieces`) and as one buffer (`sealed`): the writer takes both. */
function blob(size: number): { id: string; plain: Buffer; pieces: readonly Uint8Array[]; sealed: Buffer } {
  const plain = randomBytes(size);
  const id = computeBlobId(keys.id, plain);
  const pieces = sealBlob(cipher, 0, plain, blobAad(access, id));
  return { id, plain, pieces, sealed: joinSealed(pieces) };
}

describe('PackWriter', () => {
  it('finishes a pack when the next blob would pass the target; the pack parses and every blob opens', async () => {
    const writer = new PackWriter(cipher, 1000);
    const input = Array.from({ length: 5 }, () => blob(300)); // 300 + 29 sealed overhead + 1 codec byte
    expect(input[0]!.pieces).toHaveLength(3); // nonce and codec byte joined, ciphertext, tag
    const finished = input.flatMap((b, i) => writer.add('data', b.id, i % 2 === 0 ? b.pieces : b.sealed, b.plain.length));
    expect(finished).toHaveLength(1); // 3×330 = 990 fit; the 4th starts a new pack
    finished.push(...writer.finishAll());
    expect(finished.map((p) => p.blobs.length)).toEqual([3, 2]);
    for (const pack of finished) {
      const data = await collectBytes(pack.contents);
      expect(data.length).toBe(pack.size);
      expect(pack.name).toBe(createHash('sha256').update(data).digest('hex'));
      const header = parsePackHeader({ cipher }, pack.name, data);
      expect(header).toEqual(pack.blobs);
      for (const entry of header) {
        const original = input.find((b) => b.id === entry.id)!;
        expect(openBlob(access, sealedBlobOf(data, entry, pack.name), entry, pack.name)).toEqual(original.plain);
      }
    }
  });

  it('keeps data and tree blobs in separate packs, and gives an oversized blob its own pack', async () => {
    const writer = new PackWriter(cipher, 1000);
    const d = blob(100);
    const t = blob(100);
    const big = blob(5000);
    expect(writer.add('data', d.id, d.sealed, 100)).toEqual([]);
    expect(writer.add('tree', t.id, t.pieces, 100)).toEqual([]);
    const bigPacks = writer.add('data', big.id, big.sealed, 5000);
    expect(bigPacks.map((p) => p.blobs.map((b) => b.id))).toEqual([[d.id], [big.id]]);
    expect((await writer.blobInOpenPack(t.id))?.sealed).toEqual(t.sealed);
    const rest = writer.finishAll();
    expect(rest.map((p) => p.blobs.map((b) => `${b.kind}:${b.id}`))).toEqual([[`tree:${t.id}`]]);
    expect(writer.finishAll()).toEqual([]);
  });

  describe('with packs spooled to a file (SpooledPackBody)', () => {
    let dir: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ebm-spool-test-'));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('gives packs like in memory that hash to their names and open, reads blobs of an open pack back, and leaves no file behind', async () => {
      const input = Array.from({ length: 40 }, (_, i) => blob(1000 + i * 997));
      const inMemory = new PackWriter(cipher, 64 * 1024);
      const spooled = new PackWriter(cipher, 64 * 1024, SpooledPackBody.factory(dir));
      const memoryPacks = input.flatMap((b) => inMemory.add('data', b.id, b.pieces, b.plain.length));
      const spooledPacks = input.flatMap((b) => spooled.add('data', b.id, b.pieces, b.plain.length));
      expect(fs.readdirSync(dir)).toEqual([]); // spool files are nameless from the start
      const open = input[input.length - 1]!;
      expect((await spooled.blobInOpenPack(open.id))?.sealed.equals(open.sealed)).toBe(true);
      memoryPacks.push(...inMemory.finishAll());
      spooledPacks.push(...spooled.finishAll());
      expect(spooledPacks.length).toBeGreaterThan(3);
      expect(spooledPacks.map((p) => [p.size, p.blobs])).toEqual(memoryPacks.map((p) => [p.size, p.blobs])); // headers are sealed with fresh nonces
      for (const pack of spooledPacks) {
        const data = await collectBytes(pack.contents); // a save reads them in pieces, as often as it needs
        expect(createHash('sha256').update(data).digest('hex')).toBe(pack.name);
        expect(parsePackHeader({ cipher }, pack.name, data)).toEqual(pack.blobs);
        for (const entry of pack.blobs) expect(openBlob(access, sealedBlobOf(data, entry, pack.name), entry, pack.name).equals(input.find((b) => b.id === entry.id)!.plain)).toBe(true);
        expect((await collectBytes(pack.contents)).equals(data)).toBe(true);
        await pack.release();
        await expect(collectBytes(pack.contents)).rejects.toThrow(/released/);
      }
      expect(fs.readdirSync(dir)).toEqual([]);
    });

    it('names a spool directory it cannot use and says what to do', () => {
      const notADirectory = path.join(dir, 'file');
      fs.writeFileSync(notADirectory, 'x');
      const writer = new PackWriter(cipher, 1000, SpooledPackBody.factory(notADirectory));
      const b = blob(10);
      expect(() => writer.add('data', b.id, b.pieces, 10)).toThrow(expect.objectContaining({ code: 'E_STORAGE_IO', message: expect.stringMatching(new RegExp(`${notADirectory}.*TMPDIR`)) }));
    });
  });
});
