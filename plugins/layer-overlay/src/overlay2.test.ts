import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LayerChange, Warning } from '@ebm/sdk';
import { mergedViewOf, readTree, viewDifferences } from '@ebm/sdk/testing';
import provider from './index';
import { changesOf, ctx } from './testing/contexts';
import { buildDockerStorage } from './testing/docker-storage';
import type { DockerStorage } from './testing/docker-storage';
import { mountOverlay, overlayUnavailable, unmount } from './testing/overlay-mount';

describe('Docker overlay2 storage', () => {
  let tmp: string;
  let hostA: DockerStorage;
  let hostB: DockerStorage;

  beforeAll(async () => {
    tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'ebm-overlay2-'));
    hostA = await buildDockerStorage(path.join(tmp, 'host-a'));
    hostB = await buildDockerStorage(path.join(tmp, 'host-b'));
  });
  afterAll(() => fsp.rm(tmp, { recursive: true, force: true }));

  it('gives each container its image layers (chainID ids, diffID digests), its init layer and its own read-write layer', async () => {
    const [c0] = hostA.containers;
    const warnings: Warning[] = [];
    const report = await provider.discover(ctx(`overlay2:${hostA.root}#${c0!}`, {}, warnings));
    expect(report.layout).toBe('overlay2');
    expect(report.layers.map((l) => [l.id, l.kind, l.immutable, l.digest ?? null])).toEqual([
      ...hostA.image.map((l) => [l.chainId, 'base', true, l.diffId]),
      [`container-init:${c0!}`, 'upper', false, null],
      [`container:${c0!}`, 'upper', false, null],
    ]);
    expect(report.meta).toMatchObject({ container: c0, imageChainId: hostA.image[2]!.chainId });
    expect(warnings).toEqual([]);
  });

  it('identifies the same image layers identically for three containers and across two storage roots with different cache ids', async () => {
    const imageLayers = async (root: string, container: string) =>
      (await provider.discover(ctx(`overlay2:${root}#${container}`))).layers.filter((l) => l.immutable).map(({ id, digest, files, bytes, name }) => ({ id, digest, files, bytes, name }));
    const reference = await imageLayers(hostA.root, hostA.containers[0]!);
    expect(reference).toHaveLength(3);
    for (const c of hostA.containers.slice(1)) expect(await imageLayers(hostA.root, c)).toEqual(reference);
    for (const c of hostB.containers) expect(await imageLayers(hostB.root, c)).toEqual(reference);
    // The diff/ directories differ per host (random cache ids): identity does not come from them.
    const rootsA = (await provider.discover(ctx(`overlay2:${hostA.root}#${hostA.containers[0]!}`))).layers.map((l) => l.root);
    const rootsB = (await provider.discover(ctx(`overlay2:${hostB.root}#${hostB.containers[0]!}`))).layers.map((l) => l.root);
    expect(rootsA[0]).not.toEqual(rootsB[0]!.replace(hostB.root, hostA.root));
  });

  it('reports whiteouts and opaque directories of image and container layers', async () => {
    const [c0, c1, c2] = hostA.containers as [string, string, string];
    const img = hostA.image;
    expect(await changesOf(`overlay2:${hostA.root}#${img[1]!.chainId}`, img[1]!.chainId)).toContainEqual({ path: 'var/lib/apt/lists/pkg', change: 'deleted' });
    expect(await changesOf(`overlay2:${hostA.root}#${c0}`, img[2]!.chainId)).toContainEqual({ path: 'usr/share/app', change: 'opaque-dir', type: 'dir' });
    expect(await changesOf(`overlay2:${hostA.root}#${c0}`, `container:${c0}`)).toEqual([
      { path: 'data', change: 'added', type: 'dir' }, { path: 'data/file-0', change: 'added', type: 'file' },
      { path: 'etc', change: 'modified', type: 'dir' }, { path: 'etc/os-release', change: 'deleted' },
    ]);
    expect(await changesOf(`overlay2:${hostA.root}#${c1.slice(0, 12)}`, `container:${c1}`)).toContainEqual({ path: 'etc/app.conf', change: 'modified', type: 'file' });
    expect(await changesOf(`overlay2:${hostA.root}#${c2}`, `container:${c2}`)).toContainEqual({ path: 'usr/share/app', change: 'opaque-dir', type: 'dir' });
  });

  it("applying each container's layers in order gives the container's merged view, as overlayfs mounts it", async () => {
    const probe = await overlayUnavailable(path.join(tmp, 'probe'));
    if (probe !== undefined) {
      console.warn(`merged-view check skipped: ${probe}`);
      return;
    }
    for (const c of hostA.containers) {
      const target = path.join(tmp, `merged-${c.slice(0, 8)}`);
      await fsp.mkdir(target);
      mountOverlay(target, hostA.diffDirs(c));
      try {
        const source = `overlay2:${hostA.root}#${c}`;
        const report = await provider.discover(ctx(source));
        const changes = new Map<string, LayerChange[]>();
        for (const l of report.layers) changes.set(l.id, await changesOf(source, l.id));
        expect(viewDifferences(await mergedViewOf(report, changes), await readTree(target))).toEqual([]);
      } finally {
        unmount(target);
      }
    }
  });

  it('refuses a storage root without a reference, an unknown reference and a chain that disagrees with the layer database', async () => {
    await expect(provider.discover(ctx(hostA.root))).rejects.toMatchObject({ code: 'E_INVALID_SOURCE', message: expect.stringContaining('#<container id or chainID>') });
    await expect(provider.discover(ctx(`overlay2:${hostA.root}#nosuchcontainer`))).rejects.toMatchObject({ code: 'E_INVALID_SOURCE' });
    await expect(provider.discover(ctx(`overlay2:${path.join(tmp, 'nothing')}#abc`))).rejects.toMatchObject({ code: 'E_SOURCE_NOT_FOUND' });
    const broken = await buildDockerStorage(path.join(tmp, 'broken'));
    const top = path.join(broken.root, 'image', 'overlay2', 'layerdb', 'sha256', broken.image[2]!.chainId.slice(7), 'parent');
    await fsp.writeFile(top, broken.image[0]!.chainId);
    await expect(provider.discover(ctx(`overlay2:${broken.root}#${broken.containers[0]!}`))).rejects.toMatchObject({ code: 'E_INVALID_SOURCE', message: expect.stringContaining('disagrees with the layer database') });
  });
});
