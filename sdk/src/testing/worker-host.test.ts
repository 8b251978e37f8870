import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EbmError } from '../errors/ebm-error';
import { defineTranslator } from '../translator/translator';
import type { PluginUnderTest } from './harness-host';
import { createWorkerHarnessHost } from './worker-host';

/**
 * A restore through the SDK's harness host receives, as ctx.snapshot, what
 * the backup of that tree returned (meta, root) — as ebm's restore does. A
 * translator that keeps its restore's facts in the snapshot's meta (the
 * stream translator does) could not pass the harness otherwise.
 */
describe('createWorkerHarnessHost', () => {
  it("gives a restore the snapshot meta of the backup that wrote the tree", async () => {
    const translator = defineTranslator({
      async backup(ctx) {
        await ctx.tree.add('x', { kind: 'dir' });
        return { meta: { marker: ctx.source } };
      },
      async restore(ctx) {
        if (ctx.snapshot.meta?.marker !== 'source-a') throw new EbmError('E_CORRUPT_OBJECT', `snapshot meta ${JSON.stringify(ctx.snapshot.meta)}`);
        return {};
      },
    });
    const plugin: PluginUnderTest = {
      manifest: { id: 'meta-reader', kind: 'translator', apiVersion: '^1.0.0', entry: 'index.js', capabilities: [] },
      packageName: 'meta-reader', version: '0.0.0', packageDir: '/nonexistent', entryPath: '/nonexistent/index.js', translator,
    };
    const host = createWorkerHarnessHost();
    const target = await fsp.mkdtemp(path.join(os.tmpdir(), 'ebm-harness-meta-'));
    try {
      const repo = await host.createRepository(plugin);
      const backup = await repo.backup({ source: 'source-a' }, 'in-process');
      if (!backup.result.ok || backup.result.result.op !== 'backup') throw new Error('the backup failed');
      const restored = await repo.restore({ tree: backup.result.result.tree, target }, 'in-process');
      expect(restored.result).toMatchObject({ ok: true });
    } finally {
      await host.close();
      await fsp.rm(target, { recursive: true, force: true });
    }
  });
});
