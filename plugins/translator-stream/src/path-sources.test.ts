import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { decodeTree } from '@ebm/sdk';
import { randomBytesOf } from './testing/dump-fixture';
import { backupOk, failure, removeAll, restore, restoreOk, streamMeta, tempDir, testRepository } from './testing/harness';
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

  it('gives the same tree for the same file however often it is backed up: the run\'s times live in the snapshot\'s meta only', async () => {
    const file = path.join(work, 'same.bin');
    await fsp.writeFile(file, Buffer.concat([...randomBytesOf(22, 200_000)]));
    const repo = testRepository();
    const first = await backupOk(repo, { source: file, options: {} });
    await new Promise((resolve) => setTimeout(resolve, 5)); // a later start time
    const second = await backupOk(repo, { source: file, options: {} });
    expect(second.tree).toBe(first.tree);
    expect(streamMeta(second).startTime).not.toBe(streamMeta(first).startTime);
    const info = decodeTree(repo.get(first.tree)!).entries.find((e) => e.name === 'info')!;
    expect(Object.keys((info.meta as { stream: object }).stream)).not.toEqual(expect.arrayContaining(['startTime']));
    expect((info.meta as { stream: object }).stream).toMatchObject({ name: 'same.bin', bytes: 200_000, sha256: streamMeta(first).sha256 });
  });

  it('writes nothing, with a warning, when --include selects only the stream\'s description', async () => {
    const file = path.join(work, 'described.bin');
    await fsp.writeFile(file, Buffer.concat([...randomBytesOf(23, 100_000)]));
    const repo = testRepository();
    const backup = await backupOk(repo, { source: file, options: {} });
    const target = path.join(work, 'only-info');
    const outcome = await restore(repo, backup, { target, includes: ['info'] });
    expect(outcome.result.ok).toBe(true);
    expect(await fsp.readdir(target)).toEqual([]);
    expect(outcome.events.warnings).toEqual([expect.objectContaining({ path: 'described.bin', message: expect.stringMatching(/selects none of the stream's records/) })]);
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
