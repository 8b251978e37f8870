import { createHash } from 'node:crypto';
import { MemoryBackend } from '../backend/memory-backend';
import { parseKeyFile } from '../crypto/key-file';
import { FAST_TEST_SCRYPT_PARAMS } from '../crypto/kdf';
import { addKey, createMasterKeys, listKeys, openWithPassword, removeKey } from './keys';

const kdf = FAST_TEST_SCRYPT_PARAMS;

describe('key files', () => {
  it('two keys with different passwords open to the same master keys', async () => {
    const backend = new MemoryBackend();
    const master = createMasterKeys();
    const first = await addKey(backend, master, 'alpha', { kdf });
    const second = await addKey(backend, master, 'beta', { kdf });
    const a = await openWithPassword(backend, 'alpha');
    const b = await openWithPassword(backend, 'beta');
    expect(a.keyId).toBe(first);
    expect(b.keyId).toBe(second);
    for (const opened of [a, b]) {
      expect(opened.keys.encryption.equals(master.encryption)).toBe(true);
      expect(opened.keys.id.equals(master.id)).toBe(true);
      expect(opened.keys.chunker.equals(master.chunker)).toBe(true);
    }
    expect(a.kdf).toEqual(kdf);
  });

  it('names key files by the sha256 of their bytes and stores no master key in plaintext', async () => {
    const backend = new MemoryBackend();
    const master = createMasterKeys();
    const id = await addKey(backend, master, 'pw', { kdf, host: 'h1', username: 'u1' });
    const bytes = backend.peek({ type: 'keys', name: id })!;
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(id);
    const file = parseKeyFile(bytes, 'k');
    expect(file).toMatchObject({ v: 1, host: 'h1', username: 'u1', kdf: { name: 'scrypt', N: 1024, r: 8, p: 1 } });
    expect(file.kdf.name === 'scrypt' && Buffer.from(file.kdf.salt, 'base64').length).toBe(32);
    const text = bytes.toString('latin1');
    for (const k of [master.encryption, master.id, master.chunker]) {
      expect(text.includes(k.toString('base64'))).toBe(false);
      expect(bytes.includes(k)).toBe(false);
    }
  });

  it('a wrong password gives E_WRONG_PASSWORD', async () => {
    const backend = new MemoryBackend();
    await addKey(backend, createMasterKeys(), 'right', { kdf });
    await expect(openWithPassword(backend, 'wrong')).rejects.toMatchObject({ code: 'E_WRONG_PASSWORD', message: expect.stringContaining('1 key file') });
  });

  it('no key files at all is reported as a damaged repository', async () => {
    await expect(openWithPassword(new MemoryBackend(), 'x')).rejects.toMatchObject({ code: 'E_CORRUPT_OBJECT', message: expect.stringContaining('no key files') });
  });

  it('skips a damaged key file and still opens with another', async () => {
    const backend = new MemoryBackend();
    const master = createMasterKeys();
    const broken = await addKey(backend, master, 'pw', { kdf });
    const good = await addKey(backend, master, 'pw', { kdf });
    const bytes = backend.peek({ type: 'keys', name: broken })!;
    bytes[bytes.length - 10] ^= 0x01;
    backend.poke({ type: 'keys', name: broken }, bytes);
    expect((await openWithPassword(backend, 'pw')).keyId).toBe(good);
    await expect(openWithPassword(backend, 'nope')).rejects.toMatchObject({ code: 'E_WRONG_PASSWORD', message: expect.stringContaining(`keys/${broken}`) });
    const listed = await listKeys(backend);
    expect(listed.find((k) => k.id === broken)?.problem).toMatch(/does not match its name/);
  });

  it('lists keys with creation time, host and user', async () => {
    const backend = new MemoryBackend();
    const id = await addKey(backend, createMasterKeys(), 'pw', { kdf, host: 'box', username: 'ann' });
    const [info] = await listKeys(backend);
    expect(info).toMatchObject({ id, host: 'box', username: 'ann' });
    expect(Date.parse(info!.created)).not.toBeNaN();
  });

  describe('removeKey', () => {
    let backend: MemoryBackend;
    let first: string;
    let second: string;
    beforeEach(async () => {
      backend = new MemoryBackend();
      const master = createMasterKeys();
      first = await addKey(backend, master, 'one', { kdf });
      second = await addKey(backend, master, 'two', { kdf });
    });

    it('removes another key by unique prefix; its password no longer opens', async () => {
      const prefix = second.slice(0, 8);
      expect(await removeKey(backend, prefix, first)).toBe(second);
      expect((await listKeys(backend)).map((k) => k.id)).toEqual([first]);
      await expect(openWithPassword(backend, 'two')).rejects.toMatchObject({ code: 'E_WRONG_PASSWORD' });
      expect((await openWithPassword(backend, 'one')).keyId).toBe(first);
    });

    it('refuses the key in use and the last key', async () => {
      await expect(removeKey(backend, first, first)).rejects.toMatchObject({ code: 'E_LAST_KEY' });
      await removeKey(backend, second, first);
      await expect(removeKey(backend, first, 'some-other-session-key')).rejects.toMatchObject({ code: 'E_LAST_KEY', message: expect.stringContaining('last key') });
    });

    it('reports unknown and ambiguous ids', async () => {
      await expect(removeKey(backend, 'zz', first)).rejects.toMatchObject({ code: 'E_KEY_NOT_FOUND' });
      await expect(removeKey(backend, '', first)).rejects.toMatchObject({ code: 'E_KEY_NOT_FOUND' });
      // Add keys until two share a first hex digit, then use that digit as prefix.
      const master = createMasterKeys();
      const ids = [first, second];
      let shared: string | undefined;
      while (!shared) {
        ids.push(await addKey(backend, master, 'more', { kdf }));
        shared = ids.map((i) => i[0]!).find((c, i, all) => all.indexOf(c) !== i);
      }
      await expect(removeKey(backend, shared, 'none')).rejects.toMatchObject({ code: 'E_AMBIGUOUS_ID' });
    });
  });
});
