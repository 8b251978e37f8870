import { EbmError, LAYER_KINDS, LAYER_LAYOUTS } from '@ebm/sdk';
import type { JsonValue, LayerKind, LayerLayout } from '@ebm/sdk';
import type { Snapshot } from '../repository/types';

/**
 * The layered-endpoint record (docs/format.md, "Layered snapshots"): an
 * endpoint snapshot's `meta.layered`. It names, bottom first, the layer
 * snapshots that make up the endpoint. Its own `format`/`version` version
 * this record independently of the snapshot file (`v` stays 1): a reader
 * refuses a version it does not know.
 */
export const LAYERED_FORMAT = 'ebm-layered-endpoint';
export const LAYERED_VERSION = 1;
/**
 * The version of a record one of whose layers names a layered snapshot (a
 * base stored as an older base plus a delta): a version-1 reader would
 * restore that layer's empty tree and silently lose the base, so it must
 * refuse such a record. Writers use it only when a layer nests
 * (saveEndpointSnapshot decides); readers read both.
 */
export const LAYERED_NESTED_VERSION = 2;
const READABLE_VERSIONS: readonly unknown[] = [LAYERED_VERSION, LAYERED_NESTED_VERSION];
/** Tag of every layer snapshot of an immutable layer (stored once per repository). */
export const BASE_TAG = 'base';
/** Tag of every layer snapshot (base or mutable). */
export const LAYER_TAG = 'layer';
/** Tag of every endpoint snapshot. */
export const ENDPOINT_TAG = 'endpoint';

export interface EndpointLayerRef {
  readonly id: string;
  readonly kind: LayerKind;
  readonly order: number;
  readonly immutable: boolean;
  readonly digest?: string;
  /** The layer snapshot's id; null when no snapshot of the layer exists (not selected and never stored). */
  readonly snapshot: string | null;
  /** What this backup did for the layer. */
  readonly action: LayerAction;
}

/**
 * - `stored`: read and stored now (a base layer's first backup, or a mutable layer's);
 * - `referenced`: a base layer already in the repository: nothing read;
 * - `previous`: not selected (--layers): the latest stored snapshot of the layer;
 * - `missing`: not selected and never stored.
 */
export type LayerAction = 'stored' | 'referenced' | 'previous' | 'missing';

export interface LayeredRecord {
  readonly format: typeof LAYERED_FORMAT;
  readonly version: number;
  /** The layer provider that discovered the layers. */
  readonly provider: { readonly id: string; readonly version: string };
  readonly layout: LayerLayout;
  /** The provider's normalised source. */
  readonly source: string;
  readonly layers: readonly EndpointLayerRef[];
}

/** Dataset of an immutable layer's snapshot: one per digest per repository. */
export function baseLayerDataset(digest: string): string {
  return `layer:${digest}`;
}

/** Dataset of a mutable layer's snapshots: per endpoint and layer id, so incrementals chain per layer. */
export function mutableLayerDataset(endpoint: string, layerId: string): string {
  return `${endpoint}#layer:${layerId}`;
}

/** The layered record of a snapshot, undefined for an ordinary snapshot; E_CORRUPT_OBJECT if malformed or too new. */
export function layeredRecordOf(snapshot: Pick<Snapshot, 'meta'> & { readonly id?: string }): LayeredRecord | undefined {
  const raw = snapshot.meta?.layered;
  if (raw === undefined) return undefined;
  const what = `snapshot ${snapshot.id?.slice(0, 8) ?? '(new)'}`;
  const bad = (why: string): never => {
    throw new EbmError('E_CORRUPT_OBJECT', `${what} has an invalid layered-endpoint record: ${why}`, { subject: snapshot.id ?? 'snapshot' });
  };
  const r = raw as Partial<Record<keyof LayeredRecord, JsonValue>>;
  if (typeof r !== 'object' || r === null || r.format !== LAYERED_FORMAT) return bad('format is not ebm-layered-endpoint');
  if (!READABLE_VERSIONS.includes(r.version)) {
    throw new EbmError('E_UNSUPPORTED_FORMAT', `${what} is a layered-endpoint record of version ${JSON.stringify(r.version)}; this ebm reads versions ${READABLE_VERSIONS.join(' and ')}: upgrade ebm`, { subject: snapshot.id ?? 'snapshot' });
  }
  if (typeof r.layout !== 'string' || !(LAYER_LAYOUTS as readonly string[]).includes(r.layout)) return bad('unknown layout');
  if (!Array.isArray(r.layers) || r.layers.length === 0) return bad('no layers');
  r.layers.forEach((l, i) => {
    const x = l as Partial<Record<keyof EndpointLayerRef, JsonValue>> | null;
    if (typeof x !== 'object' || x === null || typeof x.id !== 'string' || x.order !== i) return bad(`layers[${i}] is malformed or out of order`);
    if (typeof x.kind !== 'string' || !(LAYER_KINDS as readonly string[]).includes(x.kind)) return bad(`layers[${i}].kind is unknown`);
    if (x.snapshot !== null && (typeof x.snapshot !== 'string' || !/^[0-9a-f]{64}$/.test(x.snapshot))) return bad(`layers[${i}].snapshot is not a snapshot id`);
    return undefined;
  });
  return raw as unknown as LayeredRecord;
}

/** The record as snapshot meta (plain JSON). */
export function layeredMeta(record: LayeredRecord): { readonly [key: string]: JsonValue } {
  return { layered: JSON.parse(JSON.stringify(record)) as JsonValue };
}
