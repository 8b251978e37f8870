import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_CHUNKER_SIZES } from '@ebm/sdk';
import { LocalBackend } from '../backend/local-backend';
import { MemoryBackend } from '../backend/memory-backend';
import { FAST_TEST_SCRYPT_PARAMS } from '../crypto/kdf';
import { Repository } from './repository';
import { initTestRepository, TEST_PASSWORD } from './test-repository';
import { REPOSITORY_FORMAT_VERSION } from './types';

describe('Repository on a local directory', () => {
  let dir: string;
  let repoDir: string;
  beforeEach(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ebm-repository-'));
    repoDir = path.join(dir, 'repo');
  });
  afterEach(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  const readConfigJson = async (): Promise<Record<string, unknown>> => JSON.parse(await fsp.readFile(path.join(repoDir, 'config'), 'utf8'));
  const writeConfigJson = (doc: unknown): Promise<void> => fsp.writeFile(path.join(repoDir, 'config'), JSON.stringify(doc));

  it('init writes a config with defaults; open with the password gives the same keys and config', async () => {
    const created = await initTestRepository(new LocalBackend(repoDir));
    const config = await readConfigJson();
    expect(config).toMatchObject({
      format: 'ebm-repository',
      version: REPOSITORY_FORMAT_VERSION,
      chunker: { algorithm: 'fastcdc-gear32-v1', ...DEFAULT_CHUNKER_SIZES },
      compression: { algorithm: 'zstd', level: 3 },
      encryption: { algorithm: 'aes-256-gcm' },
      packs: { targetSize: 16 * 1024 * 1024 },
    });
    expect(config.mac).toMatch(/^[0-9a-f]{64}$/);
    const opened = await Repository.open(new LocalBackend(repoDir), TEST_PASSWORD);
    expect(opened.config).toEqual(created.config);
    expect(opened.keyId).toBe(created.keyId);
    expect(opened.keys.encryption.equals(created.keys.encryption)).toBe(true);
    expect(opened.chunkerParams()).toEqual({ algorithm: 'fastcdc-gear32-v1', ...DEFAULT_CHUNKER_SIZES, gearKey: created.keys.chunker });
  });

  it('init honours chunker, compression and pack options', async () => {
    const repo = await initTestRepository(new LocalBackend(repoDir), { chunker: { avgSize: 16384, minSize: 4096 }, compressionLevel: 9, packTargetSize: 4 << 20 });
    expect(repo.config.chunker).toMatchObject({ minSize: 4096, avgSize: 16384, maxSize: DEFAULT_CHUNKER_SIZES.maxSize });
    expect(repo.compressionLevel).toBe(9);
    expect(repo.packTargetSize).toBe(4 << 20);
    await expect(initTestRepository(new MemoryBackend(), { chunker: { minSize: 10, avgSize: 5 } })).rejects.toMatchObject({ code: 'E_USAGE' });
  });

  it('refuses to init a non-empty location', async () => {
    await fsp.mkdir(repoDir);
    await fsp.writeFile(path.join(repoDir, 'precious.txt'), 'do not overwrite');
    await expect(initTestRepository(new LocalBackend(repoDir))).rejects.toMatchObject({ code: 'E_REPOSITORY_EXISTS', message: expect.stringContaining(repoDir) });
    await initTestRepository(new LocalBackend(path.join(dir, 'second')));
    await expect(initTestRepository(new LocalBackend(path.join(dir, 'second')))).rejects.toMatchObject({ code: 'E_REPOSITORY_EXISTS' });
  });

  it('a directory without a config is not a repository (the message says ebm init)', async () => {
    await fsp.mkdir(repoDir);
    await expect(Repository.open(new LocalBackend(repoDir), 'x')).rejects.toMatchObject({
      code: 'E_NOT_A_REPOSITORY',
      message: expect.stringMatching(new RegExp(`${repoDir}.*ebm init`)),
    });
    await expect(Repository.open(new LocalBackend(path.join(dir, 'missing')), 'x')).rejects.toMatchObject({ code: 'E_NOT_A_REPOSITORY' });
  });

  it('a config of another format is not a repository', async () => {
    await fsp.mkdir(repoDir);
    await fsp.writeFile(path.join(repoDir, 'config'), Buffer.from([0x00, 0xff, 0x13]));
    await expect(Repository.open(new LocalBackend(repoDir), 'x')).rejects.toMatchObject({ code: 'E_NOT_A_REPOSITORY' });
    await writeConfigJson({ format: 'something-else', version: 1 });
    await expect(Repository.open(new LocalBackend(repoDir), 'x')).rejects.toMatchObject({ code: 'E_NOT_A_REPOSITORY' });
  });

  it('a config with version 99 is refused before any password is tried, naming both versions', async () => {
    await initTestRepository(new LocalBackend(repoDir));
    await writeConfigJson({ ...(await readConfigJson()), version: 99 });
    const err = await Repository.open(new LocalBackend(repoDir), 'not even the right password').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_UNSUPPORTED_FORMAT' });
    expect((err as Error).message).toMatch(new RegExp(`version 99.*version ${REPOSITORY_FORMAT_VERSION}`));
  });

  it('detects a tampered config', async () => {
    await initTestRepository(new LocalBackend(repoDir));
    const config = await readConfigJson();
    await writeConfigJson({ ...config, compression: { algorithm: 'zstd', level: 1 } });
    await expect(Repository.open(new LocalBackend(repoDir), TEST_PASSWORD)).rejects.toMatchObject({ code: 'E_CORRUPT_OBJECT', message: expect.stringContaining('config was modified') });
    await writeConfigJson({ ...config, extra: 'field' });
    await expect(Repository.open(new LocalBackend(repoDir), TEST_PASSWORD)).rejects.toMatchObject({ code: 'E_CORRUPT_OBJECT', message: expect.stringContaining('config was modified') });
    // Reformatting alone (same content) is fine: the mac covers canonical JSON.
    await fsp.writeFile(path.join(repoDir, 'config'), JSON.stringify(Object.fromEntries(Object.entries(config).reverse()), null, 8));
    await expect(Repository.open(new LocalBackend(repoDir), TEST_PASSWORD)).resolves.toBeInstanceOf(Repository);
  });

  it('a wrong password gives E_WRONG_PASSWORD; a key added later opens it too', async () => {
    const repo = await initTestRepository(new LocalBackend(repoDir));
    await expect(Repository.open(new LocalBackend(repoDir), 'wrong')).rejects.toMatchObject({ code: 'E_WRONG_PASSWORD' });
    const second = await repo.addKey('second password');
    const key = JSON.parse(await fsp.readFile(path.join(repoDir, 'keys', second), 'utf8'));
    expect(key.kdf).toMatchObject(FAST_TEST_SCRYPT_PARAMS);
    const other = await Repository.open(new LocalBackend(repoDir), 'second password');
    expect(other.keyId).toBe(second);
    expect(other.keys.id.equals(repo.keys.id)).toBe(true);
  });

  it('uses the fast KDF at init when EBM_TEST_FAST_KDF=1', async () => {
    const saved = process.env.EBM_TEST_FAST_KDF;
    process.env.EBM_TEST_FAST_KDF = '1';
    try {
      const repo = await Repository.init(new LocalBackend(repoDir), 'pw');
      const key = JSON.parse(await fsp.readFile(path.join(repoDir, 'keys', repo.keyId), 'utf8'));
      expect(key.kdf).toMatchObject({ name: 'scrypt', N: 1024, r: 8, p: 1 });
    } finally {
      if (saved === undefined) delete process.env.EBM_TEST_FAST_KDF;
      else process.env.EBM_TEST_FAST_KDF = saved;
    }
  });
});

