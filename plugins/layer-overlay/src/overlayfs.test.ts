import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EbmError } from '@ebm/sdk';
import type { LayerChange, LayerFile, LayerReport } from '@ebm/sdk';
import { mergedViewOf, readTree, viewDifferences } from '@ebm/sdk/testing';
import provider from './index';
import { overlayDirs, parseMountInfo } from './overlayfs/mountinfo';
import { buildMountedStack } from './testing/overlayfs-fixture';
import type { MountedStack } from './testing/overlayfs-fixture';
import { overlayUnavailable } from './testing/overlay-mount';
import { changesOf, ctx } from './testing/contexts';

describe('overlayfs mountinfo parsing', () => {
  it('reads lowerdir/upperdir with escapes, lowerdir+ and data-only layers', () => {
    const line = '46 27 0:40 / /mnt/my\\040stack rw,relatime - overlay overlay rw,lowerdir=/a\\:b:/c::/data,upperdir=/u,workdir=/w,metacopy=on';
    const [m] = parseMountInfo(line);
    expect(m).toEqual({ mountPoint: '/mnt/my stack', fsType: 'overlay', superOptions: 'rw,lowerdir=/a\\:b:/c::/data,upperdir=/u,workdir=/w,metacopy=on' });
    expect(overlayDirs(m!.superOptions)).toMatchObject({ lower: ['/a:b', '/c'], upper: '/u', dataOnly: ['/data'] });
    expect(overlayDirs('lowerdir+=/x,lowerdir+=/y,datadir+=/d,upperdir=/u')).toMatchObject({ lower: ['/x', '/y'], upper: '/u', dataOnly: ['/d'] });
  });
});

describe('overlayfs stacks (real overlay mounts)', () => {
  let root: string;
  let stack: MountedStack | undefined;
  let skip: string | undefined;

  beforeAll(async () => {
    root = await fsp.mkdtemp(path.join(os.tmpdir(), 'ebm-overlayfs-'));
    skip = await overlayUnavailable(path.join(root, 'probe'));
    if (skip !== undefined) console.warn(`overlayfs tests skipped: ${skip}`);
    else stack = await buildMountedStack(root);
  });
  afterAll(async () => {
    stack?.teardown();
    await fsp.rm(root, { recursive: true, force: true });
  });

  it('discovers the lower and upper layers of a mount point from /proc/self/mountinfo', async () => {
    if (stack === undefined) return;
    const report = await provider.discover(ctx(stack.mountPoint));
    expect(report.layout).toBe('overlayfs');
    expect(report.layers.map((l) => [l.id, l.kind, l.immutable, l.root])).toEqual([
      ['lower-0', 'base', true, stack.lower[1]], ['lower-1', 'base', true, stack.lower[0]], ['upper', 'upper', false, stack.upper],
    ]);
    expect(report.layers[0]!.digest).toMatch(/^ebmtree\+sha256:[a-f0-9]{64}$/);
    expect(report.meta).toMatchObject({ mountPoint: stack.mountPoint, mountOptions: expect.arrayContaining(['metacopy=on', 'redirect_dir=on']) });
    // The same directories named directly give the same layers and digests.
    const direct = await provider.discover(ctx(`overlayfs:lowerdir=${stack.lower.join(':')},upperdir=${stack.upper}`));
    expect(direct.layers).toEqual(report.layers);
  });

  it('reports deletions, opaque and redirected directories and metacopy files of the upper layer', async () => {
    if (stack === undefined) return;
    const changes = await changesOf(stack.mountPoint, 'upper');
    const byPath = new Map(changes.map((c) => [c.path, c]));
    expect(byPath.get('etc/hosts')).toEqual({ path: 'etc/hosts', change: 'deleted' });
    expect(byPath.get('var/cache')).toEqual({ path: 'var/cache', change: 'opaque-dir', type: 'dir' });
    expect(byPath.get('var/cache/fresh')).toEqual({ path: 'var/cache/fresh', change: 'added', type: 'file' });
    expect(byPath.get('srv/new')).toEqual({ path: 'srv/new', change: 'redirect', type: 'dir', lowerPath: 'srv/old' });
    expect(byPath.get('srv/old')).toEqual({ path: 'srv/old', change: 'deleted' });
    expect(byPath.get('app-moved')).toEqual({ path: 'app-moved', change: 'redirect', type: 'dir', lowerPath: 'opt/app' });
    // chmod with metacopy=on copies metadata only: the data stays in lower-0, and the change points there.
    expect(byPath.get('data/big.bin')).toEqual({ path: 'data/big.bin', change: 'metacopy', type: 'file', dataFrom: { layer: 'lower-0', path: 'data/big.bin' } });
    expect(byPath.get('etc/motd')).toMatchObject({ change: 'modified', type: 'file' });
    expect(byPath.get('home-note')).toMatchObject({ change: 'added', type: 'file' });
    const lower1 = await changesOf(stack.mountPoint, 'lower-1');
    expect(lower1).toContainEqual({ path: 'lib/gone-in-l1', change: 'deleted' }); // the xattr whiteout form
    expect(lower1).toContainEqual({ path: 'etc/motd', change: 'modified', type: 'file' });
  });

  it('counts a metacopy file as holding no data, and its layer files exclude whiteouts', async () => {
    if (stack === undefined) return;
    const files: LayerFile[] = [];
    for await (const batch of provider.files({ ...ctx(stack.mountPoint), layer: 'upper' })) files.push(...batch);
    expect(files.find((f) => f.path === 'data/big.bin')).toEqual({ path: 'data/big.bin', type: 'file', size: 0 });
    expect(files.some((f) => f.path === 'etc/hosts')).toBe(false);
    const report = await provider.discover(ctx(stack.mountPoint));
    const upper = report.layers[2]!;
    const nonDirs = files.filter((f) => f.type !== 'dir');
    expect(nonDirs.map((f) => f.path).sort()).toEqual(['data/big.bin', 'etc/motd', 'home-note', 'var/cache/fresh']);
    expect(upper.files).toBe(4);
    expect(upper.bytes).toBe('changed in upper\n'.length + 'added in upper'.length + 'fresh cache'.length);
  });

  it('applying every layer\'s changes in order gives exactly the mounted merged view (bytes of the metacopy file included)', async () => {
    if (stack === undefined) return;
    const report: LayerReport = await provider.discover(ctx(stack.mountPoint));
    const changes = new Map<string, LayerChange[]>();
    for (const l of report.layers) changes.set(l.id, await changesOf(stack.mountPoint, l.id));
    const merged = await readTree(stack.mountPoint);
    expect(viewDifferences(await mergedViewOf(report, changes), merged)).toEqual([]);
    expect(merged.get('data/big.bin')).toMatchObject({ size: 50_000, mode: 0o600 });
  });

  it('refuses a directory that is not an overlay mount, relative mount dirs and unknown layers with typed errors', async () => {
    if (stack === undefined) return;
    await expect(provider.discover(ctx(`overlayfs:${root}`))).rejects.toMatchObject({ code: 'E_INVALID_SOURCE', message: expect.stringContaining('not an overlay mount point') });
    await expect(provider.discover(ctx('overlayfs:lowerdir=rel/a,upperdir=/u'))).rejects.toMatchObject({ code: 'E_INVALID_SOURCE', message: expect.stringContaining('relative') });
    await expect(changesOf(stack.mountPoint, 'lower-9')).rejects.toBeInstanceOf(EbmError);
    await expect(provider.discover(ctx(path.join(root, 'missing')))).rejects.toMatchObject({ code: 'E_SOURCE_NOT_FOUND' });
  });
});
