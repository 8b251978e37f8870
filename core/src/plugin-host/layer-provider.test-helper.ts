import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LayerReport } from '@ebm/sdk';

/**
 * Writes a layer-provider plugin package (manifest and compiled JS entry) into
 * a new temporary directory, for plugin-host tests with real workers. Its
 * behaviour per job is chosen by `options.mode`; `options.batches` and
 * `options.everyMs` shape a normal stream. Layers: 'base' (0), 'upper' (1);
 * with the default 4 batches the report's counts are right, and with
 * `options.strict` a missing source is E_SOURCE_NOT_FOUND, so the provider
 * passes LayerProviderTester.
 */
export function writeLayerProviderPackage(id = 'test-layers'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ebm-layer-plugin-'));
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({
    name: `ebm-fixture-${id}`, version: '1.0.0', private: true, main: 'index.js',
    ebm: { id, kind: 'layer-provider', apiVersion: '^1.0.0', entry: 'index.js', capabilities: ['layers'] },
  }, null, 2));
  writeFileSync(path.join(dir, 'index.js'), `'use strict';
const { existsSync } = require('node:fs');
const { defineLayerProvider, EbmError } = require(${JSON.stringify(require.resolve('@ebm/sdk'))});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const report = (source) => (${JSON.stringify(TEST_LAYER_REPORT)});
async function* answer(ctx, what) {
  const mode = ctx.options.mode || 'ok';
  if (ctx.layer !== 'base' && ctx.layer !== 'upper') throw new EbmError('E_INVALID_SOURCE', 'no layer ' + ctx.layer);
  for (let i = 0; i < (ctx.options.batches || 4); i++) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (i === 1) {
      if (mode === 'throw') throw new Error('the provider exploded at b1');
      if (mode === 'hang') await new Promise(() => {});
      if (mode === 'spin') for (;;);
      // The batch before is in the host's queue already; the pause lets the host take it before it hears of the exit
      // (which of the two it handles first is otherwise up to the host's event loop: seen once on a loaded machine).
      if (mode === 'exit') { await sleep(100); process.exit(5); }
      if (mode === 'wait-for-cancel') await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
    }
    if (ctx.options.everyMs) await sleep(ctx.options.everyMs);
    const item = (p, type) => (what === 'files' ? { path: p, type, size: type === 'file' ? 2 : 0 } : { path: p, change: 'added', type });
    yield [item('b' + i, 'dir'), item('b' + i + '/f', 'file')];
  }
}
module.exports = defineLayerProvider({
  async discover(ctx) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (ctx.options.strict && !existsSync(ctx.source)) throw new EbmError('E_SOURCE_NOT_FOUND', ctx.source + ' does not exist');
    return report(ctx.source);
  },
  files: (ctx) => answer(ctx, 'files'),
  changes: (ctx) => answer(ctx, 'changes'),
});
`);
  return dir;
}

/** The report the test provider gives for every source. */
export const TEST_LAYER_REPORT: LayerReport = {
  contractVersion: 1, source: '/src', layout: 'layer-map',
  layers: [
    { id: 'base', kind: 'base', name: 'base', order: 0, immutable: true, digest: `sha256:${'b'.repeat(64)}`, bytes: 8, files: 4 },
    { id: 'upper', kind: 'upper', name: 'upper', order: 1, immutable: false, bytes: 8, files: 4 },
  ],
};
