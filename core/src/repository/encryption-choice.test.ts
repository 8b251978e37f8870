import { randomBytes } from 'node:crypto';
import { MemoryBackend } from '../backend/memory-backend';
import { FAST_TEST_SCRYPT_PARAMS } from '../crypto/kdf';
import { addPlainKey } from './keys';
import { Repository } from './repository';
import { BlobStore } from './blob-store';
import { computeBlobId } from '@ebm/sdk';

/** Encryption is chosen per repository at init and recorded in its config (docs/format.md). */
describe('repository encryption: aes-256-gcm or none', () => {
  const marker = Buffer.from('plaintext-marker-0f9e8d7c '.repeat(40));

  async function storeMarker(repo: Repository): Promise<void> {
    const store = await BlobStore.open(repo, { compressionLevel: 0 });
    await store.saveBlob('data', computeBlobId(repo.keys.id, marker), marker);
    await store.flush();
  }

  async function packBytes(backend: MemoryBackend): Promise<Buffer> {
    const packs: Buffer[] = [];
    for await (const f of backend.list('data')) packs.push(backend.peek({ type: 'data', name: f.name })!);
    expect(packs.length).toBeGreaterThan(0);
    return Buffer.concat(packs);
  }

  it('an unencrypted repository opens without asking for a password, stores data readable, and still reads back verified', async () => {
    const backend = new MemoryBackend();
    const created = await Repository.init(backend, undefined, { encryption: 'none' });
    expect(created.config.encryption.algorithm).toBe('none');
    expect(created.encrypted).toBe(false);
    await storeMarker(created);
    expect((await packBytes(backend)).includes(marker)).toBe(true);

    const asked = jest.fn(async () => 'never used');
    const opened = await Repository.open(backend, asked);
    expect(asked).not.toHaveBeenCalled();
    expect(opened.keys.id.equals(created.keys.id)).toBe(true);
    const store = await BlobStore.open(opened);
    expect(await store.loadBlob(computeBlobId(opened.keys.id, marker))).toEqual(marker);
    await expect(opened.addKey('pw')).rejects.toMatchObject({ code: 'E_USAGE', message: expect.stringContaining('not encrypted') });
  });

  it('an encrypted repository asks for the password only after reading its config, and hides the data', async () => {
    const backend = new MemoryBackend();
    const repo = await Repository.init(backend, 'pw', { kdf: FAST_TEST_SCRYPT_PARAMS });
    await storeMarker(repo);
    expect((await packBytes(backend)).includes(marker)).toBe(false);
    const asked = jest.fn(async () => 'pw');
    await Repository.open(backend, asked);
    expect(asked).toHaveBeenCalledTimes(1);
    await expect(Repository.open(new MemoryBackend(), asked)).rejects.toMatchObject({ code: 'E_NOT_A_REPOSITORY' });
    expect(asked).toHaveBeenCalledTimes(1);
  });

  it('an encrypted repository needs a password at init; an unknown algorithm is refused', async () => {
    await expect(Repository.init(new MemoryBackend(), undefined)).rejects.toMatchObject({ code: 'E_USAGE', message: expect.stringContaining('needs a password') });
    await expect(Repository.init(new MemoryBackend(), 'pw', { encryption: 'rot13' as never })).rejects.toMatchObject({ code: 'E_USAGE', message: expect.stringContaining('rot13') });
  });

  it('a plain key file slipped into an encrypted repository never opens it', async () => {
    const backend = new MemoryBackend();
    await Repository.init(backend, 'pw', { kdf: FAST_TEST_SCRYPT_PARAMS });
    await addPlainKey(backend, { encryption: randomBytes(32), id: randomBytes(32), chunker: randomBytes(32) });
    await expect(Repository.open(backend, 'anything')).rejects.toMatchObject({ code: 'E_WRONG_PASSWORD' });
    await expect(Repository.open(backend, 'pw')).resolves.toBeInstanceOf(Repository);
  });

  it('the encryption recorded in the config is covered by its mac: flipping it is detected', async () => {
    const backend = new MemoryBackend();
    await Repository.init(backend, undefined, { encryption: 'none' });
    const handle = { type: 'config' as const, name: 'config' };
    const doc = JSON.parse(backend.peek(handle)!.toString('utf8')) as { encryption: { algorithm: string } };
    doc.encryption.algorithm = 'aes-256-gcm';
    await backend.save(handle, Buffer.from(JSON.stringify(doc)));
    // Now it looks encrypted, so a password is tried, and no key file opens with one.
    await expect(Repository.open(backend, 'pw')).rejects.toMatchObject({ code: 'E_WRONG_PASSWORD' });
  });
});