describe('Repository JSON files', () => {
  let backend: MemoryBackend;
  let repo: Repository;
  beforeAll(async () => {
    backend = new MemoryBackend();
    repo = await initTestRepository(backend);
  });

  it('round-trips a value; the id is the sha256 of the encrypted file, which hides the content', async () => {
    const value = { b: [1, 2, 3], a: 'hello '.repeat(100), nested: { z: null, y: true } };
    const id = await repo.saveJsonFile('index', value);
    const bytes = backend.peek({ type: 'index', name: id })!;
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(id);
    expect(bytes.includes(Buffer.from('hello'))).toBe(false);
    expect(bytes.length).toBeLessThan(300); // compressed before encryption
    expect(await repo.loadJsonFile('index', id)).toEqual(value);
    expect(await repo.listIds('index')).toContain(id);
  });

  it('a flipped byte gives E_CORRUPT_OBJECT naming the file', async () => {
    const id = await repo.saveJsonFile('index', { x: 1 });
    const bytes = backend.peek({ type: 'index', name: id })!;
    bytes[20] ^= 0x80;
    backend.poke({ type: 'index', name: id }, bytes);
    await expect(repo.loadJsonFile('index', id)).rejects.toMatchObject({ code: 'E_CORRUPT_OBJECT', message: expect.stringContaining(`index/${id}`) });
  });

  it('a file stored under its correct hash but sealed with another key fails authentication', async () => {
    const other = await initTestRepository(new MemoryBackend());
    const id = await other.saveJsonFile('snapshots', { foreign: true });
    backend.poke({ type: 'snapshots', name: id }, (other.backend as MemoryBackend).peek({ type: 'snapshots', name: id })!);
    await expect(repo.loadJsonFile('snapshots', id)).rejects.toMatchObject({ code: 'E_CORRUPT_OBJECT', message: expect.stringContaining('authentication failed') });
    await backend.remove({ type: 'snapshots', name: id });
  });

  it('resolves full ids and unique prefixes; reports ambiguous and missing ones', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push(await repo.saveJsonFile('snapshots', { i }));
    const id = ids[0]!;
    expect(await repo.resolveId('snapshots', id)).toBe(id);
    const unique = [...Array(64).keys()].map((n) => id.slice(0, n + 1)).find((p) => ids.filter((x) => x.startsWith(p)).length === 1)!;
    expect(await repo.resolveId('snapshots', unique)).toBe(id);
    const firstChars = ids.map((x) => x[0]!);
    const shared = firstChars.find((c, i) => firstChars.indexOf(c) !== i)!;
    await expect(repo.resolveId('snapshots', shared)).rejects.toMatchObject({ code: 'E_AMBIGUOUS_ID' });
    await expect(repo.resolveId('snapshots', 'not-hex')).rejects.toMatchObject({ code: 'E_SNAPSHOT_NOT_FOUND' });
    await expect(repo.resolveId('snapshots', '0'.repeat(64))).rejects.toMatchObject({ code: 'E_SNAPSHOT_NOT_FOUND' });
    await expect(repo.resolveId('index', 'nothing')).rejects.toMatchObject({ code: 'E_STORAGE_NOT_FOUND' });
  });
});
