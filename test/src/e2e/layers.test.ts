import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { getAttributeSync } from '@napi-rs/xattr';
import { ebm, ebmOk, summaryOf, tempDir } from '../helpers/cli';
import type { EbmRun } from '../helpers/cli';
import { buildBase, changeThroughMount, mountOverlay, readManifest, treeBytes, unmount } from '../helpers/overlay-fixtures';
import { buildDockerStorage } from '@ebm/layer-overlay/testing';

/**
 * Layered endpoints through the real CLI, on real overlayfs mounts (as
 * root): two endpoints built on one base directory, each with its own
 * upper directory written by the kernel through a mount (whiteouts, an
 * opaque directory, a redirect, a metacopy file). The base is stored once
 * and read once; each endpoint restores flattened equal to its merged
 * mount, natively as directories that mount as the same overlay, and one
 * layer at a time (and list layer by layer with ebm ls); forget never drops a base an endpoint needs. Then three
 * containers of one Docker image (overlay2 layout) share the image layers.
 */
interface LayerLine { id: string; kind: string; action: string; snapshot: string | null; bytesRead: number; filesRead: number; bytesAdded: number; parent?: string; dataset: string }
const layersOf = (run: EbmRun): LayerLine[] => summaryOf(run).layers as LayerLine[];
const layer = (run: EbmRun, id: string): LayerLine => {
  const found = layersOf(run).find((l) => l.id === id);
  if (!found) throw new Error(`no layer ${id} in ${JSON.stringify(layersOf(run))}`);
  return found;
};

