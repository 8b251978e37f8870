import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { markOpaque, whiteout, writeTree } from './overlay-fixtures';

/*
 * Copied from plugins/layer-overlay/src/testing/docker-storage.ts (a plugin's
 * testing files are not exported from its package); keep the two in step.
 */

/** What a layer holds: files (content), directories (null), whiteouts ('WHITEOUT') and opaque directories ('OPAQUE'). */
type LayerSpec = Readonly<Record<string, string | null>>;

/** The image every test container runs: three layers with a deletion and an opaque directory. */
const IMAGE: readonly LayerSpec[] = [
  { 'etc/os-release': 'ID=testos\n', 'bin/sh': 'shell', 'usr/lib/libc.so': 'libc'.repeat(100), 'usr/share/app/old.txt': 'old', 'var/lib/apt/lists/pkg': 'list' },
  { 'var/lib/apt/lists/pkg': 'WHITEOUT', 'usr/bin/app': 'app v1', 'etc/app.conf': 'conf v1' },
  { 'usr/share/app': 'OPAQUE', 'usr/share/app/new.txt': 'new', 'etc/app.conf': 'conf v2' },
];

/** Each container's own changes in its read-write layer. */
const CONTAINER_CHANGES: readonly LayerSpec[] = [
  { 'etc/os-release': 'WHITEOUT', 'data/file-0': 'written by container 0' },
  { 'etc/app.conf': 'conf edited in container 1', 'data/file-1': 'written by container 1' },
  { 'usr/share/app': 'OPAQUE', 'usr/share/app/mine.txt': 'container 2 replaced the directory' },
];

export interface DockerStorage {
  readonly root: string;
  readonly containers: readonly string[];
  /** Image layers bottom first: chainID and diffID (equal in every storage built by this function). */
  readonly image: readonly { readonly chainId: string; readonly diffId: string }[];
  /** The diff/ directories of a container's stack, uppermost first (for mounting its merged view). */
  diffDirs(container: string): readonly string[];
}

/**
 * Builds a Docker overlay2 storage root the way dockerd lays it out:
 * overlay2/<cache-id>/{diff,link,lower,work}, overlay2/l/<short> links to
 * ../<cache-id>/diff, the layer database image/overlay2/layerdb/sha256/<chainID>/{diff,cache-id,parent,size},
 * and layerdb/mounts/<container-id>/{mount-id,init-id,parent} for three
 * containers of one image. Cache ids and short links are random, as on two
 * real hosts; diffIDs are the SHA-256 of each layer's spec (a stand-in for
 * the tar digest dockerd records) and chainIDs follow the OCI rule.
 */
export async function buildDockerStorage(root: string): Promise<DockerStorage> {
  const overlay = path.join(root, 'overlay2');
  const layerdb = path.join(root, 'image', 'overlay2', 'layerdb');
  await fsp.mkdir(path.join(overlay, 'l'), { recursive: true });
  const shorts = new Map<string, string>();
  const diffOf = (cacheId: string): string => path.join(overlay, cacheId, 'diff');
  const addLayer = async (cacheId: string, spec: LayerSpec, below: readonly string[]): Promise<void> => {
    const dir = path.join(overlay, cacheId);
    await fsp.mkdir(path.join(dir, 'diff'), { recursive: true });
    await fsp.mkdir(path.join(dir, 'work'));
    const short = randomBytes(13).toString('hex').toUpperCase().slice(0, 26);
    shorts.set(cacheId, short);
    await fsp.writeFile(path.join(dir, 'link'), short);
    await fsp.symlink(`../${cacheId}/diff`, path.join(overlay, 'l', short));
    if (below.length > 0) await fsp.writeFile(path.join(dir, 'lower'), below.map((id) => `l/${shorts.get(id)!}`).join(':'));
    await writeSpec(path.join(dir, 'diff'), spec);
  };
  const image: { chainId: string; diffId: string; cacheId: string }[] = [];
  for (const spec of IMAGE) {
    const cacheId = randomBytes(32).toString('hex');
    await addLayer(cacheId, spec, image.map((l) => l.cacheId).reverse());
    const diffId = `sha256:${createHash('sha256').update(JSON.stringify(spec)).digest('hex')}`;
    const parent = image[image.length - 1];
    const chainId = parent === undefined ? diffId : `sha256:${createHash('sha256').update(`${parent.chainId} ${diffId}`).digest('hex')}`;
    const entry = path.join(layerdb, 'sha256', chainId.slice('sha256:'.length));
    await fsp.mkdir(entry, { recursive: true });
    await fsp.writeFile(path.join(entry, 'diff'), diffId);
    await fsp.writeFile(path.join(entry, 'cache-id'), cacheId);
    await fsp.writeFile(path.join(entry, 'size'), '0');
    if (parent !== undefined) await fsp.writeFile(path.join(entry, 'parent'), parent.chainId);
    image.push({ chainId, diffId, cacheId });
  }
  const imageBelow = image.map((l) => l.cacheId).reverse();
  const containers: string[] = [];
  const stacks = new Map<string, string[]>();
  for (const changes of CONTAINER_CHANGES) {
    const id = randomBytes(32).toString('hex');
    const mountId = randomBytes(32).toString('hex');
    const initId = `${mountId}-init`;
    await addLayer(initId, { 'etc/hosts': '', 'etc/resolv.conf': '', 'dev/console': '' }, imageBelow);
    await addLayer(mountId, changes, [initId, ...imageBelow]);
    const mount = path.join(layerdb, 'mounts', id);
    await fsp.mkdir(mount, { recursive: true });
    await fsp.writeFile(path.join(mount, 'mount-id'), mountId);
    await fsp.writeFile(path.join(mount, 'init-id'), initId);
    await fsp.writeFile(path.join(mount, 'parent'), image[image.length - 1]!.chainId);
    containers.push(id);
    stacks.set(id, [mountId, initId, ...imageBelow].map(diffOf));
  }
  return { root, containers, image: image.map(({ chainId, diffId }) => ({ chainId, diffId })), diffDirs: (c) => stacks.get(c)! };
}

async function writeSpec(dir: string, spec: LayerSpec): Promise<void> {
  const plain: Record<string, string | null> = {};
  for (const [rel, v] of Object.entries(spec)) if (v !== 'WHITEOUT' && v !== 'OPAQUE') plain[rel] = v;
  for (const [rel, v] of Object.entries(spec)) {
    if (v === 'OPAQUE') {
      await fsp.mkdir(path.join(dir, rel), { recursive: true });
      markOpaque(path.join(dir, rel));
    }
  }
  await writeTree(dir, plain);
  for (const [rel, v] of Object.entries(spec)) {
    if (v !== 'WHITEOUT') continue;
    await fsp.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    whiteout(path.join(dir, rel));
  }
}
