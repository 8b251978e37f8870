'use strict';
// Test fixture: behaviour chosen per job by options.mode, so that a single
// worker pool can be made to fail in each way and must then still work.
const { defineTranslator, EbmError } = require('@ebm/sdk');

async function misbehave(ctx) {
  switch (ctx.options.mode) {
    case 'throw':
      throw new Error('flaky fixture threw on purpose');
    case 'exit':
      process.exit(3);
      break;
    case 'oom': {
      const kept = [];
      for (;;) kept.push(Array.from({ length: 10000 }, (_, i) => ({ i })));
    }
    case 'spin':
      for (;;);
    case 'hang':
      return new Promise(() => {});
    case 'wait-for-cancel':
      ctx.progress.update({ files: 0 });
      return new Promise((_, reject) => {
        ctx.signal.addEventListener('abort', () => reject(new EbmError('E_CANCELLED', 'flaky fixture stopped on request')), { once: true });
      });
    default:
      return undefined;
  }
}

module.exports = defineTranslator({
  async backup(ctx) {
    await misbehave(ctx);
    const stored = await ctx.tree.writeContent([Buffer.from('flaky but fine\n')]);
    await ctx.tree.add('fine.txt', { kind: 'file', mode: 0o644, size: stored.size, content: stored.content });
    return { meta: { mode: String(ctx.options.mode ?? 'ok') } };
  },
  async restore(ctx) {
    await misbehave(ctx);
  },
});
