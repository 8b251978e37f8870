import { execFileSync } from 'node:child_process';
import fs = require('node:fs');
import * as path from 'node:path';
import { decodeTree } from '@ebm/sdk';
import { backupOk, removeAll, tempDir, testRepository } from '../testing/harness';
import translator from '../index';

const fsp = fs.promises;

/** Wraps a synchronous fs function so `before(path)` runs just before the real call on matching paths. */
function intercept(name: 'lstatSync' | 'openSync', match: string, before: (p: string) => void): void {
  const original = fs[name] as (...a: unknown[]) => unknown;
  jest.spyOn(fs, name).mockImplementation(((file: fs.PathLike, ...rest: unknown[]) => {
    if (String(file).endsWith(match)) before(String(file));
    return original(file, ...rest);
  }) as never);
}

describe('backup robustness', () => {
  let work: string;
  let source: string;
  beforeEach(async () => {
    work = await tempDir('robust');
    source = path.join(work, 'src');
    await fsp.mkdir(source);
    await fsp.writeFile(path.join(source, 'stays.txt'), 'stays');
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await removeAll(work);
  });

  it('warns E_SOURCE_NOT_FOUND and goes on when a file vanishes between listing and lstat', async () => {
    await fsp.writeFile(path.join(source, 'vanish.txt'), 'gone soon');
    intercept('lstatSync', 'vanish.txt', (p) => fs.unlinkSync(p));
    const repo = testRepository();
    const backup = await backupOk(repo, { source });
    expect(backup.warnings).toEqual([expect.objectContaining({ path: 'vanish.txt', code: 'E_SOURCE_NOT_FOUND' })]);
    expect(decodeTree(repo.get(backup.tree)!).entries.map((e) => e.name)).toEqual(['stays.txt']);
  });

  it('warns E_SOURCE_NOT_FOUND when a file vanishes between lstat and open', async () => {
    await fsp.writeFile(path.join(source, 'vanish.txt'), 'gone soon');
    intercept('openSync', 'vanish.txt', (p) => fs.unlinkSync(p));
    const repo = testRepository();
    const backup = await backupOk(repo, { source });
    expect(backup.warnings).toEqual([expect.objectContaining({ path: 'vanish.txt', code: 'E_SOURCE_NOT_FOUND' })]);
    expect(decodeTree(repo.get(backup.tree)!).entries.map((e) => e.name)).toEqual(['stays.txt']);
  });

  it('stores what was read and warns E_SOURCE_CHANGED when a file changes while it is read', async () => {
    const log = path.join(source, 'growing.log');
    await fsp.writeFile(log, 'line 1\n');
    intercept('openSync', 'growing.log', (p) => fs.appendFileSync(p, 'line 2\n'));
    const repo = testRepository();
    const backup = await backupOk(repo, { source });
    expect(backup.warnings).toEqual([expect.objectContaining({ path: 'growing.log', code: 'E_SOURCE_CHANGED' })]);
    const entry = decodeTree(repo.get(backup.tree)!).entries.find((e) => e.name === 'growing.log')!;
    expect(entry.size).toBe(7);
    expect(Buffer.from(repo.get(entry.content![0]!)!).toString()).toBe('line 1\n');
  });

  it('does not hang on a FIFO and stores it as a fifo entry', async () => {
    execFileSync('mkfifo', [path.join(source, 'pipe')]);
    const repo = testRepository();
    const backup = await backupOk(repo, { source });
    expect(decodeTree(repo.get(backup.tree)!).entries.map((e) => [e.name, e.kind])).toEqual([
      ['pipe', 'fifo'],
      ['stays.txt', 'file'],
    ]);
  });

  it('stops with E_CANCELLED when the job is cancelled', async () => {
    for (let i = 0; i < 50; i++) await fsp.writeFile(path.join(source, `f${i}`), `file ${i}`);
    const outcome = await testRepository().backup(translator, { source, cancelAfterMessages: 2 });
    expect(outcome.result).toMatchObject({ ok: false, error: { code: 'E_CANCELLED' } });
  });
});
