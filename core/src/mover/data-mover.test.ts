import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Handle, SaveData } from '../backend/backend';
import { LocalBackend } from '../backend/local-backend';
import { SpooledPackBody } from '../repository/pack-body';
import { sha256Hex, stagingDirectory } from './backend-capabilities';
import { MemoryBackend } from '../backend/memory-backend';
import { createDataMover, DataMover } from './data-mover';
import { ChecksumMemoryBackend, FaultyBackend, names } from './fault-backend.test-support';
import type { RetryEvent } from './retrying-backend';

function pack(size = 10_000): { name: string; data: Buffer } {
  const data = randomBytes(size);
  return { name: sha256Hex(data), data };
}

describe('createDataMover', () => {
  it('survives transient write errors and a corrupted write: retried, verified, counted', async () => {
    const store = new MemoryBackend();
    const inner = new FaultyBackend(store).failNext('save', 2).corruptSaves(1);
    const retries: RetryEvent[] = [];
    const mover = createDataMover(inner, { retry: { attempts: 5, backoffMs: 1 }, onRetry: (e) => retries.push(e) });
    const p = pack();
    await mover.save({ type: 'data', name: p.name }, [p.data.subarray(0, 4000), p.data.subarray(4000)]);
    expect(store.peek({ type: 'data', name: p.name })?.equals(p.data)).toBe(true);
    expect(retries.map((r) => r.error.op)).toEqual(['save', 'save', 'verify']);
    expect(mover.metrics).toMatchObject({ objectsSaved: 1, bytesSaved: 10_000, retries: 3, verificationFailures: 1, failures: 0, bytesVerified: 20_000 });
    expect((await mover.load({ type: 'data', name: p.name }, 100, 50)).equals(p.data.subarray(100, 150))).toBe(true);
    expect(mover.metrics.bytesLoaded).toBe(50);
  });

  it('saves a pack built in place (moved, not copied) and, when the stored copy fails verification, saves it again from its spool', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ebm-mover-staged-'));
    try {
      let damageNext = true;
      class DamagingDisk extends LocalBackend {
        override async save(handle: Handle, data: SaveData): Promise<void> {
          await super.save(handle, data);
          if (!damageNext) return;
          damageNext = false; // another file came to stand under the name after the move (a new inode: the spool keeps the old one)
          const file = this.pathOf(handle);
          const bytes = await fsp.readFile(file);
          bytes[bytes.length >> 1]! ^= 1;
          await fsp.writeFile(`${file}.other`, bytes);
          await fsp.rename(`${file}.other`, file);
        }
      }
      const disk = new DamagingDisk(path.join(dir, 'repo'));
      await disk.create();
      const mover = createDataMover(disk, { retry: { attempts: 3, backoffMs: 1 } });
      expect(stagingDirectory(mover)).toBe(disk.stagingDirectory); // seen through every wrapper
      const body = new SpooledPackBody(disk.stagingDirectory, true);
      const data = randomBytes(200_000);
      body.append([data]);
      const name = sha256Hex(data);
      await mover.save({ type: 'data', name }, body.contents);
      await body.release();
      expect((await mover.load({ type: 'data', name })).equals(data)).toBe(true);
      expect(mover.metrics).toMatchObject({ objectsSaved: 1, verificationFailures: 1, retries: 1 });
      expect(await fsp.readdir(disk.stagingDirectory)).toEqual([name.slice(0, 2)]);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  it('fails after the retries are exhausted, naming the object and the attempts, and leaves no bad object', async () => {
    const store = new MemoryBackend();
    const inner = new FaultyBackend(store).corruptSaves(100);
    const mover = createDataMover(inner, { retry: { attempts: 3, backoffMs: 1 } });
    const p = pack();
    await expect(mover.save({ type: 'data', name: p.name }, p.data)).rejects.toMatchObject({
      code: 'E_STORAGE_IO',
      message: expect.stringMatching(new RegExp(`data/${p.name}: the stored object failed verification .* \\(gave up after 3 attempts\\)$`)),
    });
    expect(await names(store, 'data')).toEqual([]);
    expect(inner.calls.save).toBe(3);
    expect(mover.metrics).toMatchObject({ objectsSaved: 0, verificationFailures: 3, retries: 2, failures: 1 });
  });

  it('does not retry a full disk', async () => {
    const inner = new FaultyBackend().failNext('save', 1, 'E_DISK_FULL');
    const mover = createDataMover(inner, { retry: { attempts: 5, backoffMs: 1 } });
    const p = pack();
    await expect(mover.save({ type: 'data', name: p.name }, p.data)).rejects.toMatchObject({ code: 'E_DISK_FULL' });
    expect(inner.calls.save).toBe(1);
    expect(mover.metrics.retries).toBe(0);
  });

  it('keeps saves, read-backs and loads within its concurrency', async () => {
    const inner = new FaultyBackend();
    inner.delayMs = 3;
    const mover = createDataMover(inner, { concurrency: 2 });
    const packs = Array.from({ length: 12 }, () => pack(2000));
    await Promise.all(packs.map((p) => mover.save({ type: 'data', name: p.name }, p.data)));
    await Promise.all(packs.map((p) => mover.load({ type: 'data', name: p.name })));
    expect(inner.calls.load).toBe(24);
    expect(inner.maxActive).toBe(2);
    expect(mover.concurrency).toBe(2);
  });

  it("verifies through the backend's checksum when it offers one", async () => {
    const store = new ChecksumMemoryBackend();
    const inner = new FaultyBackend(store).corruptSaves(1);
    const mover = createDataMover(inner, { verify: 'backend-checksum', retry: { backoffMs: 1 } });
    expect(mover.verification).toBe('backend-checksum');
    const p = pack();
    await mover.save({ type: 'data', name: p.name }, p.data);
    expect(store.peek({ type: 'data', name: p.name })?.equals(p.data)).toBe(true);
    expect(inner.calls.load).toBe(0);
    expect(mover.metrics).toMatchObject({ verificationFailures: 1, bytesVerified: 0 });
  });

  it('refuses to wrap a data mover again', () => {
    const mover = createDataMover(new MemoryBackend());
    expect(mover).toBeInstanceOf(DataMover);
    expect(() => createDataMover(mover)).toThrow(TypeError);
  });
});
