import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { LayerDiscoverContext } from '@ebm/sdk';
import { invalidSource } from './shared/errors';

/** Which layout a source names, and the rest of the source string for that layout's resolver. */
export type ParsedSource =
  | { readonly layout: 'overlayfs'; readonly spec: string }
  | { readonly layout: 'overlay2'; readonly spec: string }
  | { readonly layout: 'layer-map'; readonly spec: string };

/**
 * Source syntax (docs/layers.md):
 * - `overlayfs:MOUNTPOINT` or `overlayfs:lowerdir=TOP:…:BOTTOM[,upperdir=DIR]`;
 * - `overlay2:STORAGE_ROOT#REF` (REF: container id or prefix, image layer chainID, or cache id);
 * - `layer-map:ROOT` with the "map" option (and optionally "base");
 * - a bare path: an overlay mount point is overlayfs, a directory with the
 *   "map" option is a layer map; anything else is refused with the forms above.
 */
export async function parseSource(ctx: LayerDiscoverContext, op: string): Promise<ParsedSource> {
  const s = ctx.source;
  if (typeof s !== 'string' || s === '') throw invalidSource('the source is empty; name an overlay mount point, overlay2:STORAGE_ROOT#REF or layer-map:ROOT', String(s), op);
  for (const layout of ['overlayfs', 'overlay2', 'layer-map'] as const) {
    if (s.startsWith(`${layout}:`)) return { layout, spec: s.slice(layout.length + 1) };
  }
  if (typeof ctx.options.map === 'string') return { layout: 'layer-map', spec: s };
  try {
    await fsp.stat(s);
  } catch {
    // Let the overlayfs resolver report the missing path (E_SOURCE_NOT_FOUND).
    return { layout: 'overlayfs', spec: s };
  }
  if (await isOverlayMount(s)) return { layout: 'overlayfs', spec: s };
  if (await fsp.stat(path.join(s, 'image', 'overlay2', 'layerdb')).then(() => true, () => false)) {
    throw invalidSource(`${s} is a Docker storage root; name a container or image layer in it: overlay2:${s}#<container id or chainID>`, s, op);
  }
  throw invalidSource(`${s} is neither an overlay mount point nor a Docker storage root, and no layer map was given; use overlayfs:…, overlay2:ROOT#REF or layer-map:ROOT with the "map" option`, s, op);
}

async function isOverlayMount(p: string): Promise<boolean> {
  const real = await fsp.realpath(p);
  const text = await fsp.readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  return text.split('\n').some((line) => {
    const f = line.split(' ');
    const dash = f.indexOf('-');
    return dash > 0 && f[4]?.replace(/\\040/g, ' ') === real && f[dash + 1] === 'overlay';
  });
}
