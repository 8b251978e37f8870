import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInProcessLayerRunner, createWorkerLayerRunner, LayerProviderTester } from '@ebm/sdk/testing';
import type { LayerFixture } from '@ebm/sdk/testing';
import { buildDockerStorage } from './testing/docker-storage';
import { buildMachine, MAP } from './testing/machine';
import { mountOverlay, unmount } from './testing/overlay-mount';
import { buildMountedStack } from './testing/overlayfs-fixture';
import { TEST_DIGEST_CACHE } from './testing/contexts';

/**
 * The plugin passes the SDK's layer-provider conformance harness on all
 * three layouts, each with a merged-view oracle: the overlay mount itself,
 * a read-only overlay mount of a container's overlay2 stack, and the
 * machine's own tree for the layer map. Every case runs in-process and in a
 * real worker thread (the host protocol's discover / layer-files /
 * layer-changes), and the two answers must agree. (The tests run as root;
 * where overlay cannot be mounted the overlay fixtures' builds fail and say
 * so.) Through ebm's real plugin host the same harness runs in
 * core/src/testing (createPluginHostLayerRunner); running it here would make
 * @ebm/core a devDependency of this package.
 */
/** Options are fixed when the tester is built, so the layer map's base image lives at a path known up front (rebuilt by each case). */
const BASE = path.join(os.tmpdir(), `ebm-layer-map-base-${process.pid}`);

const fixtures: LayerFixture[] = [
  {
    name: 'overlayfs mount with deletions, opaque, redirected and metacopy entries',
    async build(dir) {
      const stack = await buildMountedStack(dir);
      return { source: stack.mountPoint, merged: stack.mountPoint, teardown: stack.teardown };
    },
    options: { 'digest-cache': TEST_DIGEST_CACHE },
    expect: {
      layout: 'overlayfs',
      layers: [{ kind: 'base', id: 'lower-0', immutable: true }, { kind: 'base', id: 'lower-1', immutable: true }, { kind: 'upper', id: 'upper', immutable: false }],
      changes: {
        1: [{ path: 'lib/gone-in-l1', change: 'deleted' }],
        2: [
          { path: 'etc/hosts', change: 'deleted' }, { path: 'var/cache', change: 'opaque-dir' },
          { path: 'srv/new', change: 'redirect', lowerPath: 'srv/old' }, { path: 'data/big.bin', change: 'metacopy', dataPath: 'data/big.bin' },
        ],
      },
    },
  },
  {
    name: 'Docker overlay2 container',
    async build(dir) {
      const storage = await buildDockerStorage(path.join(dir, 'docker'));
      const container = storage.containers[1]!;
      const merged = path.join(dir, 'merged');
      await fsp.mkdir(merged);
      mountOverlay(merged, storage.diffDirs(container));
      return { source: `overlay2:${storage.root}#${container}`, merged, teardown: () => unmount(merged) };
    },
    options: { 'digest-cache': TEST_DIGEST_CACHE },
    expect: { layout: 'overlay2', layers: [{ kind: 'base' }, { kind: 'base' }, { kind: 'base' }, { kind: 'upper' }, { kind: 'upper' }] },
  },
  {
    name: 'layer map over a base image',
    async build(dir) {
      const m = await buildMachine(dir, BASE);
      return { source: `layer-map:${m.root}`, merged: m.root, teardown: () => fsp.rm(BASE, { recursive: true, force: true }) };
    },
    options: { map: MAP, base: BASE, 'digest-cache': TEST_DIGEST_CACHE },
    expect: { layout: 'layer-map', changes: { 1: [{ path: 'etc/old.conf', change: 'deleted' }, { path: 'etc/hosts', change: 'modified' }] } },
  },
];

new LayerProviderTester({
  packageDir: path.resolve(__dirname, '..'),
  fixtures,
  runners: [createInProcessLayerRunner(), createWorkerLayerRunner()],
  invalidSources: [
    { name: 'a plain directory', build: () => undefined, expect: 'E_INVALID_SOURCE' },
    { name: 'overlay2 without a container', build: async (dir) => `overlay2:${(await buildDockerStorage(dir)).root}#0123456789ab`, expect: 'E_INVALID_SOURCE' },
    { name: 'a layer map that is not JSON', build: (dir) => `layer-map:${dir}`, options: { map: '{"layers": [' }, expect: 'E_INVALID_SOURCE' },
  ],
}).run();
