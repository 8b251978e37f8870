import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * A plugin package for the core harness host's tests, written to a
 * temporary directory at test time: it backs up a directory of files
 * (incremental by size, mtime, ctime and inode) and restores them. Its
 * `flaw` option breaks one rule on purpose: 'ignores-cancel' keeps working
 * for a while after a cancel, 'leaks-fd' keeps the source directory open
 * when a backup is cancelled.
 */
const SOURCE = `'use strict';
const fs = require('node:fs');
const fsp = fs.promises;
const path = require('node:path');
const { defineTranslator, EbmError, throwIfCancelled, resolveInside } = require(__SDK__);

/** Opened when iteration starts, closed however it ends: an eager stream would stay open if writeContent failed before reading it. */
async function* readFile(file) {
  const fh = await fsp.open(file, 'r');
  try {
    for (;;) {
      const buffer = Buffer.allocUnsafe(64 * 1024);
      const { bytesRead } = await fh.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

async function walk(ctx, rel, flaw) {
  for (const name of (await fsp.readdir(path.join(ctx.source, rel))).sort()) {
    if (flaw !== 'ignores-cancel') throwIfCancelled(ctx.signal);
    const r = rel === '' ? name : rel + '/' + name;
    const s = await fsp.lstat(path.join(ctx.source, r), { bigint: true });
    if (s.isDirectory()) {
      await ctx.tree.add(r, { kind: 'dir' });
      await walk(ctx, r, flaw);
    } else if (s.isFile()) {
      const stamp = [s.size, s.mtimeNs, s.ctimeNs, s.ino].join(':');
      const prev = ctx.previous ? await ctx.previous.lookup(r) : undefined;
      if (prev && prev.meta && prev.meta.stamp === stamp) {
        await ctx.tree.add(r, { kind: 'file', size: prev.size, content: prev.content, meta: { stamp } });
      } else {
        const stored = await ctx.tree.writeContent(readFile(path.join(ctx.source, r)));
        await ctx.tree.add(r, { kind: 'file', ...stored, meta: { stamp } });
      }
    }
  }
}

module.exports = defineTranslator({
  async backup(ctx) {
    const flaw = ctx.options.flaw;
    const st = await fsp.stat(ctx.source).catch(() => undefined);
    if (st === undefined) throw new EbmError('E_SOURCE_NOT_FOUND', 'backup source ' + ctx.source + ' does not exist');
    if (!st.isDirectory()) throw new EbmError('E_INVALID_SOURCE', 'backup source ' + ctx.source + ' is not a directory');
    const held = flaw === 'leaks-fd' ? fs.openSync(ctx.source, 'r') : undefined;
    try {
      await walk(ctx, '', flaw);
    } catch (err) {
      if (flaw === 'ignores-cancel' && ctx.signal.aborted) return new Promise((r) => setTimeout(r, 1500));
      throw err;
    }
    if (held !== undefined) fs.closeSync(held);
  },
  async restore(ctx) {
    for await (const { path: rel, entry } of ctx.entries()) {
      throwIfCancelled(ctx.signal);
      const abs = resolveInside(ctx.target, rel);
      if (entry.kind === 'dir') await fsp.mkdir(abs, { recursive: true });
      else if (entry.kind === 'file') {
        const fh = await fsp.open(abs, 'w');
        try {
          for await (const data of ctx.readContent(entry)) await fh.write(data);
        } finally {
          await fh.close();
        }
      }
    }
  },
});
`;

export function writeHarnessPlugin(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ebm-core-harness-plugin-'));
  const manifest = {
    id: 'dir-of-files',
    kind: 'translator',
    apiVersion: '^1.0.0',
    entry: 'index.js',
    capabilities: ['incremental', 'partial-restore'],
    options: [{ name: 'flaw', type: 'string', description: 'the rule to break (tests only)' }],
  };
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'harness-dir-of-files', version: '1.0.0', ebm: manifest }));
  writeFileSync(path.join(dir, 'index.js'), SOURCE.replace('__SDK__', JSON.stringify(require.resolve('@ebm/sdk'))));
  return dir;
}
