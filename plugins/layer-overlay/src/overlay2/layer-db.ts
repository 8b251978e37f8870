import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { fsError, invalidSource } from '../shared/errors';

/** One image layer of Docker's layer database (image/overlay2/layerdb/sha256/<chainID>/). */
export interface DbLayer {
  /** 'sha256:<hex>': the layer with all its parents; the same on every host that pulled the image. */
  readonly chainId: string;
  /** 'sha256:<hex>': the digest of the layer's uncompressed tar; the same on every host. */
  readonly diffId: string;
  /** The overlay2/<cache-id> directory holding it on this host (random per host). */
  readonly cacheId: string;
  readonly parent?: string;
}

/** A container's read-write mount (image/overlay2/layerdb/mounts/<container-id>/). */
export interface DbMount {
  readonly containerId: string;
  readonly mountId: string;
  readonly initId?: string;
  readonly parent?: string;
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** Reads the whole layer database of a storage root (a few small files per layer). */
export async function readLayerDb(storageRoot: string, op: string): Promise<{ layers: Map<string, DbLayer>; byCacheId: Map<string, DbLayer> }> {
  const dir = path.join(storageRoot, 'image', 'overlay2', 'layerdb', 'sha256');
  let names: string[];
  try {
    names = (await fsp.readdir(dir)).sort();
  } catch (err) {
    const e = fsError(err, dir, op);
    if (e.code === 'E_SOURCE_NOT_FOUND') throw invalidSource(`${storageRoot} is not a Docker storage root: it has no layer database at ${dir}`, storageRoot, op);
    throw e;
  }
  const layers = new Map<string, DbLayer>();
  const byCacheId = new Map<string, DbLayer>();
  for (const name of names) {
    const at = path.join(dir, name);
    const chainId = `sha256:${name}`;
    const diffId = await readField(at, 'diff', op);
    const cacheId = await readField(at, 'cache-id', op);
    const parent = await readField(at, 'parent', op, true);
    if (!DIGEST.test(chainId) || diffId === undefined || !DIGEST.test(diffId) || cacheId === undefined) {
      throw invalidSource(`the layer database entry ${at} is damaged: it needs a sha256 name, a "diff" file holding sha256:<hex> and a "cache-id" file`, at, op);
    }
    const layer: DbLayer = { chainId, diffId, cacheId, ...(parent !== undefined ? { parent } : {}) };
    layers.set(chainId, layer);
    byCacheId.set(cacheId, layer);
  }
  return { layers, byCacheId };
}

/** The mount record of a container, by full id or unique prefix; undefined when none matches. */
export async function readMount(storageRoot: string, ref: string, op: string): Promise<DbMount | undefined> {
  const dir = path.join(storageRoot, 'image', 'overlay2', 'layerdb', 'mounts');
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  const matches = names.filter((n) => n === ref || (ref.length >= 4 && n.startsWith(ref)));
  if (matches.length > 1 && !matches.includes(ref)) throw invalidSource(`the container id prefix ${ref} matches ${matches.length} containers in ${dir}; give more characters`, ref, op);
  const id = matches.includes(ref) ? ref : matches[0];
  if (id === undefined) return undefined;
  const at = path.join(dir, id);
  const mountId = await readField(at, 'mount-id', op);
  if (mountId === undefined) throw invalidSource(`the container mount record ${at} has no mount-id file`, at, op);
  const initId = await readField(at, 'init-id', op, true);
  const parent = await readField(at, 'parent', op, true);
  return { containerId: id, mountId, ...(initId !== undefined ? { initId } : {}), ...(parent !== undefined ? { parent } : {}) };
}

/** ChainID(L0) = DiffID(L0); ChainID(L0…Ln) = sha256(ChainID(L0…Ln-1) + " " + DiffID(Ln)) (OCI image spec). */
export function expectedChainId(parentChainId: string | undefined, diffId: string): string {
  return parentChainId === undefined ? diffId : `sha256:${createHash('sha256').update(`${parentChainId} ${diffId}`).digest('hex')}`;
}

async function readField(dir: string, name: string, op: string, optional = false): Promise<string | undefined> {
  try {
    return (await fsp.readFile(path.join(dir, name), 'utf8')).trim();
  } catch (err) {
    if (optional && (err as { code?: unknown }).code === 'ENOENT') return undefined;
    if ((err as { code?: unknown }).code === 'ENOENT') return undefined;
    throw fsError(err, path.join(dir, name), op);
  }
}