describe('layered endpoints (ebm backup --provider overlay)', () => {
  let work: string;
  let repo: string;
  const dir = (name: string): string => path.join(work, name);
  const mounted: string[] = [];
  const mount = (name: string, upper: string, lower: readonly string[] = [dir('base')]): string => {
    const target = dir(name);
    fs.mkdirSync(target, { recursive: true });
    fs.mkdirSync(`${target}.work`, { recursive: true });
    mountOverlay(target, lower, upper, `${target}.work`);
    mounted.push(target);
    return target;
  };
  const umount = (target: string): void => {
    unmount(target);
    mounted.splice(mounted.indexOf(target), 1);
  };
  const snapshotsTagged = async (tag: string): Promise<Array<{ dataset: string; tags: string[] }>> =>
    (await ebmOk(['snapshots', '-r', repo, '--json'])).lines
      .filter((l) => l.op === 'snapshots')
      .map((l) => l.snapshot as { dataset: string; tags: string[] })
      .filter((s) => s.tags.includes(tag));
  const ep1Runs: EbmRun[] = [];
  let ep2Run: EbmRun;

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('these tests need root (overlay mounts, whiteout devices, trusted.* xattrs); CI runs as root');
    work = tempDir('layers');
    repo = dir('repo');
    for (const d of ['base', 'upper1', 'upper2']) fs.mkdirSync(dir(d));
    await buildBase(dir('base'));
    await changeThroughMount(mount('m1', dir('upper1')), 'ep1', 150_000);
    await changeThroughMount(mount('m2', dir('upper2')), 'ep2', 100_000);
    umount(dir('m1'));
    await ebmOk(['init', '-r', repo, '--encryption', 'none']);
  });
  afterAll(() => {
    for (const m of [...mounted]) unmount(m);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('stores the base once: the second endpoint reads nothing from it and adds about its upper only', async () => {
    ep1Runs.push(await ebmOk(['backup', '-r', repo, '--provider', 'overlay', '--lower', dir('base'), '--upper', dir('upper1'), '--dataset', 'ep1', '--json']));
    expect(layer(ep1Runs[0]!, 'lower-0')).toMatchObject({ action: 'stored', kind: 'base' });
    expect(layer(ep1Runs[0]!, 'lower-0').bytesRead).toBeGreaterThanOrEqual(2 * 1024 * 1024);
    expect(layer(ep1Runs[0]!, 'upper')).toMatchObject({ action: 'stored', kind: 'upper', dataset: 'ep1#layer:upper' });
    const afterFirst = await treeBytes(repo);

    // The second endpoint names its mounted overlay (its layers come from /proc/self/mountinfo).
    ep2Run = await ebmOk(['backup', '-r', repo, '--provider', 'overlay', `overlayfs:${dir('m2')}`, '--dataset', 'ep2', '--json']);
    const base2 = layer(ep2Run, 'lower-0');
    expect(base2).toMatchObject({ action: 'referenced', snapshot: layer(ep1Runs[0]!, 'lower-0').snapshot, bytesRead: 0, filesRead: 0, bytesAdded: 0 });
    expect(layer(ep2Run, 'upper').action).toBe('stored');
    umount(dir('m2')); // an upper directory serves one mount at a time
    const grown = (await treeBytes(repo)) - afterFirst;
    // ~100 kB of fresh random data plus trees and snapshot files; the 2 MiB base is not stored again.
    expect(grown).toBeGreaterThan(100_000);
    expect(grown).toBeLessThan(100_000 + 256 * 1024);
    expect(await snapshotsTagged('base')).toHaveLength(1);
    expect(await snapshotsTagged('endpoint')).toHaveLength(2);
  });

  it('an incremental of an endpoint reads only what changed in its upper layer', async () => {
    const m1 = mount('m1', dir('upper1'));
    fs.writeFileSync(path.join(m1, 'etc', 'later.conf'), 'written after the first backup\n');
    umount(m1);
    ep1Runs.push(await ebmOk(['backup', '-r', repo, '--provider', 'overlay', '--lower', dir('base'), '--upper', dir('upper1'), '--dataset', 'ep1', '--json']));
    const upper = layer(ep1Runs[1]!, 'upper');
    expect(upper).toMatchObject({ action: 'stored', parent: layer(ep1Runs[0]!, 'upper').snapshot, filesRead: 1 });
    expect(upper.bytesRead).toBe('written after the first backup\n'.length);
    expect(layer(ep1Runs[1]!, 'lower-0')).toMatchObject({ action: 'referenced', bytesRead: 0 });
    expect(summaryOf(ep1Runs[1]!).parent).toBe(summaryOf(ep1Runs[0]!).snapshot);
  });

  it('restores each endpoint flattened, equal to its merged mount (bytes, modes, owners, times, links)', async () => {
    for (const [name, run, upper] of [['ep1', ep1Runs[1]!, 'upper1'], ['ep2', ep2Run, 'upper2']] as const) {
      const target = dir(`flat-${name}`);
      await ebmOk(['restore', '-r', repo, summaryOf(run).snapshot as string, '--target', target]);
      const merged = dir(`m-${name}`);
      mount(`m-${name}`, dir(upper));
      try {
        const want = await readManifest(merged, true);
        expect(want['etc/hosts']).toBeUndefined();
        expect(want['srv/new/x']).toMatchObject({ size: 1, sha256: createHash('sha256').update('x').digest('hex') }); // srv/old, renamed through the mount
        expect(want['srv/old']).toBeUndefined();
        expect(want['usr/lib/libbig.so']!.mode).toBe('600');
        expect(await readManifest(target, true)).toEqual(want);
      } finally {
        umount(merged);
      }
    }
    const part = await ebmOk(['restore', '-r', repo, summaryOf(ep2Run).snapshot as string, '--target', dir('flat-part'), '--include', 'srv']);
    expect(fs.readdirSync(dir('flat-part'))).toEqual(['srv']);
    expect(fs.readFileSync(path.join(dir('flat-part'), 'srv', 'new', 'y'), 'utf8')).toBe('y');
    expect(part.code).toBe(0);
  });

  it('--native restores one directory per layer that mounts as the same overlay; --layer restores one layer as stored', async () => {
    const native = await ebmOk(['restore', '-r', repo, summaryOf(ep1Runs[1]!).snapshot as string, '--native', '--target', dir('native'), '--json']);
    const options = summaryOf(native).mountOptions as string;
    const lower = /lowerdir=([^,]+)/.exec(options)![1]!.split(':');
    const upper = /upperdir=([^,]+)/.exec(options)![1]!;
    expect(lower).toEqual([path.join(dir('native'), '0-lower-0')]);
    expect(upper).toBe(path.join(dir('native'), '1-upper'));
    const again = mount('m-native', upper, lower);
    const original = mount('m-orig', dir('upper1'));
    try {
      expect(await readManifest(again)).toEqual(await readManifest(original));
    } finally {
      umount(again);
      umount(original);
    }

    await ebmOk(['restore', '-r', repo, summaryOf(ep1Runs[1]!).snapshot as string, '--layer', 'upper', '--target', dir('one-layer')]);
    const one = path.join(dir('one-layer'));
    const hosts = fs.lstatSync(path.join(one, 'etc', 'hosts'));
    expect(hosts.isCharacterDevice() && hosts.rdev === 0).toBe(true); // the whiteout, as overlay wrote it
    expect(getAttributeSync(path.join(one, 'var', 'cache'), 'trusted.overlay.opaque')?.toString()).toBe('y');
    expect(getAttributeSync(path.join(one, 'srv', 'new'), 'trusted.overlay.redirect')?.toString()).toMatch(/old$/);
    expect(fs.existsSync(path.join(one, 'usr', 'bin', 'tool'))).toBe(false); // a base file: not in the upper layer

    // Browsing endpoint → layers → files.
    const endpoint = summaryOf(ep1Runs[1]!).snapshot as string;
    expect((await ebmOk(['ls', '-r', repo, endpoint])).stdout).toMatch(/^layer 0 lower-0 \(base, immutable ebmtree\+sha256:[0-9a-f]{64}\): snapshot [0-9a-f]{8}\nlayer 1 upper \(upper\): snapshot [0-9a-f]{8}\n$/);
    const upperFiles = (await ebmOk(['ls', '-r', repo, endpoint, '--layer', 'upper', '-R'])).stdout.split('\n');
    expect(upperFiles).toEqual(expect.arrayContaining(['etc/hosts', 'etc/later.conf', 'srv/new/', 'var/cache/fresh']));
    expect(upperFiles).not.toContain('usr/bin/tool');
    expect((await ebmOk(['ls', '-r', repo, endpoint, '--layer', 'lower-0', 'usr/bin'])).stdout.split('\n')).toContain('usr/bin/tool');
  });

  it('--layers backs up only the selected layers and references the latest snapshot of the others', async () => {
    const run = await ebmOk(['backup', '-r', repo, '--provider', 'overlay', '--lower', dir('base'), '--upper', dir('upper2'), '--dataset', 'ep2', '--layers', 'upper', '--json']);
    expect(layer(run, 'lower-0')).toMatchObject({ action: 'previous', snapshot: layer(ep2Run, 'lower-0').snapshot, bytesRead: 0 });
    expect(layer(run, 'upper')).toMatchObject({ action: 'stored', parent: layer(ep2Run, 'upper').snapshot });
    const typo = await ebm(['backup', '-r', repo, '--provider', 'overlay', '--lower', dir('base'), '--upper', dir('upper2'), '--dataset', 'ep2', '--layers', 'uper']);
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toMatch(/--layers uper: no layer of this source has that id or kind \(layers: lower-0 \(base\), upper \(upper\)\)/);
  });

  it('forget refuses to drop a base an endpoint needs, policies keep it, and check reports a missing layer', async () => {
    const baseId = layer(ep1Runs[0]!, 'lower-0').snapshot!;
    const refused = await ebm(['forget', '-r', repo, baseId, '--json']);
    expect(refused.code).not.toBe(0);
    const error = refused.lines.find((l) => l.type === 'error')!.error as { code: string; message: string };
    expect(error.code).toBe('E_SNAPSHOT_IN_USE');
    expect(error.message).toContain('(ep1)');
    expect(error.message).toContain('(ep2)');

    // A policy over the layer datasets alone: the old ep1 upper snapshot is still named by the first ep1 endpoint snapshot.
    const policy = await ebmOk(['forget', '-r', repo, '--keep-last', '1', '--dataset', 'ep1#layer:upper', '--prune']);
    expect(policy.stdout).toMatch(/keeping snapshot .* \(layer of endpoint snapshot\(s\) .*\(ep1\)\)/);
    expect(await snapshotsTagged('layer')).toHaveLength(5); // base, ep1 upper ×2, ep2 upper ×2
    await ebmOk(['check', '-r', repo]);

    // Remove the first ep1 endpoint: its upper snapshot is no longer named, and the same policy removes it.
    await ebmOk(['forget', '-r', repo, summaryOf(ep1Runs[0]!).snapshot as string]);
    await ebmOk(['forget', '-r', repo, '--keep-last', '1', '--dataset', 'ep1#layer:upper', '--prune']);
    expect(await snapshotsTagged('layer')).toHaveLength(4);
    await ebmOk(['restore', '-r', repo, summaryOf(ep1Runs[1]!).snapshot as string, '--target', dir('after-prune')]);
    expect(fs.readFileSync(path.join(dir('after-prune'), 'etc', 'later.conf'), 'utf8')).toBe('written after the first backup\n');

    // A layer snapshot deleted behind ebm's back: check names the endpoint and the layer.
    fs.rmSync(path.join(repo, 'snapshots', layer(ep2Run, 'upper').snapshot!));
    const check = await ebm(['check', '-r', repo]);
    expect(check.code).not.toBe(0);
    expect(check.stdout).toMatch(new RegExp(`endpoint snapshot ${summaryOf(ep2Run).snapshot as string} \\(ep2\\) names layer upper snapshot ${layer(ep2Run, 'upper').snapshot!}, which does not exist`));
  });

  it('Docker overlay2: three containers of one image store the image layers once', async () => {
    const storage = await buildDockerStorage(dir('docker'));
    const runs: EbmRun[] = [];
    for (const [i, id] of storage.containers.entries()) {
      runs.push(await ebmOk(['backup', '-r', repo, '--provider', 'overlay', `overlay2:${storage.root}#${id}`, '--dataset', `c${i}`, '--json']));
    }
    const images = storage.image.map((l) => l.chainId);
    for (const chainId of images) {
      expect(layer(runs[0]!, chainId).action).toBe('stored');
      for (const later of runs.slice(1)) expect(layer(later, chainId)).toMatchObject({ action: 'referenced', bytesRead: 0, snapshot: layer(runs[0]!, chainId).snapshot });
    }
    for (const [i, run] of runs.entries()) expect(layer(run, `container:${storage.containers[i]!}`).action).toBe('stored');
    expect((await snapshotsTagged('base')).filter((s) => storage.image.some((l) => s.dataset === `layer:${l.diffId}`))).toHaveLength(3);

    // Container 1 flattened equals its merged overlay (all diff dirs as read-only lowers).
    await ebmOk(['restore', '-r', repo, summaryOf(runs[1]!).snapshot as string, '--target', dir('c1-flat')]);
    const merged = dir('c1-merged');
    fs.mkdirSync(merged);
    mountOverlay(merged, storage.diffDirs(storage.containers[1]!), undefined, undefined, []);
    mounted.push(merged);
    try {
      const want = await readManifest(merged);
      expect(want['etc/app.conf']).toMatchObject({ size: Buffer.byteLength('conf edited in container 1'), sha256: createHash('sha256').update('conf edited in container 1').digest('hex') });
      expect(await readManifest(dir('c1-flat'))).toEqual(want);
    } finally {
      umount(merged);
    }
  });
});
