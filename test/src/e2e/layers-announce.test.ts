import * as fs from 'node:fs';
import * as path from 'node:path';
import { ebm, ebmOk, summaryOf, tempDir } from '../helpers/cli';
import type { EbmOptions } from '../helpers/cli';
import { readManifest } from '../helpers/overlay-fixtures';

/**
 * A writable layer a provider announces during its discovery
 * (LayerDiscoverContext.announce) is read while the provider still works —
 * in the overlay provider, while it checks the base's identity — and its
 * snapshot is saved only once the report confirms it.
 *
 * A real plugin package (written below) does what a provider digesting a
 * large base would, made observable: it announces its upper layer, then does
 * not return its report until the repository holds a data pack (the upper's
 * content, since the base is read only after discovery), and records what
 * it saw. Without the overlap that wait would never end (it gives up after
 * 30 s and records it). Run through the real CLI, workers and repository.
 */
describe('layers announced before the discovery report', () => {
  let work: string;
  let repo: string;
  let env: EbmOptions;
  const dir = (name: string): string => path.join(work, name);

  beforeAll(async () => {
    work = tempDir('layers-announce');
    repo = dir('repo');
    writeAnnouncingProvider(dir('plugin'));
    for (const [layer, files] of Object.entries({ base: { 'etc/os-release': 'base os\n', 'usr/bin/tool': 'tool v1\n' }, upper: { 'home/ann/notes.txt': 'ann\'s notes\n', 'etc/motd': 'hello\n' } })) {
      for (const [rel, text] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(dir(`${layer}/${rel}`)), { recursive: true });
        fs.writeFileSync(dir(`${layer}/${rel}`), text);
      }
    }
    // The upper's own data must be large enough that nothing else fills a pack first.
    fs.writeFileSync(dir('upper/home/ann/photo.raw'), Buffer.alloc(3 << 20, 7));
    env = { env: { EBM_PLUGIN_PATH: dir('plugin') } };
    await ebmOk(['init', '-r', repo], env);
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  const backup = (mode: string, dataset: string) =>
    ebm(['backup', '-r', repo, '--provider', 'announcer', `${dir('base')}:${dir('upper')}`, '--dataset', dataset, '--mode', mode, '--seen-file', dir(`${dataset}.seen`), '--repo-dir', repo, '--json'], env);

  it('reads the announced upper layer while the provider is still discovering, and restores the endpoint equal to its layers', async () => {
    const run = await backup('honest', 'web1');
    expect(run.code).toBe(0);
    expect(fs.readFileSync(dir('web1.seen'), 'utf8')).toBe('data before report');
    const summary = summaryOf(run);
    expect((summary.layers as Array<{ id: string; action: string }>).map((l) => `${l.id} ${l.action}`)).toEqual(['base stored', 'upper stored']);

    await ebmOk(['restore', '-r', repo, summary.snapshot as string, '--target', dir('restored')], env);
    // The merged view: the upper's entries over the base's (no deletions here).
    const merged = { ...(await readManifest(dir('base'))), ...(await readManifest(dir('upper'))) };
    const restored = await readManifest(dir('restored'));
    for (const m of [restored, merged]) for (const e of Object.values(m)) delete (e as { xattrs?: string }).xattrs;
    expect(restored).toEqual(merged); // content (sha256), size, type, mode, owner and mtime of every entry
    await ebmOk(['check', '-r', repo, '--read-data'], env);
  });

  it('fails a backup whose report contradicts an announcement, and saves no snapshot of it', async () => {
    const before = await ebmOk(['snapshots', '-r', repo, '--json'], env);
    const run = await backup('contradicts', 'web2');
    expect(run.code).not.toBe(0);
    const error = (run.lines.find((l) => l.type === 'error') as { error?: { code?: string; message?: string } } | undefined)?.error;
    expect(error?.code).toBe('E_PLUGIN_FAILED');
    expect(error?.message).toMatch(/announced layer upper .* an announced layer must appear unchanged in the report/);
    const after = await ebmOk(['snapshots', '-r', repo, '--json'], env);
    expect(after.lines.filter((l) => l.op === 'snapshots')).toEqual(before.lines.filter((l) => l.op === 'snapshots'));
    await ebmOk(['check', '-r', repo], env);
  });

  it('stops the announced layer and saves nothing when the discovery fails after announcing', async () => {
    const before = await ebmOk(['snapshots', '-r', repo, '--json'], env);
    const run = await backup('fails', 'web3');
    expect(run.code).not.toBe(0);
    expect(run.lines.find((l) => l.type === 'error')).toMatchObject({ error: { code: 'E_SOURCE_NOT_FOUND', plugin: 'announcer' } });
    const after = await ebmOk(['snapshots', '-r', repo, '--json'], env);
    expect(after.lines.filter((l) => l.op === 'snapshots')).toEqual(before.lines.filter((l) => l.op === 'snapshots'));
  });
});

/**
 * The provider: source `BASE:UPPER`; layers base (immutable, a fixed digest)
 * and upper. Options: mode (honest | contradicts: reports the upper with
 * another name than announced | fails: E_SOURCE_NOT_FOUND after announcing),
 * seen-file (where it records whether the repository had data before it
 * answered), repo-dir.
 */
function writeAnnouncingProvider(pluginDir: string): void {
  fs.mkdirSync(pluginDir, { recursive: true });
  fs.writeFileSync(path.join(pluginDir, 'package.json'), JSON.stringify({
    name: 'ebm-fixture-announcer', version: '1.0.0', private: true, main: 'index.js',
    ebm: {
      id: 'announcer', kind: 'layer-provider', apiVersion: '^1.0.0', entry: 'index.js', capabilities: ['layers'],
      options: [
        { name: 'mode', type: 'string', description: 'honest, contradicts or fails' },
        { name: 'seen-file', type: 'string', description: 'where to record what the repository held' },
        { name: 'repo-dir', type: 'string', description: 'the repository directory to watch' },
      ],
    },
  }, null, 2));
  fs.writeFileSync(path.join(pluginDir, 'index.js'), `'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { defineLayerProvider, EbmError } = require(${JSON.stringify(require.resolve('@ebm/sdk'))});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const hasData = (repo) => { try { return fs.readdirSync(path.join(repo, 'data'), { recursive: true }).some((f) => /^[0-9a-f]{64}$/.test(path.basename(String(f)))); } catch { return false; } };
const count = (root) => { let files = 0, bytes = 0; for (const f of fs.readdirSync(root, { recursive: true })) { const st = fs.lstatSync(path.join(root, String(f))); if (!st.isDirectory()) { files++; bytes += st.size; } } return { files, bytes }; };
module.exports = defineLayerProvider({
  async discover(ctx) {
    const [base, upper] = ctx.source.split(':');
    const layers = [
      { id: 'base', kind: 'base', name: 'base image', order: 0, immutable: true, digest: 'sha256:' + 'a'.repeat(64), ...count(base), root: base },
      { id: 'upper', kind: 'upper', name: 'upper', order: 1, immutable: false, ...count(upper), root: upper },
    ];
    ctx.announce(layers[1]);
    if (ctx.options.mode === 'fails') throw new EbmError('E_SOURCE_NOT_FOUND', 'the base went away during discovery');
    let seen = 'no data after 30 s';
    for (const end = Date.now() + 30000; Date.now() < end; await sleep(20)) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      if (hasData(ctx.options['repo-dir'])) { seen = 'data before report'; break; }
    }
    fs.writeFileSync(ctx.options['seen-file'], seen);
    if (ctx.options.mode === 'contradicts') layers[1] = { ...layers[1], name: 'not what was announced' };
    return { contractVersion: 1, source: ctx.source, layout: 'overlayfs', layers };
  },
  async *files() {},
  async *changes() {},
});
`);
}
