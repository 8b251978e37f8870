import { existsSync, promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TranslatorTester } from '@ebm/sdk/testing';
import type { ConformanceCase, TranslatorFixture } from '@ebm/sdk/testing';
import { createPluginHostHarness, PluginHostHarness } from './index';
import { writeHarnessPlugin } from './harness-plugin.test-helper';

/**
 * The conformance harness with ebm's real plugin host (piscina workers, the
 * host's bootstrap) and a real repository on disk.
 */
const packageDir = writeHarnessPlugin();
afterAll(() => fsp.rm(packageDir, { recursive: true, force: true }));

const tree = (options: Record<string, string> = {}): TranslatorFixture => ({
  name: options.flaw ?? 'tree',
  options,
  async build(dir) {
    await fsp.mkdir(path.join(dir, 'sub'));
    await fsp.writeFile(path.join(dir, 'a.txt'), 'alpha\n');
    await fsp.writeFile(path.join(dir, 'sub', 'b.bin'), Buffer.alloc(200_000, 7));
    await fsp.writeFile(path.join(dir, 'sub', 'c.bin'), Buffer.alloc(150_000, 9));
  },
});

function casesOf(host: PluginHostHarness, fixture: TranslatorFixture, cancelMs = 2000): ConformanceCase[] {
  const cases: ConformanceCase[] = [];
  new TranslatorTester({
    packageDir,
    fixtures: [fixture],
    mutations: [{ name: 'append', apply: (src) => fsp.appendFile(path.join(src, 'a.txt'), 'more\n') }],
    host,
    timeouts: { cancelMs },
    describe: (_title, body) => body(),
    it: (name, body) => cases.push({ name, run: body }),
    afterAll: () => undefined, // each test closes its own host
  }).run();
  return cases;
}

async function results(cases: readonly ConformanceCase[], only?: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const c of cases) if (only === undefined || c.name === only) out[c.name] = await c.run().then(() => 'passed', (e: Error) => e.message);
  return out;
}

describe('createPluginHostHarness', () => {
  it('runs every case through the real plugin host on an on-disk repository, and removes the repositories when closed', async () => {
    const host = createPluginHostHarness({ repository: 'disk' });
    const loaded: string[] = [];
    host.events.on('plugin:loaded', (e) => loaded.push(e.pluginId));
    const before = new Set((await fsp.readdir(os.tmpdir())).filter((n) => n.startsWith('ebm-harness-repo-')));
    const cases = casesOf(host, tree());
    let repoDirs: string[] = [];
    try {
      const r = await results(cases);
      expect(r).toEqual(Object.fromEntries(cases.map((c) => [c.name, 'passed'])));
      expect(host.label).toBe('ebm plugin host, on-disk repository');
      expect(loaded).toEqual(['dir-of-files']); // one piscina pool served every worker run
      repoDirs = (await fsp.readdir(os.tmpdir())).filter((n) => n.startsWith('ebm-harness-repo-') && !before.has(n));
      expect(repoDirs.length).toBeGreaterThan(10);
      expect(existsSync(path.join(os.tmpdir(), repoDirs[0]!, 'config'))).toBe(true);
    } finally {
      await host.close();
    }
    expect(repoDirs.filter((d) => existsSync(path.join(os.tmpdir(), d)))).toEqual([]);
  });

  it('fails cancellation when the plugin ignores the cancel: the host terminates its worker after the grace period', async () => {
    const host = createPluginHostHarness({ hostConfig: { cancelGraceMs: 600 } });
    try {
      const r = await results(casesOf(host, tree({ flaw: 'ignores-cancel' }), 300), 'cancellation [ignores-cancel]');
      const message = r['cancellation [ignores-cancel]']!;
      // In this thread nothing can be terminated: the plugin's own delay decides whether it is late or a hang.
      expect(message).toMatch(/- in-process: the backup cancelled after message 1 \(of \d+; seed 1\) (took \d+ ms to stop after the cancel \(bound 300 ms\)|did not end within \d+ ms: a hang)/);
      expect(message).toMatch(/- worker \(ebm plugin host\): the backup cancelled after message 1 .* took \d+ ms to stop after the cancel \(bound 300 ms\): backup job conformance-\d+ was cancelled: the conformance harness cancelled after message 1; plugin dir-of-files did not stop within 600 ms, so its worker was terminated/);
    } finally {
      await host.close();
    }
  });

  it('sees a file a cancelled backup left open inside a plugin host worker', async () => {
    const host = createPluginHostHarness();
    try {
      const r = await results(casesOf(host, tree({ flaw: 'leaks-fd' })), 'cancellation [leaks-fd]');
      expect(r['cancellation [leaks-fd]']).toMatch(/- worker \(ebm plugin host\): the backup cancelled after message 1 .* left things behind: files still open: .*source/);
    } finally {
      await host.close();
    }
  });
});
