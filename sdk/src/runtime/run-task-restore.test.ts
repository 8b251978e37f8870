import { computeBlobId } from '../chunker/blob-id';
import { canonicalJson, encodeTree } from '../entry/tree-codec';
import { EbmError } from '../errors/ebm-error';
import type { BackupTaskResult, TaskResult } from '../protocol/messages';
import type { RestoreItem } from '../translator/context';
import type { Translator } from '../translator/translator';
import { createMemoryRepository, MemoryRepository } from './memory-host';
import { memTranslator, MemNode, pseudoRandom, Restored } from './test-translators.test-helper';

const SOURCE: MemNode = {
  a: { b: { 'c.txt': Buffer.from('c'), d: { 'e.txt': Buffer.from('e') } }, 'other.txt': Buffer.from('o') },
  'a-sibling': { 'f.txt': Buffer.from('f') },
  'big.bin': pseudoRandom(120_000, 3),
};

function treeOf(result: TaskResult): string {
  if (!result.ok) throw EbmError.fromRecord(result.error);
  return (result.result as BackupTaskResult).tree;
}

describe('runTask restore through the memory host', () => {
  let repo: MemoryRepository;
  let tree: string;
  beforeAll(async () => {
    repo = createMemoryRepository({ chunker: { minSize: 1024, avgSize: 4096, maxSize: 16384 } });
    tree = treeOf((await repo.backup(memTranslator(SOURCE), { source: 'mem' })).result);
  });

  it('yields an included path, its ancestors and everything below it, depth-first', async () => {
    const restored: Restored = new Map();
    const outcome = await repo.restore(memTranslator({}, restored), { tree, target: '/t', includes: ['a/b/'] });
    expect(outcome.result.ok).toBe(true);
    expect([...restored.keys()]).toEqual(['a', 'a/b', 'a/b/c.txt', 'a/b/d', 'a/b/d/e.txt']);
    expect(restored.get('a/b/d/e.txt')).toEqual(Buffer.from('e'));
  });

  it('accepts several includes, including a single file', async () => {
    const restored: Restored = new Map();
    await repo.restore(memTranslator({}, restored), { tree, target: '/t', includes: ['big.bin', '/a-sibling/f.txt'] });
    expect([...restored.keys()]).toEqual(['a-sibling', 'a-sibling/f.txt', 'big.bin']);
    expect(Buffer.from(pseudoRandom(120_000, 3)).equals(restored.get('big.bin') as Buffer)).toBe(true);
  });

  it('fails with E_PATH_NOT_IN_SNAPSHOT naming an include that matches nothing, before yielding anything', async () => {
    const restored: Restored = new Map();
    const outcome = await repo.restore(memTranslator({}, restored), { tree, target: '/t', includes: ['a/b', 'a/nope', 'big.bin/x'] });
    expect(outcome.result).toMatchObject({
      ok: false,
      error: { code: 'E_PATH_NOT_IN_SNAPSHOT', op: 'restore', message: expect.stringContaining('"a/nope", "big.bin/x" not found') },
    });
    expect(restored.size).toBe(0);
  });

  it.each([[[]], [['a/b']], [['big.bin', 'a-sibling']]])('directories() yields the directories entries() yields, in its order, and counts nothing (includes %j)', async (includes) => {
    const walked: { directories: string[]; entryDirs: string[]; entryFiles: number } = { directories: [], entryDirs: [], entryFiles: 0 };
    const skeletonFirst: Translator = {
      backup: () => Promise.reject(new Error('not used')),
      async restore(ctx) {
        for await (const { path, entry } of ctx.directories!()) {
          expect(entry.kind).toBe('dir');
          walked.directories.push(path);
        }
        for await (const { path, entry } of ctx.entries()) {
          if (entry.kind === 'dir') walked.entryDirs.push(path);
          else walked.entryFiles++;
        }
      },
    };
    const outcome = await repo.restore(skeletonFirst, { tree, target: '/t', includes });
    expect(walked.directories.length).toBeGreaterThan(0);
    expect(walked.directories).toEqual(walked.entryDirs);
    // The task's result counts the walk of entries() once: the skeleton's walk adds nothing.
    expect(outcome.result).toMatchObject({ ok: true, result: { dirs: walked.entryDirs.length, files: walked.entryFiles } });
  });

  it('directories() fails with E_PATH_NOT_IN_SNAPSHOT for an include that matches nothing, as entries() does', async () => {
    const seen: string[] = [];
    const outcome = await repo.restore(
      { backup: () => Promise.reject(new Error('not used')), async restore(ctx) { for await (const { path } of ctx.directories!()) seen.push(path); } },
      { tree, target: '/t', includes: ['a/nope'] },
    );
    expect(outcome.result).toMatchObject({ ok: false, error: { code: 'E_PATH_NOT_IN_SNAPSHOT', message: expect.stringContaining('"a/nope"') } });
    expect(seen).toEqual([]);
  });

  it('refuses a hostile tree whose entry is named ".." with E_UNSAFE_PATH', async () => {
    const evil = Buffer.from('{"entries":[{"content":[],"kind":"file","name":"..","size":0}],"v":1}');
    const evilTree = repo.putBlob(evil, 'tree');
    const root = repo.putBlob(encodeTree([{ name: 'innocent', kind: 'dir', subtree: evilTree }]), 'tree');
    const restored: Restored = new Map();
    const outcome = await repo.restore(memTranslator({}, restored), { tree: root, target: '/t' });
    expect(outcome.result).toMatchObject({ ok: false, error: { code: 'E_UNSAFE_PATH', message: expect.stringContaining('".."') } });
    expect([...restored.keys()]).toEqual(['innocent']);
  });

  it('detects content that does not match the entry size (E_CORRUPT_OBJECT)', async () => {
    const blob = repo.putBlob(Buffer.from('short'), 'data');
    const root = repo.putBlob(Buffer.from(canonicalJson({ v: 1, entries: [{ name: 'f', kind: 'file', size: 10, content: [blob] }] })), 'tree');
    const outcome = await repo.restore(memTranslator({}), { tree: root, target: '/t' });
    expect(outcome.result).toMatchObject({ ok: false, error: { code: 'E_CORRUPT_OBJECT', message: expect.stringMatching(/5 bytes but its entry says 10/) } });
  });

  it('passes on the host\'s error for a missing blob (E_BLOB_NOT_FOUND)', async () => {
    const missing = computeBlobId(repo.idKey, Buffer.from('never stored'));
    const outcome = await repo.restore(memTranslator({}), { tree: missing, target: '/t' });
    expect(outcome.result).toMatchObject({ ok: false, error: { code: 'E_BLOB_NOT_FOUND', subject: missing, op: 'restore', plugin: 'test' } });
  });

  it('hands out frozen entries and snapshot info', async () => {
    const outcome = await repo.restore(
      {
        backup: async () => undefined,
        restore: async (ctx) => {
          expect(Object.isFrozen(ctx.snapshot)).toBe(true);
          for await (const item of ctx.entries()) (item.entry as { name: string }).name = 'renamed';
        },
      },
      { tree, target: '/t' },
    );
    expect(outcome.result).toMatchObject({ ok: false, error: { code: 'E_PLUGIN_FAILED', op: 'restore' } });
  });

  it('stops the walk with E_CANCELLED when the host cancels', async () => {
    const seen: RestoreItem[] = [];
    const outcome = await repo.restore(
      {
        backup: async () => undefined,
        restore: async (ctx) => {
          for await (const item of ctx.entries()) {
            seen.push(item);
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
        },
      },
      { tree, target: '/t', cancelAfterMessages: 2 },
    );
    expect(outcome.result).toMatchObject({ ok: false, error: { code: 'E_CANCELLED', op: 'restore' } });
    expect(seen.length).toBeLessThan(6);
  });

  it('lends the pieces of a plugin that borrows: each goes back when its loop moves on or ends, and a piece kept past that is overwritten', async () => {
    const kept: Uint8Array[] = [];
    const copies: Buffer[] = [];
    let otherFile: Buffer | undefined;
    const outcome = await repo.restore(
      {
        backup: async () => undefined,
        restore: async (ctx) => {
          for await (const { path, entry } of ctx.entries()) {
            if (path === 'big.bin') {
              for await (const piece of ctx.readContent(entry, { borrow: true })) {
                expect(piece.length).toBeGreaterThan(0);
                break; // leaves the loop early: the pieces read ahead go back too, as their replies arrive
              }
              for await (const piece of ctx.readContent(entry, { borrow: true })) {
                kept.push(piece); // breaks the contract on purpose: the test host overwrites given-back pieces
                copies.push(Buffer.from(piece));
              }
            } else if (path === 'a/other.txt') {
              const parts: Buffer[] = [];
              for await (const piece of ctx.readContent(entry, { borrow: true })) parts.push(Buffer.from(piece));
              otherFile = Buffer.concat(parts);
            }
          }
        },
      },
      { tree, target: '/t', includes: ['big.bin', 'a/other.txt'] },
    );
    expect(outcome.result.ok).toBe(true);
    expect(Buffer.concat(copies).equals(Buffer.from(pseudoRandom(120_000, 3)))).toBe(true);
    expect(otherFile).toEqual(Buffer.from('o'));
    expect(kept.length).toBeGreaterThan(5);
    // Every piece came on loan, and every loan was given back (also those read ahead of the early exit).
    expect(outcome.stats.lentBlobs).toBe(outcome.stats.loadBlobs);
    expect(outcome.stats.loanErrors).toBe(0);
    // What a plugin keeps past its turn is not what it was given.
    kept.forEach((piece, i) => expect(Buffer.from(piece).equals(copies[i]!)).toBe(false));
  });

  it('gives a plugin that does not borrow pieces of its own', async () => {
    const kept: Uint8Array[] = [];
    const outcome = await repo.restore(
      {
        backup: async () => undefined,
        restore: async (ctx) => {
          for await (const { path, entry } of ctx.entries()) {
            if (path === 'big.bin') for await (const piece of ctx.readContent(entry)) kept.push(piece);
          }
        },
      },
      { tree, target: '/t', includes: ['big.bin'] },
    );
    expect(outcome.result.ok).toBe(true);
    expect(outcome.stats.lentBlobs).toBe(0);
    expect(Buffer.concat(kept).equals(Buffer.from(pseudoRandom(120_000, 3)))).toBe(true);
  });

  it('reads large content with a bounded read-ahead', async () => {
    const big = pseudoRandom(600_000, 11);
    const local = createMemoryRepository({ chunker: { minSize: 1024, avgSize: 4096, maxSize: 16384 } });
    const root = treeOf((await local.backup(memTranslator({ big }), { source: 'mem' })).result);
    const restored: Restored = new Map();
    const outcome = await local.restore(memTranslator({}, restored), { tree: root, target: '/t' });
    expect(outcome.result).toMatchObject({ ok: true, result: { files: 1, bytes: 600_000 } });
    expect(Buffer.from(big).equals(restored.get('big') as Buffer)).toBe(true);
    expect(outcome.stats.loadBlobs).toBeGreaterThan(30);
  });
});
