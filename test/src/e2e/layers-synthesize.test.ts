import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { getAttributeSync } from '@napi-rs/xattr';
import { ebm, ebmOk, summaryOf, tempDir } from '../helpers/cli';
import type { EbmRun } from '../helpers/cli';
import { buildBase, changeThroughMount, mountOverlay, readManifest, unmount, writeTree } from '../helpers/overlay-fixtures';

/**
 * The tree algebra of layered endpoints through the real CLI, on real
 * overlayfs mounts (as root): a named base in two (then three) versions, the
 * second stored as the first plus a delta; an endpoint on the first version;
 * `ebm synthesize` (a synthetic full restores equal to the merged mount; a
 * delta chain collapsed into one delta), `ebm rebase` (flattened restores
 * equal before and after, the rebased top layer mounts on the new base as
 * the same tree, the next backup is incremental against it), and forget/prune
 * keeping the old base exactly as long as something names it.
 */
interface LayerLine { id: string; action: string; snapshot: string; parent?: string; deltaOf?: string; bytesAdded: number; bytesRead: number }
const layer = (run: EbmRun, id: string): LayerLine => (summaryOf(run).layers as LayerLine[]).find((l) => l.id === id)!;
interface Listed { id: string; dataset: string; tags: string[]; meta?: { layered?: unknown } }

