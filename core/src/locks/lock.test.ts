import { spawn } from 'node:child_process';
import * as os from 'node:os';
import { MemoryBackend } from '../backend/memory-backend';
import type { Repository } from '../repository/repository';
import { initTestRepository } from '../repository/test-repository';
import { acquireLock, withLock } from './lock';
import { LockRecord, readLockFiles, writeLockFile } from './lock-file';
import { listLocks, removeStaleLocks } from './unlock';

function foreignLock(overrides: Partial<LockRecord>): LockRecord {
  return { v: 1, time: new Date().toISOString(), exclusive: false, host: 'other-host', pid: 4242, username: 'bob', operation: 'backup web', ...overrides };
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  const pid = child.pid!;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  return pid;
}

describe('repository locks', () => {
  let backend: MemoryBackend;
  let repo: Repository;
  beforeEach(async () => {
    backend = new MemoryBackend();
    repo = await initTestRepository(backend);
  });

  it('shared locks coexist, and release removes the lock file', async () => {
    const a = await acquireLock(repo, { exclusive: false, operation: 'backup a' });
    const b = await acquireLock(repo, { exclusive: false, operation: 'restore b' });
    const files = await readLockFiles(repo);
    expect(files.map((f) => f.id).sort()).toEqual([a.id, b.id].sort());
    const rec = files.find((f) => f.id === a.id)!;
    expect(rec).toMatchObject({ record: { v: 1, exclusive: false, host: os.hostname(), pid: process.pid, operation: 'backup a' } });
    await a.release();
    await a.release();
    await b.release();
    expect(await readLockFiles(repo)).toEqual([]);
  });

  it('lock files are encrypted', async () => {
    const lock = await acquireLock(repo, { exclusive: true, operation: 'prune secret-dataset' });
    expect(backend.peek({ type: 'locks', name: lock.id })!.includes(Buffer.from('secret-dataset'))).toBe(false);
    await lock.release();
  });

  it('an exclusive lock is refused while a shared one is held, naming the holder', async () => {
    await writeLockFile(repo, 'aaaa', foreignLock({ time: new Date(Date.now() - 4 * 60_000).toISOString() }));
    const err = await acquireLock(repo, { exclusive: true, operation: 'prune' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_REPOSITORY_LOCKED' });
    expect((err as Error).message).toMatch(/bob@other-host pid 4242 for "backup web".*4 min ago/);
    expect((await readLockFiles(repo)).map((f) => f.id)).toEqual(['aaaa']);
  });

  it('a shared lock is refused while an exclusive one is held', async () => {
    const prune = await acquireLock(repo, { exclusive: true, operation: 'prune' });
    await expect(acquireLock(repo, { exclusive: false, operation: 'backup' })).rejects.toMatchObject({
      code: 'E_REPOSITORY_LOCKED',
      message: expect.stringContaining(`pid ${process.pid} for "prune"`),
    });
    await expect(acquireLock(repo, { exclusive: true, operation: 'prune 2' })).rejects.toMatchObject({ code: 'E_REPOSITORY_LOCKED' });
    await prune.release();
    await withLock(repo, { exclusive: false, operation: 'backup' }, async (lock) => {
      expect((await readLockFiles(repo)).map((f) => f.id)).toEqual([lock.id]);
    });
    expect(await readLockFiles(repo)).toEqual([]);
  });

  it('two racing exclusive locks never both succeed, and the loser leaves no file', async () => {
    const results = await Promise.allSettled([acquireLock(repo, { exclusive: true, operation: 'one' }), acquireLock(repo, { exclusive: true, operation: 'two' })]);
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won.length).toBeLessThanOrEqual(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'E_REPOSITORY_LOCKED' });
    expect((await readLockFiles(repo)).length).toBe(won.length);
  });

  it('a lock of a dead process on this host is stale: ignored, and removed by removeStaleLocks', async () => {
    const pid = await deadPid();
    await writeLockFile(repo, 'dead', foreignLock({ host: os.hostname(), pid, exclusive: true }));
    await writeLockFile(repo, 'live', foreignLock({ host: os.hostname(), pid: process.pid }));
    const infos = await listLocks(repo);
    expect(infos.find((l) => l.id === 'dead')).toMatchObject({ stale: true, record: { pid } });
    expect(infos.find((l) => l.id === 'live')).toMatchObject({ stale: false });
    const shared = await acquireLock(repo, { exclusive: false, operation: 'backup' });
    await shared.release();
    expect(await removeStaleLocks(repo)).toBe(1);
    expect((await readLockFiles(repo)).map((f) => f.id)).toEqual(['live']);
  });

  it('a lock older than staleAfter is stale, whatever its host', async () => {
    await writeLockFile(repo, 'old', foreignLock({ exclusive: true, time: new Date(Date.now() - 31 * 60_000).toISOString() }));
    await writeLockFile(repo, 'recent', foreignLock({ time: new Date(Date.now() - 60_000).toISOString() }));
    const lock = await acquireLock(repo, { exclusive: false, operation: 'backup' });
    await lock.release();
    // With a shorter staleAfter even the one-minute-old lock is ignored by an exclusive locker.
    await (await acquireLock(repo, { exclusive: true, operation: 'x', staleAfterMs: 10_000 })).release();
    expect(await removeStaleLocks(repo)).toBe(1);
    expect((await readLockFiles(repo)).map((f) => f.id).sort()).toContain('recent');
  });

  it('an unreadable lock file blocks locking and is removed by unlock', async () => {
    backend.poke({ type: 'locks', name: 'garbage' }, Buffer.from('not an encrypted lock at all, definitely'));
    await expect(acquireLock(repo, { exclusive: false, operation: 'backup' })).rejects.toMatchObject({
      code: 'E_REPOSITORY_LOCKED',
      message: expect.stringMatching(/locks\/garbage cannot be read.*ebm unlock/),
    });
    expect(await listLocks(repo)).toEqual([expect.objectContaining({ id: 'garbage', stale: true, problem: expect.any(String) })]);
    expect(await removeStaleLocks(repo)).toBe(1);
    await (await acquireLock(repo, { exclusive: false, operation: 'backup' })).release();
  });

  it('removeStaleLocks({all}) removes live locks too', async () => {
    const mine = await acquireLock(repo, { exclusive: false, operation: 'a' });
    await writeLockFile(repo, 'other', foreignLock({}));
    expect(await removeStaleLocks(repo)).toBe(0);
    expect(await removeStaleLocks(repo, { all: true })).toBe(2);
    expect(await readLockFiles(repo)).toEqual([]);
    await mine.release();
  });

  it('refreshes the lock time in the background', async () => {
    const lock = await acquireLock(repo, { exclusive: false, operation: 'long backup', refreshMs: 30 });
    const timeOf = async (): Promise<number> => {
      const f = (await readLockFiles(repo)).find((x) => x.id === lock.id);
      return f && 'record' in f ? Date.parse(f.record.time) : NaN;
    };
    const first = await timeOf();
    await new Promise((r) => setTimeout(r, 120));
    expect(await timeOf()).toBeGreaterThan(first);
    await lock.release();
    await new Promise((r) => setTimeout(r, 80));
    expect(await readLockFiles(repo)).toEqual([]);
    expect(lock.refreshError).toBeUndefined();
  });
});
