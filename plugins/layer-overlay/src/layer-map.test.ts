import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LayerChange } from '@ebm/sdk';
import { mergedViewOf, readTree, viewDifferences } from '@ebm/sdk/testing';
import provider from './index';
import { compilePattern } from './layer-map/layer-map-config';
import { sameMtime } from './layer-map/base-image';
import { changesOf, ctx } from './testing/contexts';
import { buildMachine, MAP } from './testing/machine';

describe('declarative layer maps', () => {
  let tmp: string;
  let machine: { root: string; base: string };
  beforeAll(async () => {
    tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'ebm-layer-map-'));
    machine = await buildMachine(tmp);
  });
  afterAll(() => fsp.rm(tmp, { recursive: true, force: true }));

  it('compiles path patterns: ** spans components, * stays in one, plain paths cover their subtree', () => {
    expect(compilePattern('/usr/**').test('usr')).toBe(true);
    expect(compilePattern('/usr/**').test('usr/lib/x')).toBe(true);
    expect(compilePattern('/usr/**').test('usrx')).toBe(false);
    expect(compilePattern('/home/*/Downloads').test('home/ann/Downloads')).toBe(true);
    expect(compilePattern('/home/*/Downloads').test('home/ann/x/Downloads')).toBe(false);
    expect(compilePattern('/etc').test('etc/hosts')).toBe(true);
    expect(compilePattern('**/*.log').test('var/log/boot.log')).toBe(true);
  });

  it('assigns files to layers by pattern (unmatched ones to user-data) above an immutable base image', async () => {
    const report = await provider.discover(ctx(`layer-map:${machine.root}`, { map: MAP, base: machine.base }));
    expect(report.layout).toBe('layer-map');
    expect(report.layers.map((l) => [l.id, l.kind, l.immutable, l.files])).toEqual([
      ['base', 'base', true, 5], ['os', 'os', false, 3], ['apps', 'apps', false, 1], ['user-data', 'user-data', false, 3],
    ]);
    expect(report.layers[0]!.digest).toMatch(/^ebmtree\+sha256:/);
    const again = await provider.discover(ctx(`layer-map:${machine.root}`, { map: MAP, base: machine.base }));
    expect(again).toEqual(report);
  });

  it("reports each layer's changes against the base, and they rebuild the machine's tree", async () => {
    const source = `layer-map:${machine.root}`;
    const options = { map: MAP, base: machine.base };
    expect(await changesOf(source, 'os', options)).toEqual([
      { path: 'etc/hosts', change: 'modified', type: 'file' },
      { path: 'etc/old.conf', change: 'deleted' },
      { path: 'usr/bin/ls', change: 'modified', type: 'file' },
    ]);
    expect(await changesOf(source, 'apps', options)).toEqual([
      { path: 'opt/tool', change: 'added', type: 'dir' }, { path: 'opt/tool/bin', change: 'added', type: 'dir' }, { path: 'opt/tool/bin/tool', change: 'added', type: 'file' },
    ]);
    expect(await changesOf(source, 'user-data', options)).toEqual([
      { path: 'home/ann', change: 'added', type: 'dir' }, { path: 'home/ann/notes.txt', change: 'added', type: 'file' }, { path: 'var/log/app.log', change: 'added', type: 'file' },
    ]);
    const report = await provider.discover(ctx(source, options));
    const changes = new Map<string, LayerChange[]>();
    for (const l of report.layers) changes.set(l.id, await changesOf(source, l.id, options));
    expect(viewDifferences(await mergedViewOf(report, changes), await readTree(machine.root))).toEqual([]);
  });

  it('without a base, every file of a layer is added; a bad map is refused naming the field', async () => {
    const report = await provider.discover(ctx(machine.root, { map: MAP }));
    expect(report.layers.map((l) => l.id)).toEqual(['os', 'apps', 'user-data']);
    expect((await changesOf(machine.root, 'apps', { map: MAP })).every((c) => c.change === 'added')).toBe(true);
    await expect(provider.discover(ctx(machine.root, { map: '{"layers":[{"id":"os","kind":"kernel","patterns":[]}]}' })))
      .rejects.toMatchObject({ code: 'E_INVALID_SOURCE', message: expect.stringContaining('layers[0].kind') });
    await expect(provider.discover(ctx(machine.root, { map: '{not json' }))).rejects.toMatchObject({ code: 'E_INVALID_SOURCE' });
    await expect(provider.discover(ctx(`layer-map:${machine.root}`))).rejects.toMatchObject({ code: 'E_INVALID_SOURCE', message: expect.stringContaining('"map" option') });
  });

  it('a base listing (an earlier snapshot, as ebm writes it) gives the changes the base directory gives; a bad listing is refused naming its line', async () => {
    const source = `layer-map:${machine.root}`;
    // The machine's unchanged files carry the base's mtime to the microsecond, as a deployment by `ebm restore` leaves them.
    const seconds = (ns: bigint): number => Number(ns / 1_000_000_000n) + (Number((ns % 1_000_000_000n) / 1000n) + 0.5) / 1e6;
    for (const rel of ['usr/lib/libc.so', 'var/log/boot.log']) {
      const st = await fsp.lstat(path.join(machine.base, rel), { bigint: true });
      await fsp.utimes(path.join(machine.root, rel), seconds(st.atimeNs), seconds(st.mtimeNs));
    }
    const lines: string[] = [];
    const list = async (rel: string): Promise<void> => {
      for (const name of (await fsp.readdir(path.join(machine.base, rel))).sort()) {
        const p = rel === '' ? name : `${rel}/${name}`;
        const st = await fsp.lstat(path.join(machine.base, p), { bigint: true });
        const kind = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'symlink';
        lines.push(JSON.stringify({ path: p, kind, mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), size: Number(st.size), mtimeNs: st.mtimeNs.toString() }));
        if (kind === 'dir') await list(p);
      }
    };
    await list('');
    const listing = path.join(tmp, 'base.jsonl');
    await fsp.writeFile(listing, `${lines.join('\n')}\n`);

    const fromDir = { map: MAP, base: machine.base };
    const fromListing = { map: MAP, 'base-listing': listing, 'base-id': 'snapshot:test' };
    const report = await provider.discover(ctx(source, fromListing));
    expect(report.layers[0]).toMatchObject({ id: 'base', immutable: true, digest: 'snapshot:test', files: 5 });
    expect(report.layers[0]!.root).toBeUndefined();
    for (const id of ['os', 'apps', 'user-data']) expect(await changesOf(source, id, fromListing)).toEqual(await changesOf(source, id, fromDir));
    expect((await changesOf(source, 'os', fromListing)).map((c) => c.path)).toEqual(['etc/hosts', 'etc/old.conf', 'usr/bin/ls']);

    await fsp.writeFile(listing, `${lines[0]}\n{"kind":"file"}\n`);
    await expect(provider.discover(ctx(source, fromListing))).rejects.toMatchObject({ code: 'E_INVALID_SOURCE', message: expect.stringContaining('line 2') });
    await expect(provider.discover(ctx(source, { ...fromDir, 'base-listing': listing }))).rejects.toMatchObject({ code: 'E_INVALID_SOURCE', message: expect.stringContaining('one base') });
  });

  it('a file with the base\'s bytes but a new mtime is modified (stored again, restored with its own mtime); copies of the time cut to us, ms or s still match', async () => {
    const source = `layer-map:${machine.root}`;
    const options = { map: MAP, base: machine.base };
    const libc = path.join(machine.root, 'usr/lib/libc.so');
    const before = await fsp.lstat(libc);
    try {
      await fsp.utimes(libc, new Date(), new Date(Date.now() + 60_000));
      expect((await changesOf(source, 'os', options)).map((c) => `${c.change} ${c.path}`)).toContain('modified usr/lib/libc.so');
    } finally {
      await fsp.utimes(libc, before.atime, before.mtime);
    }
    const ns = 1_700_000_000_123_456_789n;
    expect(sameMtime(ns, ns)).toBe(true);
    expect(sameMtime(1_700_000_000_123_456_000n, ns)).toBe(true); // microseconds, truncated (ebm restore, utimes)
    expect(sameMtime(1_700_000_000_123_000_000n, ns)).toBe(true); // milliseconds, truncated
    expect(sameMtime(1_700_000_000_124_000_000n, 1_700_000_000_123_656_789n)).toBe(true); // milliseconds, rounded (fs.cp)
    expect(sameMtime(1_700_000_000_000_000_000n, ns)).toBe(true); // whole seconds
    expect(sameMtime(1_700_000_000_125_000_000n, ns)).toBe(false); // two milliseconds later: another time
    expect(sameMtime(1_700_000_000_123_456_790n, ns)).toBe(false); // one nanosecond off, at full precision
  });
});
