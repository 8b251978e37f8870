import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Backend } from '../backend/backend';
import { LocalBackend } from '../backend/local-backend';
import { MemoryBackend } from '../backend/memory-backend';
import { sha256Hex } from './backend-capabilities';
import { ChecksummingBackend, READ_BACK_CHUNK, VerificationFailure } from './checksumming-backend';
import { ChecksumMemoryBackend, FaultyBackend } from './fault-backend.test-support';
import { MoverCounters } from './mover-metrics';

/** How a saved large object (READ_BACK_CHUNK + 1000 bytes) is corrupted, and what the verification then says. */
const LARGE_OBJECT_CORRUPTIONS = [
  ['flip', 'stored bytes hash to'],
  ['append', `${READ_BACK_CHUNK + 1001} bytes stored, ${READ_BACK_CHUNK + 1000} sent`],
  ['truncate', `${READ_BACK_CHUNK + 999} bytes stored, ${READ_BACK_CHUNK + 1000} sent`],
] as const;

/**
 * Saves a large object through a ChecksummingBackend over `under` whose first
 * save stores it corrupted (`how`), checks that save is refused naming
 * `reason`, and hands back what each test goes on with.
 */
async function refusedCorruptLargeSave(under: Backend, how: (typeof LARGE_OBJECT_CORRUPTIONS)[number][0], reason: string) {
  const inner = new FaultyBackend(under).corruptSaves(1, () => true, how);
  const counters = new MoverCounters();
  const b = new ChecksummingBackend(inner, { counters });
  const data = randomBytes(READ_BACK_CHUNK + 1000);
  const name = sha256Hex(data);
  await expect(b.save({ type: 'data', name }, data)).rejects.toMatchObject({ code: 'E_STORAGE_IO', message: expect.stringContaining(reason) });
  return { inner, counters, b, data, name };
}

