'use strict';
// Test fixture: backs up a few in-memory entries (one derived from ctx.source,
// one large enough to span several chunks) and restores them as files.
const fs = require('node:fs/promises');
const path = require('node:path');
const { defineTranslator } = require('@ebm/sdk');
const { threadId } = require('node:worker_threads');

/** Deterministic pseudo-random bytes (xorshift32), so tests can recompute them. */
function fixtureBytes(length, seed) {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

function fixtureFiles(source) {
  return {
    'hello.txt': Buffer.from('hello from the ok fixture\n'),
    'docs/source.txt': Buffer.from(`source=${source}\n`),
    'docs/big.bin': fixtureBytes(3 * 1024 * 1024 + 17, 42),
  };
}

async function collect(iterable) {
  const parts = [];
  for await (const part of iterable) parts.push(Buffer.from(part));
  return Buffer.concat(parts);
}

const translator = defineTranslator({
  async backup(ctx) {
    const files = fixtureFiles(ctx.source);
    ctx.log.info('ok fixture: backup started', { source: ctx.source, thread: threadId });
    await ctx.tree.add('docs', { kind: 'dir', mode: 0o755 });
    let bytes = 0;
    for (const name of ['docs/big.bin', 'docs/source.txt', 'hello.txt']) {
      const stored = await ctx.tree.writeContent([files[name]]);
      await ctx.tree.add(name, { kind: 'file', mode: 0o644, size: stored.size, content: stored.content });
      bytes += stored.size;
      ctx.progress.update({ files: 1, bytes, currentPath: name });
    }
    ctx.warn({ path: 'docs/skipped', code: 'E_PERMISSION', message: 'ok fixture: pretend this file was unreadable' });
    return { meta: { fixture: 'ok' } };
  },

  async restore(ctx) {
    for await (const { path: rel, entry } of ctx.entries()) {
      const dest = path.join(ctx.target, rel);
      if (entry.kind === 'dir') {
        await fs.mkdir(dest, { recursive: true });
      } else if (entry.kind === 'file') {
        await fs.mkdir(path.dirname(dest), { recursive: true });
        await fs.writeFile(dest, await collect(ctx.readContent(entry)));
      }
    }
    return { meta: { fixture: 'ok' } };
  },
});
module.exports = { default: translator, fixtureFiles };
