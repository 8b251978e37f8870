import { createHash, randomBytes } from 'node:crypto';
import { Backend, ByteSource, FileInfo, FileType, Handle } from './backend';
import { readIntoFunction } from '../mover/backend-capabilities';

/** What a backend factory gives the conformance suite: a fresh, empty backend and a way to dispose of it. */
export interface BackendUnderTest {
  readonly backend: Backend;
  cleanup(): Promise<void>;
}

/**
 * The shared conformance suite every Backend runs (in its own test file, in
 * about five lines). Uses jest's global describe/it/expect. Each test gets a
 * fresh backend from `makeBackend` (already `create()`d by the suite) and
 * disposes of it afterwards.
 */
export function describeBackendConformance(name: string, makeBackend: () => Promise<BackendUnderTest>): void {
  describe(`Backend conformance: ${name}`, () => {
    let under: BackendUnderTest;
    let b: Backend;
    beforeEach(async () => {
      under = await makeBackend();
      b = under.backend;
      await b.create();
    });
    afterEach(async () => {
      await under.backend.close();
      await under.cleanup();
    });

    it('stays usable after close() (it only releases what it held open)', async () => {
      const data = randomBytes(5000);
      await b.save(h('data', 'cd34'), data);
      expect((await b.load(h('data', 'cd34'), 10, 20)).equals(data.subarray(10, 30))).toBe(true);
      await b.close();
      expect((await b.load(h('data', 'cd34'), 100, 5)).equals(data.subarray(100, 105))).toBe(true);
      await b.close();
    });

    const h = (type: FileType, fileName: string): Handle => ({ type, name: fileName });
    const names = async (type: FileType): Promise<string[]> => (await collect(b.list(type))).map((f) => f.name).sort();

    it('saves and loads a file byte for byte', async () => {
      const data = randomBytes(4096);
      await b.save(h('index', 'aa11'), data);
      expect((await b.load(h('index', 'aa11'))).equals(data)).toBe(true);
    });

    it('saves a list of parts as their concatenation, in order', async () => {
      const parts = [randomBytes(1000), Buffer.alloc(0), randomBytes(70000), randomBytes(3)];
      await b.save(h('data', 'ab12'), parts);
      expect((await b.load(h('data', 'ab12'))).equals(Buffer.concat(parts))).toBe(true);
      expect((await b.stat(h('data', 'ab12'))).size).toBe(71003);
      expect((await b.load(h('data', 'ab12'), 999, 3)).equals(Buffer.concat(parts).subarray(999, 1002))).toBe(true);
    });

    it('saves a ByteSource (a spooled pack) read in pieces, and the same source again', async () => {
      const whole = randomBytes(150_000);
      const source: ByteSource = {
        size: whole.length,
        async *pieces() {
          const reused = Buffer.alloc(64 * 1024); // each piece is valid only until the next is asked for
          for (let at = 0; at < whole.length; at += reused.length) {
            const n = Math.min(reused.length, whole.length - at);
            whole.copy(reused, 0, at, at + n);
            yield reused.subarray(0, n);
            reused.fill(0);
          }
        },
      };
      await b.save(h('data', 'ab12'), source);
      await b.save(h('data', 'cd34'), source);
      expect((await b.load(h('data', 'ab12'))).equals(whole)).toBe(true);
      expect((await b.load(h('data', 'cd34'))).equals(whole)).toBe(true);
    });

    it('loads ranges: offset+length, offset to end, empty range, and refuses ranges past the end', async () => {
      const data = Buffer.from('0123456789abcdef');
      await b.save(h('data', 'ab12'), data);
      expect((await b.load(h('data', 'ab12'), 3, 4)).toString()).toBe('3456');
      expect((await b.load(h('data', 'ab12'), 10)).toString()).toBe('abcdef');
      expect((await b.load(h('data', 'ab12'), 16)).length).toBe(0);
      expect((await b.load(h('data', 'ab12'), 5, 0)).length).toBe(0);
      await expect(b.load(h('data', 'ab12'), 10, 7)).rejects.toMatchObject({ code: 'E_CORRUPT_OBJECT' });
      await expect(b.load(h('data', 'ab12'), 100, 1)).rejects.toMatchObject({ code: 'E_CORRUPT_OBJECT' });
    });

    it('reads a range into a given buffer as load would, if it offers loadInto (ReadIntoCapable)', async () => {
      const into = readIntoFunction(b);
      if (into === undefined) {
        expect((b as { loadInto?: unknown }).loadInto).toBeUndefined();
        return;
      }
      const data = Buffer.from('0123456789abcdef');
      await b.save(h('data', 'ab12'), data);
      const target = Buffer.alloc(6, 0xff);
      await into(h('data', 'ab12'), 3, target.subarray(1, 5));
      expect(target.toString('latin1')).toBe('\xff3456\xff');
      await into(h('data', 'ab12'), 16, Buffer.alloc(0));
      await expect(into(h('data', 'ab12'), 10, Buffer.alloc(7))).rejects.toMatchObject({ code: 'E_CORRUPT_OBJECT' });
      await expect(into(h('data', 'beef'), 0, Buffer.alloc(1))).rejects.toMatchObject({ code: 'E_STORAGE_NOT_FOUND', message: expect.stringContaining('beef') });
    });

    it('overwrites a file of the same handle completely (longer, then shorter)', async () => {
      await b.save(h('locks', 'l1'), Buffer.from('first version'));
      await b.save(h('locks', 'l1'), Buffer.from('a much longer second version'));
      await b.save(h('locks', 'l1'), Buffer.from('3rd'));
      expect((await b.load(h('locks', 'l1'))).toString()).toBe('3rd');
      expect(await names('locks')).toEqual(['l1']);
    });

    it('stats the size of a file', async () => {
      await b.save(h('snapshots', 's1'), Buffer.alloc(1234, 7));
      expect(await b.stat(h('snapshots', 's1'))).toEqual({ name: 's1', size: 1234 });
    });

    it('treats config as the one config file whatever the name', async () => {
      await b.save({ type: 'config', name: '' }, Buffer.from('{"a":1}'));
      expect((await b.load({ type: 'config', name: 'anything' })).toString()).toBe('{"a":1}');
      expect((await b.stat({ type: 'config', name: '' })).size).toBe(7);
      expect((await collect(b.list('config'))).length).toBe(1);
    });

    it('lists exactly the files of each type, with sizes', async () => {
      const dataNames = ['00aa', '00bb', 'ff01', '7c' + 'e'.repeat(62)];
      for (const n of dataNames) await b.save(h('data', n), Buffer.from(n));
      await b.save(h('index', 'i1'), Buffer.from('index'));
      await b.save(h('keys', 'k1'), Buffer.from('key'));
      await b.save(h('snapshots', 's1'), Buffer.from('snap'));
      expect(await names('data')).toEqual([...dataNames].sort());
      expect(await names('index')).toEqual(['i1']);
      expect(await names('keys')).toEqual(['k1']);
      expect(await names('snapshots')).toEqual(['s1']);
      expect(await names('locks')).toEqual([]);
      const sizes = new Map((await collect(b.list('data'))).map((f) => [f.name, f.size]));
      expect(sizes.get('00aa')).toBe(4);
    });

    it('removes files idempotently', async () => {
      await b.save(h('data', 'cafe'), Buffer.from('x'));
      await b.remove(h('data', 'cafe'));
      await b.remove(h('data', 'cafe'));
      await b.remove(h('index', 'never-existed'));
      expect(await names('data')).toEqual([]);
      await expect(b.load(h('data', 'cafe'))).rejects.toMatchObject({ code: 'E_STORAGE_NOT_FOUND' });
    });

    it('reports missing files with E_STORAGE_NOT_FOUND naming the file', async () => {
      const missing = h('snapshots', 'deadbeef');
      await expect(b.load(missing)).rejects.toMatchObject({ code: 'E_STORAGE_NOT_FOUND', message: expect.stringContaining('deadbeef') });
      await expect(b.load(missing, 0, 1)).rejects.toMatchObject({ code: 'E_STORAGE_NOT_FOUND' });
      await expect(b.stat(missing)).rejects.toMatchObject({ code: 'E_STORAGE_NOT_FOUND', message: expect.stringContaining('deadbeef') });
      await expect(b.load({ type: 'config', name: '' })).rejects.toMatchObject({ code: 'E_STORAGE_NOT_FOUND' });
    });

    it('round-trips a 20 MiB file and reads a range deep inside it', async () => {
      const big = randomBytes(20 * 1024 * 1024);
      await b.save(h('data', 'b16b16'), big);
      const back = await b.load(h('data', 'b16b16'));
      expect(sha256(back)).toBe(sha256(big));
      expect((await b.load(h('data', 'b16b16'), 15_000_000, 1000)).equals(big.subarray(15_000_000, 15_001_000))).toBe(true);
      expect((await b.stat(h('data', 'b16b16'))).size).toBe(big.length);
    });

    it('is binary safe: every byte value, and empty files', async () => {
      const bytes = Buffer.from(Array.from({ length: 512 }, (_, i) => (i < 256 ? i : 511 - i)));
      await b.save(h('index', 'bin'), bytes);
      const back = await b.load(h('index', 'bin'));
      expect(back.length).toBe(512);
      expect(back.equals(bytes)).toBe(true);
      await b.save(h('index', 'empty'), new Uint8Array(0));
      expect((await b.load(h('index', 'empty'))).length).toBe(0);
      expect((await b.stat(h('index', 'empty'))).size).toBe(0);
    });

    it('does not share buffers with the caller', async () => {
      const data = Buffer.from('immutable');
      await b.save(h('index', 'copy'), data);
      data.fill(0);
      const first = await b.load(h('index', 'copy'));
      first.fill(0);
      expect((await b.load(h('index', 'copy'))).toString()).toBe('immutable');
    });

    it('is empty before create(), and not empty once it holds a file', async () => {
      const fresh = await makeBackend();
      try {
        expect(await fresh.backend.isEmpty()).toBe(true);
      } finally {
        await fresh.cleanup();
      }
      expect(typeof b.location).toBe('string');
      expect(b.location.length).toBeGreaterThan(0);
      await b.save(h('keys', 'k'), Buffer.from('k'));
      expect(await b.isEmpty()).toBe(false);
    });
  });
}

async function collect(items: AsyncIterable<FileInfo>): Promise<FileInfo[]> {
  const out: FileInfo[] = [];
  for await (const item of items) out.push(item);
  return out;
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
