import { computeBlobId } from '../chunker/blob-id';
import { decodeTree, encodeTree } from '../entry/tree-codec';
import { EbmError } from '../errors/ebm-error';
import type { BackupTaskResult, TaskResult } from '../protocol/messages';
import type { BackupContext } from '../translator/context';
import type { Translator } from '../translator/translator';
import { createMemoryRepository, MemoryRepository } from './memory-host';
import { flatten, memTranslator, MemNode, pseudoRandom, Restored } from './test-translators.test-helper';

const SMALL_CHUNKS = { minSize: 1024, avgSize: 4096, maxSize: 16384, normalization: 2 };

/** Comparable form of a restored map (jest's deep equality is slow on large buffers). */
function hexOf(restored: Restored): [string, string][] {
  const out: [string, string][] = [...restored].map(([path, v]) => [path, v === 'dir' ? 'dir' : Buffer.from(v).toString('hex')]);
  return out.sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

function backupOf(result: TaskResult): BackupTaskResult {
  if (!result.ok) throw EbmError.fromRecord(result.error);
  return result.result as BackupTaskResult;
}

function onlyBackup(backup: (ctx: BackupContext) => Promise<void>): Translator {
  return { backup, restore: async () => undefined };
}

const SOURCE: MemNode = {
  'readme.txt': Buffer.from('hello, world\n'),
  empty: new Uint8Array(0),
  docs: { 'big.bin': pseudoRandom(300_000, 1), nested: { deep: { 'x.txt': Buffer.from('x') } }, 'empty-dir': {} },
  zeta: { 'z.bin': pseudoRandom(50_000, 2) },
};

describe('runTask backup through the memory host', () => {
  let repo: MemoryRepository;
  beforeEach(() => {
    repo = createMemoryRepository({ chunker: SMALL_CHUNKS });
  });

  it('round-trips a tree: what is restored equals what was backed up', async () => {
    const backup = await repo.backup(memTranslator(SOURCE), { source: 'mem' });
    const result = backupOf(backup.result);
    expect(result.stats).toMatchObject({ files: 5, dirs: 5, others: 0, filesRead: 5, filesReused: 0, bytesTotal: 350_014, bytesRead: 350_014 });
    expect(result.meta).toEqual({ format: 'mem', version: 1 });
    expect(backup.stats.dataPuts).toBeGreaterThan(20); // 300 KB in ~4 KiB chunks
    expect(result.stats.bytesShipped).toBe(backup.stats.putBytes);

    const restored: Restored = new Map();
    const restore = await repo.restore(memTranslator({}, restored), { tree: result.tree, target: '/nowhere' });
    expect(restore.result).toMatchObject({ ok: true, result: { op: 'restore', files: 5, dirs: 5, bytes: 350_014 } });
    expect(hexOf(restored)).toEqual(hexOf(flatten(SOURCE)));
    expect([...restored.keys()]).toEqual(['docs', 'docs/big.bin', 'docs/empty-dir', 'docs/nested', 'docs/nested/deep', 'docs/nested/deep/x.txt', 'empty', 'readme.txt', 'zeta', 'zeta/z.bin']);
  });

  it('gives an empty backup the empty root tree', async () => {
    const backup = await repo.backup(onlyBackup(async () => undefined), { source: 'mem' });
    const emptyTree = computeBlobId(repo.idKey, encodeTree([]));
    expect(backupOf(backup.result).tree).toBe(emptyTree);
    expect(repo.has(emptyTree)).toBe(true);
  });

  it('records setRoot metadata and fills in subtree ids', async () => {
    const backup = await repo.backup(
      onlyBackup(async (ctx) => {
        ctx.tree.setRoot({ mode: 0o750, mtimeNs: '123' });
        await ctx.tree.add('d', { kind: 'dir' });
      }),
      { source: 'mem' },
    );
    const result = backupOf(backup.result);
    expect(result.root).toEqual({ mode: 0o750, mtimeNs: '123' });
    const root = decodeTree(repo.get(result.tree)!);
    expect(root.entries).toEqual([{ name: 'd', kind: 'dir', subtree: computeBlobId(repo.idKey, encodeTree([])), tally: { files: 0, dirs: 0, others: 0, bytes: 0 } }]);
  });

  it('records what each directory holds (its tally), and keeps an unchanged parent directory whole with reuseSubtree', async () => {
    const first = backupOf((await repo.backup(memTranslator(SOURCE), { source: 'mem' })).result);
    const root = decodeTree(repo.get(first.tree)!);
    // docs holds big.bin, nested/, nested/deep/, nested/deep/x.txt and empty-dir/
    expect(root.entries.find((e) => e.name === 'docs')!.tally).toEqual({ files: 2, dirs: 3, others: 0, bytes: 300_001 });

    // An incremental that keeps docs/ and zeta/ whole from the parent and adds the rest: same tree, same counts, nothing read or shipped for them.
    const second = await repo.backup(
      onlyBackup(async (ctx) => {
        for (const entry of (await ctx.previous!.list!('')) ?? []) {
          if (entry.kind === 'dir') expect(await ctx.tree.reuseSubtree!(entry.name, entry)).toBe(true);
          else {
            const { name, ...rest } = entry;
            await ctx.tree.add(name, rest);
          }
        }
        // An entry without a tally (a snapshot written before tallies) cannot be reused whole.
        const { tally: _t, ...old } = root.entries.find((e) => e.name === 'docs')!;
        expect(await ctx.tree.reuseSubtree!('later', { ...old, name: 'later' })).toBe(false);
      }),
      { source: 'mem', parentTree: first.tree },
    );
    const r2 = backupOf(second.result);
    expect(r2.tree).toBe(first.tree);
    expect(r2.stats).toMatchObject({ files: first.stats.files, dirs: first.stats.dirs, others: first.stats.others, bytesTotal: first.stats.bytesTotal, filesRead: 0, bytesRead: 0 });
    expect(second.stats.putBlobs).toBe(0);
  });

  it('sends no data for unchanged files in an incremental that reuses previous.lookup', async () => {
    const first = backupOf((await repo.backup(memTranslator(SOURCE, undefined, { reuse: true }), { source: 'mem' })).result);
    const blobsAfterFirst = repo.blobCount;

    const second = await repo.backup(memTranslator(SOURCE, undefined, { reuse: true }), { source: 'mem', parentTree: first.tree });
    const result = backupOf(second.result);
    expect(second.stats.putBlobs).toBe(0);
    expect(result.stats).toMatchObject({ filesRead: 0, filesReused: 5, bytesRead: 0, bytesTotal: 350_014, blobsShipped: 0 });
    expect(result.tree).toBe(first.tree);
    expect(repo.blobCount).toBe(blobsAfterFirst);

    // Change one small file: only its chunk and the trees on its path are new.
    const changed: MemNode = { ...SOURCE, zeta: { 'z.bin': Buffer.concat([pseudoRandom(50_000, 2), Buffer.from('!')]) } };
    const third = await repo.backup(memTranslator(changed, undefined, { reuse: true }), { source: 'mem', parentTree: first.tree });
    const r3 = backupOf(third.result);
    expect(r3.stats).toMatchObject({ filesRead: 1, filesReused: 4, bytesRead: 50_001 });
    expect(third.stats.dataPuts).toBeLessThanOrEqual(2);
    expect(third.stats.treePuts).toBe(2); // zeta and the root
  });

  it('ships duplicate content once', async () => {
    const data = pseudoRandom(100_000, 9);
    const source: MemNode = { a: data, b: Uint8Array.from(data), c: { d: Uint8Array.from(data) } };
    const backup = await repo.backup(memTranslator(source), { source: 'mem' });
    const result = backupOf(backup.result);
    const root = decodeTree(repo.get(result.tree)!);
    const contentA = root.entries.find((e) => e.name === 'a')!.content!;
    expect(root.entries.find((e) => e.name === 'b')!.content).toEqual(contentA);
    expect(backup.stats.dataPuts).toBe(new Set(contentA).size);
    expect(result.stats.bytesRead).toBe(300_000);
    const treeBytes = repo.get(result.tree)!.length + repo.get(root.entries.find((e) => e.name === 'c')!.subtree!)!.length;
    expect(result.stats.bytesShipped).toBe(100_000 + treeBytes); // the data once, plus the two trees
  });

  it('refuses an entry whose directory is not open with E_PROTOCOL explaining the depth-first rule', async () => {
    const backup = await repo.backup(
      onlyBackup(async (ctx) => {
        await ctx.tree.add('a', { kind: 'dir' });
        await ctx.tree.add('b', { kind: 'file', size: 0, content: [] });
        await ctx.tree.add('a/late', { kind: 'file', size: 0, content: [] });
      }),
      { source: 'mem' },
    );
    expect(backup.result.ok).toBe(false);
    const error = (backup.result as unknown as { error: EbmError }).error;
    expect(error).toMatchObject({ code: 'E_PROTOCOL', plugin: 'test', op: 'backup', subject: 'a/late' });
    expect(error.message).toMatch(/cannot add "a\/late": its directory "a" is not open.*depth-first/);
  });

  it.each([
    ['a duplicate path', async (ctx: BackupContext) => { await ctx.tree.add('x', { kind: 'fifo' }); await ctx.tree.add('x', { kind: 'fifo' }); }, 'E_PROTOCOL', /already added/],
    ['a child of a file', async (ctx: BackupContext) => { await ctx.tree.add('f', { kind: 'fifo' }); await ctx.tree.add('f/x', { kind: 'fifo' }); }, 'E_PROTOCOL', /not open/],
    ['a path with ..', async (ctx: BackupContext) => { await ctx.tree.add('a/../b', { kind: 'fifo' }); }, 'E_UNSAFE_PATH', /"\.\."/],
    ['an unknown kind', async (ctx: BackupContext) => { await ctx.tree.add('k', { kind: 'weird' as 'file' }); }, 'E_PROTOCOL', /unknown kind/],
    ['overlapping adds', async (ctx: BackupContext) => { await Promise.all([ctx.tree.add('p', { kind: 'fifo' }), ctx.tree.add('q', { kind: 'fifo' })]); }, 'E_PROTOCOL', /await each add/],
  ])('refuses %s', async (_name, backup, code, message) => {
    const outcome = await repo.backup(onlyBackup(backup), { source: 'mem' });
    expect(outcome.result).toMatchObject({ ok: false, error: { code, message: expect.stringMatching(message) } });
  });

  it('reports a plain Error from the plugin as E_PLUGIN_FAILED with its message and stack', async () => {
    const outcome = await repo.backup(
      onlyBackup(async () => {
        throw new Error('disk on fire');
      }),
      { source: 'mem' },
    );
    expect(outcome.result).toMatchObject({ ok: false, error: { code: 'E_PLUGIN_FAILED', message: 'disk on fire', plugin: 'test', op: 'backup', retryable: false } });
    expect((outcome.result as { error: { stack: string } }).error.stack).toMatch(/disk on fire/);
  });

  it('keeps the code of an EbmError the plugin throws', async () => {
    const outcome = await repo.backup(
      onlyBackup(async (ctx) => {
        throw new EbmError('E_SOURCE_NOT_FOUND', `source ${ctx.source} does not exist`, { subject: ctx.source });
      }),
      { source: '/no/such' },
    );
    expect(outcome.result).toEqual({
      ok: false,
      error: expect.objectContaining({ code: 'E_SOURCE_NOT_FOUND', message: 'source /no/such does not exist', subject: '/no/such', plugin: 'test', op: 'backup' }),
    });
  });

  it('freezes options: a plugin that mutates them fails with E_PLUGIN_FAILED', async () => {
    const outcome = await repo.backup(
      onlyBackup(async (ctx) => {
        (ctx.options as Record<string, unknown>).exclude = ['*'];
      }),
      { source: 'mem', options: { exclude: ['a'] } },
    );
    expect(outcome.result).toMatchObject({ ok: false, error: { code: 'E_PLUGIN_FAILED', message: expect.stringMatching(/read.only|not extensible|Cannot/) } });
  });

  it('stops promptly with E_CANCELLED when the host cancels mid-backup', async () => {
    let yielded = 0;
    const endless = async function* (): AsyncGenerator<Uint8Array> {
      for (let i = 0; ; i++) {
        yielded++;
        yield pseudoRandom(8192, i + 1);
      }
    };
    const started = Date.now();
    const outcome = await repo.backup(
      onlyBackup(async (ctx) => {
        await ctx.tree.writeContent(endless());
      }),
      { source: 'mem', cancelAfterMessages: 5 },
    );
    expect(outcome.result).toMatchObject({ ok: false, error: { code: 'E_CANCELLED', plugin: 'test', op: 'backup' } });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(yielded).toBeLessThan(1000);
  });

  it('closes a source handed to writeContent after the cancel (a stream would keep its file open otherwise)', async () => {
    const destroyed: string[] = [];
    let returned = false;
    // A stream-like source (iterable, with destroy()) and a plain async iterable whose iterator can be finished with return().
    const chunks = async function* (): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(10);
    };
    const streamLike = { destroy: () => destroyed.push('stream'), [Symbol.asyncIterator]: chunks };
    const iterable = {
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<Uint8Array>> => ({ done: false, value: new Uint8Array(10) }),
        return: async (): Promise<IteratorResult<Uint8Array>> => {
          returned = true;
          return { done: true, value: undefined };
        },
      }),
    };
    const outcome = await repo.backup(
      onlyBackup(async (ctx) => {
        ctx.log.info('waiting for the cancel');
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
        await ctx.tree.writeContent(streamLike).catch(() => undefined);
        await ctx.tree.writeContent(iterable).catch(() => undefined);
      }),
      { source: 'mem', cancelAfterMessages: 1 },
    );
    expect(outcome.result).toMatchObject({ ok: false, error: { code: 'E_CANCELLED' } });
    expect(destroyed).toEqual(['stream']);
    expect(returned).toBe(true);
  });

  it('reports E_CANCELLED even when the plugin ignores the signal and returns normally', async () => {
    const outcome = await repo.backup(
      onlyBackup(async (ctx) => {
        ctx.log.info('waiting');
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      }),
      { source: 'mem', cancelAfterMessages: 1 },
    );
    expect(outcome.result).toMatchObject({ ok: false, error: { code: 'E_CANCELLED' } });
  });

  it('never has more than windowBytes of unacknowledged put-blob data in flight', async () => {
    const windowBytes = 48 * 1024;
    const source: MemNode = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`f${i}`, pseudoRandom(40_000, 100 + i)]));
    const outcome = await repo.backup(memTranslator(source), { source: 'mem', windowBytes, ackDelayMs: 3 });
    const result = backupOf(outcome.result);
    expect(outcome.stats.maxUnackedBytes).toBeGreaterThan(16 * 1024); // several puts were in flight at once
    expect(outcome.stats.maxUnackedBytes).toBeLessThanOrEqual(windowBytes);
    expect(result.stats.bytesRead).toBe(480_000);
  });

  it('ships blobs as views of one shared ring, reused from blob to blob; a blob larger than the ring goes in a buffer of its own', async () => {
    const windowBytes = 64 * 1024; // a ring of 128 KiB, reused many times over for 1.2 MB of files
    const source: MemNode = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`f${i}`, pseudoRandom(40_000, 300 + i)]));
    const outcome = await repo.backup(memTranslator(source), { source: 'mem', windowBytes, ackDelayMs: 1 });
    backupOf(outcome.result);
    expect(outcome.stats.putBytes).toBeGreaterThan(1_200_000);
    expect(outcome.stats.sharedPutBytes).toBe(outcome.stats.putBytes);

    const huge = createMemoryRepository({ chunker: { minSize: 320 * 1024, avgSize: 512 * 1024, maxSize: 1024 * 1024, normalization: 2 } });
    const zeros = new Uint8Array(300_000); // below minSize: one chunk of 300 KB, more than a 2 × 64 KiB ring
    const hugeOutcome = await huge.backup(memTranslator({ zeros }), { source: 'mem', windowBytes });
    const result = backupOf(hugeOutcome.result);
    expect(hugeOutcome.stats.putBytes - hugeOutcome.stats.sharedPutBytes).toBe(300_000);
    const restored: Restored = new Map();
    await huge.restore(memTranslator({}, restored), { tree: result.tree, target: '/nowhere' });
    expect(hexOf(restored)).toEqual(hexOf(new Map([['zeros', zeros]])));
  });

  it('keeps the size and bytes of one-chunk files written concurrently while their chunks are shipped early (some spilled: the ring is full)', async () => {
    // Default chunk sizes: each 400 KB file is one chunk, shipped alone (transferred) as soon as its query is answered,
    // possibly while its own writeContent still awaits (it yields to the event loop every MiB).
    const big = createMemoryRepository();
    const files = Array.from({ length: 40 }, (_, i) => pseudoRandom(400_000, 500 + i));
    const outcome = await big.backup(
      onlyBackup(async (ctx) => {
        const stored = await Promise.all(files.map((data) => ctx.tree.writeContent([Buffer.from(data)])));
        for (const [i, s] of stored.entries()) await ctx.tree.add(`f${String(i).padStart(2, '0')}`, { kind: 'file', ...s });
      }),
      { source: 'mem', windowBytes: 4_000_000 },
    );
    const result = backupOf(outcome.result);
    expect(result.stats).toMatchObject({ files: 40, bytesTotal: 40 * 400_000, bytesRead: 40 * 400_000 });
    const root = decodeTree(big.get(result.tree)!);
    for (const [i, entry] of root.entries.entries()) {
      expect(entry.size).toBe(400_000);
      expect(Buffer.from(big.get(entry.content![0]!)!).equals(Buffer.from(files[i]!))).toBe(true);
    }
  });

  it('lets a source reuse its buffers: an array once writeContent returns, an iterator once the next piece is asked for', async () => {
    const files = Array.from({ length: 12 }, (_, i) => pseudoRandom(i % 2 === 0 ? 3_000 : 40_000, 900 + i)); // one chunk, and several
    const large = pseudoRandom(100_000, 999);
    const outcome = await repo.backup(
      onlyBackup(async (ctx) => {
        const scratch = Buffer.alloc(64 * 1024);
        const pending: Promise<{ size: number; content: readonly string[] }>[] = [];
        for (const data of files) {
          scratch.set(data);
          pending.push(ctx.tree.writeContent([scratch.subarray(0, data.length)]));
          scratch.fill(0xee); // overwritten while the write above is still in progress
        }
        const piece = Buffer.alloc(7_000);
        async function* reusingOnePiece(): AsyncGenerator<Uint8Array> {
          for (let at = 0; at < large.length; at += piece.length) {
            const n = Math.min(piece.length, large.length - at);
            piece.set(large.subarray(at, at + n));
            yield piece.subarray(0, n);
            piece.fill(0xdd); // the SDK asked for the next piece: this one is free again
          }
        }
        pending.push(ctx.tree.writeContent(reusingOnePiece()));
        const stored = await Promise.all(pending);
        for (const [i, s] of stored.entries()) await ctx.tree.add(`f${String(i).padStart(2, '0')}`, { kind: 'file', ...s });
      }),
      { source: 'mem' },
    );
    const result = backupOf(outcome.result);
    const restored: Restored = new Map();
    await repo.restore(memTranslator({}, restored), { tree: result.tree, target: '/nowhere' });
    const expected = new Map<string, Uint8Array>([...files, large].map((data, i) => [`f${String(i).padStart(2, '0')}`, data]));
    expect(hexOf(restored)).toEqual(hexOf(expected));
  });

  it('caps recorded warnings at 1000 and counts the rest; throttles progress', async () => {
    const outcome = await repo.backup(
      onlyBackup(async (ctx) => {
        for (let i = 0; i < 1005; i++) ctx.warn({ path: `p${i}`, code: 'E_PERMISSION', message: 'permission denied' });
        for (let i = 1; i <= 5000; i++) ctx.progress.update({ files: i, bytes: i * 10, currentPath: `p${i}` });
      }),
      { source: 'mem' },
    );
    const result = backupOf(outcome.result);
    expect(result.warnings).toHaveLength(1000);
    expect(result.warningsDropped).toBe(5);
    expect(outcome.events.warnings).toHaveLength(1005);
    expect(outcome.events.progress.length).toBeLessThanOrEqual(3);
    expect(outcome.events.progress.at(-1)).toEqual({ files: 5000, bytes: 50000, currentPath: 'p5000' });
  });

  it('returns results and errors that survive structuredClone unchanged', async () => {
    const ok = await repo.backup(memTranslator(SOURCE), { source: 'mem' });
    expect(structuredClone(ok.result)).toEqual(ok.result);
    const failed = await repo.backup(onlyBackup(async () => Promise.reject(new TypeError('bad'))), { source: 'mem' });
    expect(structuredClone(failed.result)).toEqual(failed.result);
    expect(failed.result.ok).toBe(false);
  });

  it('looks up entries of the parent snapshot', async () => {
    const first = backupOf((await repo.backup(memTranslator(SOURCE), { source: 'mem' })).result);
    const seen: unknown[] = [];
    await repo.backup(
      onlyBackup(async (ctx) => {
        seen.push((await ctx.previous!.lookup('docs/nested/deep/x.txt'))?.size);
        seen.push(await ctx.previous!.lookup('docs/missing'));
        seen.push(await ctx.previous!.lookup('readme.txt/below-a-file'));
        seen.push((await ctx.previous!.lookup('docs'))?.kind);
        seen.push(ctx.previous!.id);
      }),
      { source: 'mem', parentTree: first.tree },
    );
    expect(seen).toEqual([1, undefined, undefined, 'dir', 'parent-of-mem']);
  });
});
