import { randomBytes } from 'node:crypto';
import { computeBlobId } from '@ebm/sdk';
import { Compressor } from 'zstd-napi';
import { CODEC_ZSTD } from '../compression/payload-codec';
import { blobAad, decodePackHeader, encodePackHeader, expectedPackSize, joinSealed, openBlob, PACK_ENTRY_BYTES, sealBlob, sealedLength, sealEncodedBlob } from './pack-format';
import type { PackBlob } from './pack-format';
import type { MasterKeys } from './types';
import { aesGcmCipher } from '../crypto/object-cipher';

const keys: MasterKeys = { encryption: randomBytes(32), id: randomBytes(32), chunker: randomBytes(32) };
const cipher = aesGcmCipher(keys.encryption);
const blobs: PackBlob[] = [
  { id: 'a'.repeat(64), kind: 'data', offset: 0, length: 100, rawLength: 1000 },
  { id: 'b'.repeat(64), kind: 'tree', offset: 100, length: 29, rawLength: 0 },
];

describe('pack header', () => {
  it('round-trips: version byte, then 45 bytes per blob (kind, raw id, offset, length, rawLength LE)', () => {
    const plain = encodePackHeader(blobs);
    expect(plain.length).toBe(1 + 2 * PACK_ENTRY_BYTES);
    expect(plain[0]).toBe(1);
    expect(plain[1]).toBe(0);
    expect(plain.subarray(2, 34).toString('hex')).toBe('a'.repeat(64));
    expect(plain.readUInt32LE(1 + 37)).toBe(100);
    expect(plain.readUInt32LE(1 + 41)).toBe(1000);
    expect(plain[1 + PACK_ENTRY_BYTES]).toBe(1);
    expect(decodePackHeader(plain, 'p', 129)).toEqual(blobs);
  });

  it('rejects an unknown version, a ragged length, an unknown kind, gaps and a wrong blob area, naming the pack', () => {
    const plain = encodePackHeader(blobs);
    const cases: Array<[Buffer, number, RegExp]> = [
      [Buffer.concat([Buffer.from([2]), plain.subarray(1)]), 129, /version/],
      [plain.subarray(0, plain.length - 1), 129, /not 1 \+ n/],
      [Buffer.from(plain).fill(7, 1, 2), 129, /unknown kind/],
      [(() => { const b = Buffer.from(plain); b.writeUInt32LE(101, 1 + PACK_ENTRY_BYTES + 33); return b; })(), 130, /starts at 101/],
      [plain, 130, /describes 129 bytes/],
    ];
    for (const [bytes, area, message] of cases) {
      expect(() => decodePackHeader(bytes, 'pack-x', area)).toThrow(expect.objectContaining({ code: 'E_CORRUPT_OBJECT', message: expect.stringMatching(message) }));
      expect(() => decodePackHeader(bytes, 'pack-x', area)).toThrow(/pack pack-x/);
    }
  });

  it('expectedPackSize is blobs + sealed header + 4-byte trailer', () => {
    expect(expectedPackSize(blobs)).toBe(129 + 12 + 16 + 1 + 2 * 45 + 4);
  });
});

/** Format version 1 (blobs sealed alone, every read re-hashes) and version 2 (blobs sealed with their id). */
const v1 = { keys, cipher, bindsBlobIds: false };
const v2 = { keys, cipher, bindsBlobIds: true };

