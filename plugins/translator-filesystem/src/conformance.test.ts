import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { createPluginHostHarness } from '@ebm/core/testing';
import { fileEquality, TranslatorTester } from '@ebm/sdk/testing';
import type { TranslatorFixture } from '@ebm/sdk/testing';

/**
 * The filesystem translator under the plugin conformance harness, the same
 * one third-party plugins use: every case in-process and in a worker of
 * ebm's real plugin host, on ebm's real repository format (in memory).
 */
const packageDir = path.resolve(__dirname, '..');

/** Deterministic bytes (xorshift32): a fixture built twice is equal. */
function bytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

const at = (...parts: string[]) => path.join(...parts);

/** Files, nested and empty directories, a file spanning many chunks, symlinks, a hardlink pair, modes and exact times. */
const tree: TranslatorFixture = {
  name: 'tree',
  options: { xattrs: true },
  async build(dir) {
    await fsp.mkdir(at(dir, 'docs', 'deep'), { recursive: true });
    await fsp.mkdir(at(dir, 'empty-dir'));
    await fsp.writeFile(at(dir, 'docs', 'a.txt'), 'alpha\n');
    await fsp.writeFile(at(dir, 'docs', 'deep', 'b.txt'), 'beta\n');
    await fsp.writeFile(at(dir, 'big.bin'), bytes(600_000, 11));
    await fsp.writeFile(at(dir, 'empty'), '');
    await fsp.writeFile(at(dir, 'private'), 'secret\n', { mode: 0o600 });
    await fsp.chmod(at(dir, 'private'), 0o600);
    await fsp.symlink('docs/a.txt', at(dir, 'link'));
    await fsp.writeFile(at(dir, 'hl-1'), 'linked\n');
    await fsp.link(at(dir, 'hl-1'), at(dir, 'docs', 'hl-2'));
    execFileSync('touch', ['-h', '-d', '@1700000000.123456789', at(dir, 'docs', 'a.txt'), at(dir, 'docs', 'deep')]);
  },
  mutations: [
    { name: 'append to a small file', apply: (src) => fsp.appendFile(at(src, 'docs', 'a.txt'), 'more\n') },
    { name: 'add a file in a new directory', apply: async (src) => { await fsp.mkdir(at(src, 'new')); await fsp.writeFile(at(src, 'new', 'n.txt'), 'new\n'); } },
    { name: 'delete a directory', apply: (src) => fsp.rm(at(src, 'docs', 'deep'), { recursive: true }) },
    {
      name: 'rewrite the middle of the big file',
      apply: async (src) => {
        const fh = await fsp.open(at(src, 'big.bin'), 'r+');
        await fh.write(bytes(1000, 99), 0, 1000, 300_000).finally(() => fh.close());
      },
    },
    { name: 'change a mode only', apply: (src) => fsp.chmod(at(src, 'private'), 0o640) },
  ],
};

/** A single file as the source: the snapshot root holds one entry named after it. */
const singleFile: TranslatorFixture = {
  name: 'single file',
  async build(dir) {
    await fsp.writeFile(at(dir, 'data.bin'), bytes(400_000, 5));
    return at(dir, 'data.bin');
  },
  mutations: [
    // The only file changed, so it is read again: only its unchanged chunks are saved.
    { name: 'append to the file', readsLess: false, apply: (src) => fsp.appendFile(src, bytes(5000, 6)) },
  ],
};

/** Names that need care: spaces, unicode, a leading dash, a dot file. */
const names: TranslatorFixture = {
  name: 'awkward names',
  async build(dir) {
    for (const name of ['with space.txt', 'ünïcödé-名前.txt', '-leading-dash', '.hidden']) await fsp.writeFile(at(dir, name), `${name}\n`);
    await fsp.mkdir(at(dir, 'dir with space'));
    await fsp.writeFile(at(dir, 'dir with space', 'inner'), 'inner\n');
  },
};

new TranslatorTester({
  packageDir,
  fixtures: [tree, singleFile, names],
  equal: fileEquality({ mode: true, mtime: true, owner: true }),
  invalidSources: [
    { name: 'a dangling symlink as the source', expect: 'E_SOURCE_NOT_FOUND', build: async (dir) => { await fsp.symlink('nowhere', at(dir, 'dangling')); return at(dir, 'dangling'); } },
  ],
  host: () => createPluginHostHarness(),
}).run();
