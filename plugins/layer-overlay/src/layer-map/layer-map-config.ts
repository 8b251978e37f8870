import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { LAYER_KINDS } from '@ebm/sdk';
import type { LayerKind, OptionValue } from '@ebm/sdk';
import { fsError, invalidSource } from '../shared/errors';

/** One layer of a declarative map: the paths its patterns match belong to it. */
export interface MappedLayer {
  readonly id: string;
  readonly kind: LayerKind;
  readonly name: string;
  readonly patterns: readonly string[];
}

/**
 * A layer map (JSON): `{ "layers": [{ "id": "os", "kind": "os", "patterns":
 * ["/usr/**", "/etc/**"] }, …], "default": "user-data", "exclude": ["/proc",
 * "/tmp/**"], "base": "/srv/base-image" }`. The first layer whose pattern
 * matches a path owns it; unmatched paths belong to `default`, else to the
 * layer with id "user-data", else to an implicit 'user-data' layer added on
 * top. Excluded paths belong to no layer.
 */
export interface LayerMap {
  readonly layers: readonly MappedLayer[];
  readonly defaultLayer: string;
  readonly exclude: readonly string[];
  readonly base?: string;
}

/** Reads the map from the `map` option (a JSON file path, or the JSON itself) and the `base` option. */
export async function loadLayerMap(options: Readonly<Record<string, OptionValue>>, op: string): Promise<LayerMap> {
  const given = options.map;
  if (typeof given !== 'string' || given === '') throw invalidSource('a layer-map source needs the "map" option: a JSON file (or the JSON itself) assigning path patterns to layers; see docs/layers.md', 'map', op);
  let text = given;
  let from = 'the "map" option';
  if (!given.trimStart().startsWith('{')) {
    from = given;
    try {
      text = await fsp.readFile(given, 'utf8');
    } catch (err) {
      throw fsError(err, given, op);
    }
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw invalidSource(`the layer map in ${from} is not valid JSON: ${(err as Error).message}`, from, op);
  }
  const fail = (field: string, problem: string): never => { throw invalidSource(`the layer map in ${from}: ${field} ${problem}`, from, op); };
  const m = raw as { layers?: unknown; default?: unknown; exclude?: unknown; base?: unknown };
  if (typeof m !== 'object' || m === null || !Array.isArray(m.layers) || m.layers.length === 0) return fail('"layers"', 'must be a non-empty array');
  const ids = new Set<string>();
  const layers: MappedLayer[] = (m.layers as unknown[]).map((l, i) => {
    const x = l as { id?: unknown; kind?: unknown; name?: unknown; patterns?: unknown };
    if (typeof x?.id !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(x.id) || x.id === 'base') fail(`layers[${i}].id`, 'must be a name like "os" (letters, digits, . _ -; "base" is reserved)');
    if (ids.has(x.id as string)) fail(`layers[${i}].id`, `repeats ${JSON.stringify(x.id)}`);
    ids.add(x.id as string);
    if (!(LAYER_KINDS as readonly unknown[]).includes(x.kind)) fail(`layers[${i}].kind`, `must be one of ${LAYER_KINDS.join(', ')}`);
    if (!Array.isArray(x.patterns) || x.patterns.some((p) => typeof p !== 'string' || p === '')) fail(`layers[${i}].patterns`, 'must be an array of path patterns such as "/usr/**"');
    return { id: x.id as string, kind: x.kind as LayerKind, name: typeof x.name === 'string' ? x.name : (x.id as string), patterns: x.patterns as string[] };
  });
  if (m.exclude !== undefined && (!Array.isArray(m.exclude) || m.exclude.some((p) => typeof p !== 'string'))) fail('"exclude"', 'must be an array of path patterns');
  if (m.default !== undefined && (typeof m.default !== 'string' || !ids.has(m.default))) fail('"default"', `must name one of the layers (${[...ids].join(', ')})`);
  let defaultLayer = typeof m.default === 'string' ? m.default : ids.has('user-data') ? 'user-data' : undefined;
  if (defaultLayer === undefined) {
    layers.push({ id: 'user-data', kind: 'user-data', name: 'unassigned paths', patterns: [] });
    defaultLayer = 'user-data';
  }
  const base = typeof options.base === 'string' && options.base !== '' ? options.base : typeof m.base === 'string' ? m.base : undefined;
  return { layers, defaultLayer, exclude: (m.exclude as string[] | undefined) ?? [], ...(base !== undefined ? { base: path.resolve(base) } : {}) };
}

/**
 * Compiles a path pattern. Paths are source-relative ('usr/bin/ls'); a
 * leading '/' in the pattern is optional. `*` matches within one component,
 * `?` one character, `**` any number of components. A pattern without
 * wildcards matches the path and everything below it; `dir/**` matches `dir`
 * itself too.
 */
export function compilePattern(pattern: string): RegExp {
  const p = pattern.replace(/^\/+/, '').replace(/\/+$/, '');
  if (!/[*?]/.test(p)) return new RegExp(`^${escape(p)}(?:/.*)?$`);
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*' && p[i + 1] === '*') {
      const slash = p[i + 2] === '/';
      re += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += escape(c);
  }
  re = re.replace(/\/\.\*$/, '(?:/.*)?');
  return new RegExp(`^${re}$`);
}

function escape(s: string): string {
  return s.replace(/[.+^${}()|[\]\\]/g, '\\$&');
}