describe.each([['format version 1', v1], ['format version 2', v2]])('sealBlob / openBlob, %s', (_name, access) => {
  const seal = (plaintext: Buffer, id = computeBlobId(keys.id, plaintext)): Buffer => joinSealed(sealBlob(cipher, 3, plaintext, blobAad(access, id)));

  it('round-trips compressible and incompressible plaintext', () => {
    for (const plaintext of [Buffer.alloc(5000, 'x'), randomBytes(5000), Buffer.alloc(0)]) {
      const id = computeBlobId(keys.id, plaintext);
      expect(openBlob(access, seal(plaintext), { id, rawLength: plaintext.length }, 'p')).toEqual(plaintext);
    }
    expect(sealedLength(sealBlob(cipher, 3, Buffer.alloc(5000, 'x'), blobAad(access, 'a'.repeat(64))))).toBeLessThan(200);
  });

  it('names blob and pack when the id, length or bytes do not match', () => {
    const plaintext = randomBytes(100);
    const id = computeBlobId(keys.id, plaintext);
    const sealed = seal(plaintext);
    // Version 1 finds another id by hashing; version 2 already by the seal, which binds the id.
    const wrongId = access.bindsBlobIds ? /blob c{64} in pack pk: authentication failed/ : /blob c{64} in pack pk: content does not match its id/;
    expect(() => openBlob(access, sealed, { id: 'c'.repeat(64), rawLength: 100 }, 'pk')).toThrow(wrongId);
    expect(() => openBlob(access, sealed, { id, rawLength: 99 }, 'pk')).toThrow(/index says 99/);
    const damaged = Buffer.from(sealed);
    damaged[20]! ^= 1;
    expect(() => openBlob(access, damaged, { id, rawLength: 100 }, 'pk')).toThrow(expect.objectContaining({ code: 'E_CORRUPT_OBJECT', message: expect.stringContaining(`blob ${id} in pack pk`) }));
  });

  it('a sealed blob put in the place of another of the same length (a swap within the repository) is E_CORRUPT_OBJECT', () => {
    const a = randomBytes(300);
    const b = randomBytes(300);
    const idA = computeBlobId(keys.id, a);
    const idB = computeBlobId(keys.id, b);
    expect(() => openBlob(access, seal(b), { id: idA, rawLength: 300 }, 'pk')).toThrow(expect.objectContaining({ code: 'E_CORRUPT_OBJECT', message: expect.stringContaining(`blob ${idA} in pack pk`) }));
    expect(openBlob(access, seal(b), { id: idB, rawLength: 300 }, 'pk')).toEqual(b);
  });

  it('decodes a compressed blob into a buffer of exactly its indexed length; a frame of another length is E_CORRUPT_OBJECT', () => {
    const plaintext = Buffer.from('compressible line\n'.repeat(4000));
    const id = computeBlobId(keys.id, plaintext);
    const sized = seal(plaintext);
    const streaming = new Compressor(); // a plugin's frame (codec 1) may not declare its size
    streaming.setParameters({ contentSizeFlag: false });
    const unsized = joinSealed(sealEncodedBlob(cipher, { codec: CODEC_ZSTD, body: streaming.compress(plaintext) }, blobAad(access, id)));
    for (const sealed of [sized, unsized]) {
      const opened = openBlob(access, sealed, { id, rawLength: plaintext.length }, 'p');
      expect(opened.equals(plaintext)).toBe(true);
      expect(opened.buffer.byteLength).toBe(plaintext.length); // its own buffer, nothing around it
      for (const rawLength of [plaintext.length - 1, plaintext.length + 1]) {
        expect(() => openBlob(access, sealed, { id, rawLength }, 'pk')).toThrow(expect.objectContaining({ code: 'E_CORRUPT_OBJECT', message: expect.stringContaining(`blob ${id} in pack pk`) }));
      }
    }
  });
});

describe('openBlob where the seal binds the id (format version 2)', () => {
  it('trusts the seal unless asked to re-hash: content that a faulty writer sealed under another id passes a read, and fails a check', () => {
    const content = randomBytes(200);
    const claimed = computeBlobId(keys.id, randomBytes(200)); // not the id of `content`
    const sealed = joinSealed(sealBlob(cipher, 3, content, blobAad(v2, claimed)));
    expect(openBlob(v2, sealed, { id: claimed, rawLength: 200 }, 'pk')).toEqual(content);
    expect(() => openBlob(v2, sealed, { id: claimed, rawLength: 200 }, 'pk', { rehash: true })).toThrow(/content does not match its id/);
  });

  it('a blob sealed without its id (version 1) does not open as version 2, nor the other way round', () => {
    const plaintext = randomBytes(64);
    const id = computeBlobId(keys.id, plaintext);
    expect(() => openBlob(v2, joinSealed(sealBlob(cipher, 3, plaintext, undefined)), { id, rawLength: 64 }, 'pk')).toThrow(/authentication failed/);
    expect(() => openBlob(v1, joinSealed(sealBlob(cipher, 3, plaintext, blobAad(v2, id))), { id, rawLength: 64 }, 'pk')).toThrow(/authentication failed/);
  });
});
