import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { JsonValue } from '@ebm/sdk';
import type { DirLayer } from '../shared/dir-stack';
import { fsError, invalidSource } from '../shared/errors';
import { expectedChainId, readLayerDb, readMount } from './layer-db';
import type { DbLayer } from './layer-db';

export interface Overlay2Stack {
  readonly source: string;
  readonly layers: readonly DirLayer[];
  readonly meta: { readonly [key: string]: JsonValue };
  /** Layers whose chainID does not follow from its parent and diffID (a damaged database): the caller warns. */
  readonly chainWarnings: readonly string[];
}

/**
 * Resolves a Docker (or containerd-with-overlay2) source. `spec` is what
 * follows "overlay2:": `STORAGE_ROOT#REF`, e.g. `/var/lib/docker#3f4e…`,
 * where REF is a container id (or a unique prefix of at least 4 characters),
 * an image layer's chainID (`sha256:…` or the bare hex), or an overlay2
 * cache id. The chain is read from the top layer's `lower` file (l/<short>
 * links, uppermost first); image layers get their identity from the layer
 * database: id = chainID, digest = diffID (host-independent), immutable,
 * kind 'base'; a container's init and read-write layers are mutable 'upper'
 * layers with ids container-init:<id> and container:<id>.
 */
export async function resolveOverlay2(spec: string, op: string): Promise<Overlay2Stack> {
  const hash = spec.lastIndexOf('#');
  if (hash <= 0 || hash === spec.length - 1) {
    throw invalidSource(`the overlay2 source "${spec}" must be STORAGE_ROOT#REF, e.g. overlay2:/var/lib/docker#<container id or image layer chainID>`, spec, op);
  }
  const root = path.resolve(spec.slice(0, hash));
  const ref = spec.slice(hash + 1);
  try {
    await fsp.stat(root);
  } catch (err) {
    throw fsError(err, root, op);
  }
  const db = await readLayerDb(root, op);
  const mount = await readMount(root, ref, op);
  const chainRef = /^(sha256:)?[a-f0-9]{64}$/.test(ref) ? (ref.startsWith('sha256:') ? ref : `sha256:${ref}`) : undefined;
  const image = chainRef !== undefined ? db.layers.get(chainRef) : undefined;
  let topCacheId: string;
  if (mount !== undefined) topCacheId = mount.mountId;
  else if (image !== undefined) topCacheId = image.cacheId;
  else if (/^[A-Za-z0-9_-]+$/.test(ref) && (await exists(path.join(root, 'overlay2', ref, 'diff')))) topCacheId = ref;
  else throw invalidSource(`${root} has no container, image layer (chainID) or overlay2 layer "${ref}"`, ref, op);

  const chain = [topCacheId, ...(await lowerChain(root, topCacheId, op))].reverse();
  const layers: DirLayer[] = [];
  const warnings: string[] = [];
  let parent: DbLayer | undefined;
  let imageLayers = 0;
  for (const cacheId of chain) {
    const diff = path.join(root, 'overlay2', cacheId, 'diff');
    const known = db.byCacheId.get(cacheId);
    if (known !== undefined) {
      if (known.parent !== parent?.chainId) {
        throw invalidSource(`the layer chain of ${spec} disagrees with the layer database: overlay2/${cacheId} (${known.chainId}) has parent ${known.parent ?? 'none'}, but its lower file puts ${parent?.chainId ?? 'nothing'} below it`, cacheId, op);
      }
      if (expectedChainId(parent?.chainId, known.diffId) !== known.chainId) warnings.push(`${known.chainId} does not follow from its parent and diffID ${known.diffId}`);
      imageLayers += 1;
      layers.push({ id: known.chainId, kind: 'base', name: `image layer ${imageLayers}`, root: diff, immutable: true, digest: known.diffId });
      parent = known;
    } else if (mount !== undefined && cacheId === mount.initId) {
      layers.push({ id: `container-init:${mount.containerId}`, kind: 'upper', name: 'container init layer', root: diff, immutable: false });
    } else if (mount !== undefined && cacheId === mount.mountId) {
      layers.push({ id: `container:${mount.containerId}`, kind: 'upper', name: 'container read-write layer', root: diff, immutable: false });
    } else {
      layers.push({ id: `cache:${cacheId}`, kind: 'upper', name: `overlay2 layer ${cacheId}`, root: diff, immutable: false });
    }
  }
  if (mount?.parent !== undefined && mount.parent !== parent?.chainId) {
    throw invalidSource(`container ${mount.containerId} names image layer ${mount.parent} as its parent, but its lower file ends at ${parent?.chainId ?? 'no image layer'}`, mount.containerId, op);
  }
  return {
    source: `overlay2:${root}#${mount?.containerId ?? image?.chainId ?? ref}`,
    layers,
    meta: { storageRoot: root, ...(mount !== undefined ? { container: mount.containerId } : {}), ...(parent !== undefined ? { imageChainId: parent.chainId } : {}) },
    chainWarnings: warnings,
  };
}

/** The cache ids below `cacheId`, uppermost first, from its `lower` file (absent for a bottom layer). */
async function lowerChain(root: string, cacheId: string, op: string): Promise<string[]> {
  const file = path.join(root, 'overlay2', cacheId, 'lower');
  let text: string;
  try {
    text = (await fsp.readFile(file, 'utf8')).trim();
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return [];
    throw fsError(err, file, op);
  }
  if (text === '') return [];
  const ids: string[] = [];
  for (const link of text.split(':')) {
    const abs = path.join(root, 'overlay2', link);
    let target: string;
    try {
      target = await fsp.readlink(abs);
    } catch (err) {
      throw invalidSource(`${file} names ${link}, which is not a link in ${path.join(root, 'overlay2', 'l')} (${(err as Error).message})`, abs, op);
    }
    const m = /^\.\.\/([^/]+)\/diff\/?$/.exec(target);
    if (m === null) throw invalidSource(`${abs} points at ${target}; overlay2 links point at ../<cache-id>/diff`, abs, op);
    ids.push(m[1]!);
  }
  return ids;
}

async function exists(p: string): Promise<boolean> {
  return fsp.stat(p).then(() => true, () => false);
}