describe('ChecksummingBackend', () => {
  it('saves content-addressed files whose bytes hash to their name, and any name for locks and config', async () => {
    const store = new MemoryBackend();
    const b = new ChecksummingBackend(store);
    const parts = [randomBytes(3000), randomBytes(10), Buffer.alloc(0), randomBytes(700)];
    const name = sha256Hex(Buffer.concat(parts));
    await b.save({ type: 'data', name }, parts);
    await b.save({ type: 'locks', name: 'my-lock' }, Buffer.from('lock'));
    await b.save({ type: 'config', name: '' }, Buffer.from('{}'));
    expect(store.peek({ type: 'data', name })?.equals(Buffer.concat(parts))).toBe(true);
    expect(store.peek({ type: 'locks', name: 'my-lock' })?.toString()).toBe('lock');
  });

  it.each(['data', 'index', 'snapshots', 'keys'] as const)('refuses a %s file whose bytes do not hash to its name: nothing stays stored, not retryable', async (type) => {
    const store = new MemoryBackend();
    const b = new ChecksummingBackend(new FaultyBackend(store));
    const name = sha256Hex(Buffer.from('other bytes'));
    await expect(b.save({ type, name }, Buffer.from('these bytes'))).rejects.toMatchObject({
      code: 'E_INTERNAL',
      retryable: false,
      message: expect.stringContaining(`${type}/${name}`),
    });
    expect(store.peek({ type, name })).toBeUndefined();
  });

  it('without verification, refuses a misnamed hash-named file before sending anything', async () => {
    const inner = new FaultyBackend();
    const b = new ChecksummingBackend(inner, { verify: 'none' });
    const name = sha256Hex(Buffer.from('other bytes'));
    await expect(b.save({ type: 'data', name }, Buffer.from('these bytes'))).rejects.toMatchObject({ code: 'E_INTERNAL', retryable: false });
    expect(inner.calls.save).toBe(0);
  });

  it('detects a bit flipped on write by reading back, removes the bad object and fails retryably naming it', async () => {
    const store = new MemoryBackend();
    const inner = new FaultyBackend(store).corruptSaves(1);
    const counters = new MoverCounters();
    const failures: VerificationFailure[] = [];
    const b = new ChecksummingBackend(inner, { counters, onVerificationFailure: (f) => failures.push(f) });
    const data = randomBytes(5000);
    const name = sha256Hex(data);
    await expect(b.save({ type: 'data', name }, data)).rejects.toMatchObject({
      code: 'E_STORAGE_IO',
      retryable: true,
      op: 'verify',
      message: expect.stringContaining(`data/${name}`),
    });
    expect(store.peek({ type: 'data', name })).toBeUndefined();
    expect(counters.verificationFailures).toBe(1);
    expect(counters.bytesVerified).toBe(5000);
    expect(failures).toEqual([{ handle: { type: 'data', name }, expected: name, actual: expect.stringMatching(/^[0-9a-f]{64}$/), reason: expect.stringContaining('stored bytes hash to') }]);
    expect(failures[0]!.actual).not.toBe(name);
    // The same save, sent again over a path that no longer corrupts, is verified and kept.
    await b.save({ type: 'data', name }, data);
    expect(store.peek({ type: 'data', name })?.equals(data)).toBe(true);
  });

  it.each(LARGE_OBJECT_CORRUPTIONS)('reads a large object back in ranges and detects a %s', async (how, reason) => {
    const store = new MemoryBackend();
    const { inner, counters, b, data, name } = await refusedCorruptLargeSave(store, how, reason);
    expect(store.peek({ type: 'data', name })).toBeUndefined();
    await b.save({ type: 'data', name }, data);
    expect(store.peek({ type: 'data', name })?.equals(data)).toBe(true);
    expect(counters.verificationFailures).toBe(1);
    // Two ranged loads per verified copy: memory per verification stays at one chunk.
    expect(inner.calls.load).toBe(how === 'flip' ? 4 : 2);
    expect(inner.calls.stat).toBe(2);
  });

  describe('over a backend that reads into given buffers (a real directory)', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ebm-checksum-into-'));
    });
    afterEach(() => fsp.rm(dir, { recursive: true, force: true }));

    it.each(LARGE_OBJECT_CORRUPTIONS)('reads back into one reused buffer and still detects a %s', async (how, reason) => {
      const local = new LocalBackend(path.join(dir, 'repo'));
      await local.create();
      const { inner, counters, b, data, name } = await refusedCorruptLargeSave(local, how, reason);
      await expect(local.stat({ type: 'data', name })).rejects.toMatchObject({ code: 'E_STORAGE_NOT_FOUND' });
      await b.save({ type: 'data', name }, data);
      const other = randomBytes(READ_BACK_CHUNK * 2);
      await b.save({ type: 'data', name: sha256Hex(other) }, other);
      expect((await local.load({ type: 'data', name })).equals(data)).toBe(true);
      expect(counters.verificationFailures).toBe(1);
      expect(counters.bytesVerified).toBe((how === 'flip' ? 2 : 1) * data.length + other.length);
      // Every range went into the same buffer: verifying GiBs of packs allocates one chunk, not GiBs.
      expect(inner.loadIntoTargets.length).toBe((how === 'flip' ? 4 : 2) + 2);
      expect(new Set(inner.loadIntoTargets).size).toBe(1);
      expect(inner.loadIntoTargets[0]!.byteLength).toBe(READ_BACK_CHUNK);
    });

    it('reads a small object back whole, as before', async () => {
      const local = new LocalBackend(path.join(dir, 'repo'));
      await local.create();
      const inner = new FaultyBackend(local).corruptSaves(1);
      const b = new ChecksummingBackend(inner);
      await expect(b.save({ type: 'locks', name: 'l' }, Buffer.from('lock data'))).rejects.toMatchObject({ code: 'E_STORAGE_IO' });
      expect(inner.calls.load).toBe(1);
      expect(inner.loadIntoTargets).toEqual([]);
    });
  });

  it('detects an object that the backend acknowledged but did not keep', async () => {
    const inner = new FaultyBackend().dropSaves(1);
    const b = new ChecksummingBackend(inner);
    await expect(b.save({ type: 'locks', name: 'l1' }, Buffer.from('x'))).rejects.toMatchObject({
      code: 'E_STORAGE_IO',
      message: expect.stringContaining('missing when read back'),
    });
  });

  it("uses the backend's own checksum when asked, without reading the object back", async () => {
    const store = new ChecksumMemoryBackend();
    const inner = new FaultyBackend(store).corruptSaves(1);
    const b = new ChecksummingBackend(inner, { verify: 'backend-checksum' });
    expect(b.verification).toBe('backend-checksum');
    const data = randomBytes(2000);
    const name = sha256Hex(data);
    await expect(b.save({ type: 'index', name }, data)).rejects.toMatchObject({ code: 'E_STORAGE_IO', message: expect.stringContaining(`index/${name}`) });
    expect(store.peek({ type: 'index', name })).toBeUndefined();
    await b.save({ type: 'index', name }, data);
    expect(store.checksumCalls).toBe(2);
    expect(inner.calls.load).toBe(0);
  });

  it('falls back to reading back when the backend offers no checksum', async () => {
    const inner = new FaultyBackend(new MemoryBackend()).corruptSaves(1);
    const b = new ChecksummingBackend(inner, { verify: 'backend-checksum' });
    expect(b.verification).toBe('read-back');
    expect(typeof b.checksum).toBe('undefined');
    await expect(b.save({ type: 'locks', name: 'l' }, Buffer.from('lock data'))).rejects.toMatchObject({ code: 'E_STORAGE_IO' });
    expect(inner.calls.load).toBe(1);
  });

  it("with verify 'none' trusts the backend but still checks content names", async () => {
    const store = new MemoryBackend();
    const b = new ChecksummingBackend(new FaultyBackend(store).corruptSaves(1), { verify: 'none' });
    await b.save({ type: 'locks', name: 'l' }, Buffer.from('lock data'));
    expect(store.peek({ type: 'locks', name: 'l' })?.toString()).not.toBe('lock data');
    await expect(b.save({ type: 'snapshots', name: 'not-a-hash' }, Buffer.from('s'))).rejects.toMatchObject({ code: 'E_INTERNAL' });
  });

  it('rejects an unknown verify mode with a RangeError', () => {
    expect(() => new ChecksummingBackend(new MemoryBackend(), { verify: 'sometimes' as 'none' })).toThrow(RangeError);
  });
});
