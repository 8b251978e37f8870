import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeBackendConformance } from './backend-conformance';
import { LocalBackend } from './local-backend';
import { randomBytes } from 'node:crypto';
import { SpooledPackBody } from '../repository/pack-body';
import type { FileInfo } from './backend';

async function collect(files: AsyncIterable<FileInfo>): Promise<FileInfo[]> {
  const out: FileInfo[] = [];
  for await (const f of files) out.push(f);
  return out;
}

async function tempDir(): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), 'ebm-local-backend-'));
}

describeBackendConformance('LocalBackend', async () => {
  const dir = await tempDir();
  return { backend: new LocalBackend(path.join(dir, 'repo')), cleanup: () => fsp.rm(dir, { recursive: true, force: true }) };
});

describe('LocalBackend on disk', () => {
  let dir: string;
  let backend: LocalBackend;
  beforeEach(async () => {
    dir = await tempDir();
    backend = new LocalBackend(path.join(dir, 'repo'));
    await backend.create();
  });
  afterEach(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('uses the documented layout', async () => {
    const name = 'ab' + '0'.repeat(62);
    await backend.save({ type: 'data', name }, Buffer.from('pack'));
    await backend.save({ type: 'config', name: '' }, Buffer.from('{}'));
    await backend.save({ type: 'snapshots', name: 's1' }, Buffer.from('snap'));
    expect(await fsp.readFile(path.join(dir, 'repo', 'data', 'ab', name), 'utf8')).toBe('pack');
    expect(await fsp.readFile(path.join(dir, 'repo', 'config'), 'utf8')).toBe('{}');
    expect(await fsp.readFile(path.join(dir, 'repo', 'snapshots', 's1'), 'utf8')).toBe('snap');
    expect((await fsp.readdir(path.join(dir, 'repo'))).sort()).toEqual(['config', 'data', 'index', 'keys', 'locks', 'snapshots']);
  });

  it('moves a pack staged in its staging directory into place instead of copying it, and copies it once it was moved', async () => {
    expect(backend.stagingDirectory).toBe(path.join(dir, 'repo', 'data'));
    const body = new SpooledPackBody(backend.stagingDirectory, true);
    const bytes = randomBytes(3 * 1024 * 1024 + 5);
    body.append([bytes.subarray(0, 1000), bytes.subarray(1000)]);
    const [staged] = await fsp.readdir(backend.stagingDirectory);
    expect(staged).toMatch(/^\.tmp-pack-/);
    const inode = (await fsp.stat(path.join(backend.stagingDirectory, staged!))).ino;
    const name = 'cd' + '0'.repeat(62);
    await backend.save({ type: 'data', name }, body.contents);
    const target = path.join(dir, 'repo', 'data', 'cd', name);
    expect((await fsp.stat(target)).ino).toBe(inode); // renamed, not copied
    expect((await fsp.readFile(target)).equals(bytes)).toBe(true);
    expect(await fsp.readdir(backend.stagingDirectory)).toEqual(['cd']);
    expect(await collect(backend.list('data'))).toEqual([{ name, size: bytes.length }]);
    // Saved again (a retry after the stored file was found damaged and removed): copied from the open spool.
    await backend.remove({ type: 'data', name });
    await backend.save({ type: 'data', name }, body.contents);
    expect((await fsp.readFile(target)).equals(bytes)).toBe(true);
    await body.release();
    expect(await fsp.readdir(backend.stagingDirectory)).toEqual(['cd']);
  });

  it('removes a staged pack that was never saved when it is released', async () => {
    const body = new SpooledPackBody(backend.stagingDirectory, true);
    body.append([randomBytes(1000)]);
    await body.flushed();
    expect(await fsp.readdir(backend.stagingDirectory)).toHaveLength(1);
    await body.release();
    expect(await fsp.readdir(backend.stagingDirectory)).toEqual([]);
  });

  it('never lists a temporary file left by a crashed save', async () => {
    await backend.save({ type: 'index', name: 'real' }, Buffer.from('x'));
    await fsp.writeFile(path.join(dir, 'repo', 'index', '.tmp-0123456789abcdef'), 'half written');
    await fsp.mkdir(path.join(dir, 'repo', 'data', 'cd'), { recursive: true });
    await fsp.writeFile(path.join(dir, 'repo', 'data', 'cd', '.tmp-feedfacefeedface'), 'half a pack');
    const listed: string[] = [];
    for await (const f of backend.list('index')) listed.push(f.name);
    for await (const f of backend.list('data')) listed.push(f.name);
    expect(listed).toEqual(['real']);
  });

  it('refuses names that would escape their folder', async () => {
    await expect(backend.save({ type: 'index', name: '../config' }, Buffer.from('x'))).rejects.toMatchObject({ code: 'E_INTERNAL' });
    await expect(backend.load({ type: 'keys', name: '.tmp-x' })).rejects.toMatchObject({ code: 'E_INTERNAL' });
  });

  it('reports a short file as E_CORRUPT_OBJECT naming the path', async () => {
    await backend.save({ type: 'data', name: 'ee01' }, Buffer.alloc(10));
    await expect(backend.load({ type: 'data', name: 'ee01' }, 5, 10)).rejects.toMatchObject({
      code: 'E_CORRUPT_OBJECT',
      message: expect.stringContaining(path.join('data', 'ee', 'ee01')),
    });
  });

  it('reports an unwritable location as E_STORAGE_IO naming the path', async () => {
    const gone = new LocalBackend(path.join(dir, 'never-created'));
    await expect(gone.save({ type: 'index', name: 'i' }, Buffer.from('x'))).rejects.toMatchObject({
      code: 'E_STORAGE_IO',
      message: expect.stringContaining('never-created'),
    });
  });
});

describe('LocalBackend on a full disk (1 MiB tmpfs)', () => {
  let mountPoint: string;
  let backend: LocalBackend;
  beforeAll(async () => {
    mountPoint = await tempDir();
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint]);
    backend = new LocalBackend(path.join(mountPoint, 'repo'));
    await backend.create();
  });
  afterAll(async () => {
    await backend.close();
    execFileSync('umount', [mountPoint]);
    await fsp.rm(mountPoint, { recursive: true, force: true });
  });

  it('gives E_DISK_FULL, leaves no temporary file and keeps the previous files intact', async () => {
    const small = Buffer.alloc(100 * 1024, 1);
    await backend.save({ type: 'data', name: 'aa01' }, small);
    await backend.save({ type: 'index', name: 'i1' }, Buffer.from('index one'));
    // Overwriting an existing file with something too big must keep the old content.
    await expect(backend.save({ type: 'data', name: 'aa01' }, Buffer.alloc(2 * 1024 * 1024, 2))).rejects.toMatchObject({
      code: 'E_DISK_FULL',
      message: expect.stringContaining(path.join('data', 'aa', 'aa01')),
    });
    await expect(backend.save({ type: 'data', name: 'aa02' }, Buffer.alloc(2 * 1024 * 1024, 3))).rejects.toMatchObject({ code: 'E_DISK_FULL' });
    expect((await backend.load({ type: 'data', name: 'aa01' })).equals(small)).toBe(true);
    expect((await backend.load({ type: 'index', name: 'i1' })).toString()).toBe('index one');
    expect(await fsp.readdir(path.join(mountPoint, 'repo', 'data', 'aa'))).toEqual(['aa01']);
    // A pack spooled in place gets the same answer, naming the directory, and leaves nothing behind.
    const body = new SpooledPackBody(backend.stagingDirectory, true);
    body.append([Buffer.alloc(2 * 1024 * 1024, 4)]);
    await expect(backend.save({ type: 'data', name: 'aa04' }, body.contents)).rejects.toMatchObject({
      code: 'E_DISK_FULL',
      message: expect.stringContaining(`${backend.stagingDirectory} (ENOSPC): free space on the repository's disk`),
    });
    await body.release();
    expect((await fsp.readdir(backend.stagingDirectory)).sort()).toEqual(['aa']);
    // The space is free again: a small save works after the failures.
    await backend.save({ type: 'data', name: 'aa03' }, Buffer.from('fits'));
    expect((await backend.load({ type: 'data', name: 'aa03' })).toString()).toBe('fits');
  });
});
