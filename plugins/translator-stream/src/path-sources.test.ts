import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { randomBytesOf } from './testing/dump-fixture';
import { backupOk, failure, removeAll, restoreOk, streamMeta, tempDir, testRepository } from './testing/harness';
import translator from './index';

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

describe('stream translator: a named pipe or a file as the source', () => {
  let work: string;
  beforeAll(async () => {
    work = await tempDir('paths');
  });
  afterAll(() => removeAll(work));

  it('reads a named pipe until its writer closes it (status unknown) and restores the bytes', async () => {
    const data = Buffer.concat([...randomBytesOf(21, 3 * 1024 * 1024 + 5)]);
    const file = path.join(work, 'data.bin');
    const fifo = path.join(work, 'pipe');
    await fsp.writeFile(file, data);
    execFileSync('mkfifo', [fifo]);
    const writer = spawn('dd', [`if=${file}`, `of=${fifo}`, 'bs=65536', 'status=none']);
    const written = new Promise((resolve) => writer.once('close', resolve));
    const repo = testRepository();
    const backup = await backupOk(repo, { source: fifo, options: {} });
    expect(await written).toBe(0);
    expect(streamMeta(backup)).toMatchObject({ name: 'pipe', source: { kind: 'fifo', path: fifo }, producer: { status: 'unknown' }, bytes: data.length, sha256: sha256(data) });
    const target = path.join(work, 'restored');
    await restoreOk(repo, backup, { target });
    expect(sha256(await fsp.readFile(path.join(target, 'pipe')))).toBe(sha256(data));
  });

  it('refuses a directory, a missing path and a name that is not one file name', async () => {
    const repo = testRepository();
    expect(failure(await repo.backup(translator, { source: work, options: {} })).code).toBe('E_INVALID_SOURCE');
    const missing = failure(await repo.backup(translator, { source: path.join(work, 'nope'), options: {} }));
    expect(missing.code).toBe('E_SOURCE_NOT_FOUND');
    expect(missing.message).toContain(path.join(work, 'nope'));
    await fsp.writeFile(path.join(work, 'x'), 'x');
    expect(failure(await repo.backup(translator, { source: path.join(work, 'x'), options: { name: '../evil' } })).code).toBe('E_USAGE');
    expect(failure(await repo.backup(translator, { source: path.join(work, 'x'), options: { 'chunk-size': 1000 } })).code).toBe('E_INVALID_OPTION');
  });
});