describe('synthesize and rebase layered endpoints', () => {
  let work: string;
  let repo: string;
  const dir = (name: string): string => path.join(work, name);
  const mounted: string[] = [];
  const mount = (name: string, lower: string, upper: string): string => {
    const target = dir(name);
    fs.mkdirSync(target, { recursive: true });
    fs.mkdirSync(`${target}.work`, { recursive: true });
    mountOverlay(target, [lower], upper, `${target}.work`);
    mounted.push(target);
    return target;
  };
  const umount = (target: string): void => {
    unmount(target);
    mounted.splice(mounted.indexOf(target), 1);
  };
  const listed = async (): Promise<Listed[]> => (await ebmOk(['snapshots', '-r', repo, '--json'])).lines.filter((l) => l.op === 'snapshots').map((l) => l.snapshot as Listed);
  const restoreManifest = async (snapshot: string, name: string, extra: string[] = []): Promise<Awaited<ReturnType<typeof readManifest>>> => {
    await ebmOk(['restore', '-r', repo, snapshot, '--target', dir(name), ...extra]);
    return readManifest(dir(name), true);
  };
  const backup = (lower: string, upper: string | undefined, dataset: string, more: string[] = []): Promise<EbmRun> =>
    ebmOk(['backup', '-r', repo, '--provider', 'overlay', '--lower', dir(lower), ...(upper ? ['--upper', dir(upper)] : []), '--dataset', dataset, ...more, '--json']);

  let v1: string; // base version 1 (ordinary layer snapshot)
  let v2: string; // base version 2: layered [v1, delta]
  let ep1: string; // endpoint on v1
  let ep1Merged: Awaited<ReturnType<typeof readManifest>>;
  let syntheticFull: string;
  let rebased: string;
  let rebasedLayer: string;
  let v3: string;

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('these tests need root (overlay mounts, whiteout devices, trusted.* xattrs); CI runs as root');
    work = tempDir('layers-synth');
    repo = dir('repo');
    fs.mkdirSync(dir('base-v1'));
    fs.mkdirSync(dir('upper1'));
    await buildBase(dir('base-v1'));
    // Version 2: the same image updated (times of unchanged files kept, as a package update keeps them).
    execFileSync('cp', ['-a', dir('base-v1'), dir('base-v2')]);
    await writeTree(dir('base-v2'), { 'etc/app.conf': 'v=2\n', 'usr/lib/libnew.so': randomBytes(300_000), 'etc/hosts': '127.0.0.1 localhost v2\n' });
    fs.rmSync(dir('base-v2/var/cache/c2'));
    fs.rmSync(dir('base-v2/usr/bin/tool'));
    const m1 = mount('m1', dir('base-v1'), dir('upper1'));
    await changeThroughMount(m1, 'ep1', 150_000);
    ep1Merged = await readManifest(m1, true);
    umount(m1);
    await ebmOk(['init', '-r', repo, '--encryption', 'none']);
  });
  afterAll(() => {
    for (const m of [...mounted]) unmount(m);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('stores a named base\'s second version as the first plus a delta of what changed; it restores equal to the new version', async () => {
    const first = await backup('base-v1', undefined, 'os', ['--base-name', 'os']);
    expect(layer(first, 'lower-0')).toMatchObject({ action: 'stored' });
    expect(layer(first, 'lower-0').deltaOf).toBeUndefined();
    v1 = layer(first, 'lower-0').snapshot;
    const endpoint = await backup('base-v1', 'upper1', 'ep1');
    expect(layer(endpoint, 'lower-0')).toMatchObject({ action: 'referenced', snapshot: v1 });
    ep1 = summaryOf(endpoint).snapshot as string;

    const second = await backup('base-v2', undefined, 'os', ['--base-name', 'os']);
    const l = layer(second, 'lower-0');
    expect(l).toMatchObject({ action: 'stored', deltaOf: v1 });
    v2 = l.snapshot;
    expect(l.bytesRead).toBeGreaterThan(2 * 1024 * 1024); // the new version is read once ...
    expect(l.bytesAdded).toBeLessThan(300_000 + 128 * 1024); // ... but only the new library's bytes (and trees) are added

    const all = await listed();
    expect(all.find((s) => s.id === v2)!.tags).toEqual(expect.arrayContaining(['base', 'layer', 'base-name:os']));
    expect(all.filter((s) => s.dataset === all.find((x) => x.id === v2)!.dataset)).toHaveLength(1); // the scan's own snapshot is gone
    expect((await ebmOk(['ls', '-r', repo, v2])).stdout).toMatch(/^layer 0 previous \(base, immutable ebmtree\+sha256:[0-9a-f]{64}\): snapshot [0-9a-f]{8}\nlayer 1 delta \(base, immutable \): snapshot [0-9a-f]{8}\n$/);
    const delta = all.find((s) => s.dataset.endsWith('#delta'))!;
    const entries = (await ebmOk(['ls', '-r', repo, delta.id, '-R'])).stdout.split('\n').filter((p) => p !== '');
    // Only what changed (unchanged files kept their times through cp -a), with overlay's marks:
    // c2 whited out, usr/bin (which lost its only file) opaque.
    expect(entries).toEqual(['etc/', 'etc/app.conf', 'etc/hosts', 'usr/', 'usr/bin/', 'usr/lib/', 'usr/lib/libnew.so', 'var/', 'var/cache/', 'var/cache/c2']);
    await ebmOk(['restore', '-r', repo, delta.id, '--target', dir('delta')]);
    const c2 = fs.lstatSync(dir('delta/var/cache/c2'));
    expect(c2.isCharacterDevice() && c2.rdev === 0).toBe(true);
    expect(getAttributeSync(dir('delta/usr/bin'), 'trusted.overlay.opaque')?.toString()).toBe('y');

    expect(await restoreManifest(v2, 'v2-flat')).toEqual(await readManifest(dir('base-v2'), true));
    expect(await restoreManifest(v1, 'v1-flat')).toEqual(await readManifest(dir('base-v1'), true));
  });

  it('a synthetic full of an endpoint is an ordinary snapshot equal to the merged mount, computed without reading anything', async () => {
    const run = await ebmOk(['synthesize', '-r', repo, ep1, '--json']);
    const s = summaryOf(run);
    syntheticFull = s.snapshot as string;
    expect(s).toMatchObject({ dataset: 'ep1#full', from: ep1, bytesRead: 0, filesRead: 0 });
    expect(s.bytesAdded as number).toBeLessThan(64 * 1024); // trees only
    const record = (await listed()).find((x) => x.id === syntheticFull)!;
    expect(record.meta?.layered).toBeUndefined();
    expect(await restoreManifest(syntheticFull, 'full-flat')).toEqual(ep1Merged);
    // It browses like any snapshot: the merged view, whiteouts applied.
    const paths = (await ebmOk(['ls', '-r', repo, syntheticFull, '-R'])).stdout.split('\n');
    expect(paths).toEqual(expect.arrayContaining(['srv/new/x', 'var/cache/fresh', 'usr/bin/tool']));
    expect(paths).not.toContain('etc/hosts');

    // An endpoint snapshot itself holds no files (they are in its layers): export refuses it and names the way out;
    // its synthetic full exports and imports like any snapshot.
    const refused = await ebm(['export', '-r', repo, ep1, '-o', dir('ep1.ebmx')]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/E_NOT_SUPPORTED: .*layered endpoint.*ebm synthesize/);
    expect(fs.existsSync(dir('ep1.ebmx'))).toBe(false);
    await ebmOk(['export', '-r', repo, syntheticFull, '-o', dir('full.ebmx')]);
    await ebmOk(['import', dir('full.ebmx'), '--target', dir('full-imported')]);
    expect(await readManifest(dir('full-imported'), true)).toEqual(ep1Merged);
  });

  it('rebase moves the endpoint onto the new base: equal flattened restores, the new top layer mounts on the new base as the same tree, and the next backup is incremental against it', async () => {
    const run = await ebmOk(['rebase', '-r', repo, ep1, '--to', v2, '--json']);
    rebased = summaryOf(run).snapshot as string;
    rebasedLayer = summaryOf(run).layer as string;
    expect(summaryOf(run)).toMatchObject({ parent: ep1, base: v2, layerDataset: 'ep1#layer:upper' });
    const before = await restoreManifest(ep1, 'before-flat');
    const after = await restoreManifest(rebased, 'after-flat');
    expect(after).toEqual(before);
    expect(after).toEqual(ep1Merged);
    expect((await ebmOk(['ls', '-r', repo, rebased])).stdout).toContain(`layer 0 lower-0 (base, immutable ebmtree+sha256:`);

    // Natively, the delta-stored base restores as its own layers; mounted, the three directories are the same tree.
    const native = summaryOf(await ebmOk(['restore', '-r', repo, rebased, '--native', '--target', dir('native'), '--json']));
    expect((native.layers as Array<{ id: string }>).map((l) => l.id)).toEqual(['lower-0.previous', 'lower-0.delta', 'upper']);
    const options = native.mountOptions as string;
    const lowers = /lowerdir=([^,]+)/.exec(options)![1]!.split(':');
    expect(lowers).toEqual([path.join(dir('native'), '1-lower-0.delta'), path.join(dir('native'), '0-lower-0.previous')]);
    fs.mkdirSync(dir('m-native'));
    fs.mkdirSync(dir('m-native.work'));
    mountOverlay(dir('m-native'), lowers, /upperdir=([^,]+)/.exec(options)![1]!, dir('m-native.work'));
    mounted.push(dir('m-native'));
    expect(await readManifest(dir('m-native'), true)).toEqual(ep1Merged);
    umount(dir('m-native'));
    const byOuterId = await ebm(['ls', '-r', repo, rebased, '--layer', 'lower-0']);
    expect(byOuterId.code).not.toBe(0);
    expect(byOuterId.stderr).toMatch(/is stored as layers previous, delta/);

    // The machine now runs on version 2 with the rebased upper layer: the kernel shows the same tree.
    await ebmOk(['restore', '-r', repo, rebased, '--layer', 'upper', '--target', dir('upper1b')]);
    const m = mount('m1b', dir('base-v2'), dir('upper1b'));
    expect(await readManifest(m, true)).toEqual(ep1Merged);
    fs.writeFileSync(path.join(m, 'etc', 'after-rebase.conf'), 'on version 2\n');
    umount(m);
    const next = await backup('base-v2', 'upper1b', 'ep1');
    expect(layer(next, 'lower-0')).toMatchObject({ action: 'referenced', snapshot: v2, bytesRead: 0 });
    expect(layer(next, 'upper')).toMatchObject({ action: 'stored', parent: rebasedLayer });
    expect(layer(next, 'upper').bytesAdded).toBeLessThan(64 * 1024); // restored copies of known content: deduplicated
    const again = await restoreManifest(summaryOf(next).snapshot as string, 'next-flat');
    expect(again['etc/after-rebase.conf']).toMatchObject({ size: 13, sha256: createHash('sha256').update('on version 2\n').digest('hex') });
    expect(again['usr/bin/tool']).toEqual(ep1Merged['usr/bin/tool']); // kept from version 1: the endpoint had it
  });

  it('--collapse turns a base\'s delta chain into one delta on its bottom', async () => {
    execFileSync('cp', ['-a', dir('base-v2'), dir('base-v3')]);
    await writeTree(dir('base-v3'), { 'etc/app.conf': 'v=3\n', 'opt/extra/readme': 'three' });
    const third = await backup('base-v3', undefined, 'os', ['--base-name', 'os']);
    v3 = layer(third, 'lower-0').snapshot;
    expect(layer(third, 'lower-0').deltaOf).toBe(v2);
    const run = await ebmOk(['synthesize', '-r', repo, '--collapse', `${v1}..${v3}`, '--json']);
    const s = summaryOf(run);
    expect(s.collapsed as string[]).toHaveLength(2);
    const collapsed = s.snapshot as string;
    expect((await ebmOk(['ls', '-r', repo, collapsed])).stdout).toMatch(new RegExp(`^layer 0 previous .*: snapshot ${v1.slice(0, 8)}\\nlayer 1 delta`));
    const want = await readManifest(dir('base-v3'), true);
    expect(await restoreManifest(collapsed, 'v3c-flat')).toEqual(want);
    expect(await restoreManifest(v3, 'v3-flat')).toEqual(want);
  });

  it('forget keeps the old base while anything names it; once the endpoints moved and the old snapshots went it can go, and after prune everything left restores', async () => {
    const refused = await ebm(['forget', '-r', repo, v1, '--json']);
    expect(refused.code).not.toBe(0);
    const error = refused.lines.find((l) => l.type === 'error')!.error as { code: string; message: string };
    expect(error.code).toBe('E_SNAPSHOT_IN_USE');
    expect(error.message).toContain('(ep1)');
    expect(error.message).toMatch(/\(layer:ebmtree\+sha256:[0-9a-f]+\)/); // the delta-stored version 2 names it too

    // Version 2's standalone form; the endpoint's next backup references it.
    const standalone = summaryOf(await ebmOk(['synthesize', '-r', repo, v2, '--json'])).snapshot as string;
    const latest = await backup('base-v2', 'upper1b', 'ep1');
    expect(layer(latest, 'lower-0')).toMatchObject({ action: 'referenced', snapshot: standalone });
    const latestId = summaryOf(latest).snapshot as string;

    // Forget every snapshot that names version 1, directly or through a delta-stored base.
    const all = await listed();
    const v2Dataset = all.find((s) => s.id === v2)!.dataset;
    const v3Dataset = all.find((s) => s.id === v3)!.dataset;
    const endpoints = all.filter((s) => (s.dataset === 'ep1' && s.id !== latestId) || s.dataset === 'os').map((s) => s.id);
    await ebmOk(['forget', '-r', repo, ...endpoints]);
    const still = await ebm(['forget', '-r', repo, v1, '--json']);
    expect(still.code).not.toBe(0);
    expect((still.lines.find((l) => l.type === 'error')!.error as { message: string }).message).not.toContain('(ep1)');
    const layeredBases = all.filter((s) => [v2Dataset, v3Dataset].includes(s.dataset) && s.meta?.layered !== undefined).map((s) => s.id);
    const deltas = all.filter((s) => s.dataset === `${v2Dataset}#delta` || s.dataset === `${v3Dataset}#delta`).map((s) => s.id);
    await ebmOk(['forget', '-r', repo, ...layeredBases, ...deltas]);
    await ebmOk(['forget', '-r', repo, v1, '--prune']);
    await ebmOk(['check', '-r', repo, '--read-data']);

    const { etc: _etcNow, 'etc/after-rebase.conf': added, ...rest } = await restoreManifest(latestId, 'latest-flat');
    const { etc: _etcThen, ...before } = ep1Merged;
    expect(added).toMatchObject({ size: 13, sha256: createHash('sha256').update('on version 2\n').digest('hex') });
    expect(rest).toEqual(before);
    expect(await restoreManifest(syntheticFull, 'full-after-prune')).toEqual(ep1Merged);
    expect(await restoreManifest(standalone, 'v2-after-prune')).toEqual(await readManifest(dir('base-v2'), true));
  });
});
