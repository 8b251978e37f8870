import { EbmError } from '../errors/ebm-error';
import { splitSafePath } from '../paths/safe-path';
import { LAYER_CHANGE_KINDS, LAYER_CONTRACT_VERSION, LAYER_DIGEST_PATTERN, LAYER_KINDS, LAYER_LAYOUTS } from './layer';
import type { LayerChange, LayerFile, LayerInfo, LayerReport } from './layer';

const ENTRY_TYPES = ['file', 'dir', 'symlink', 'other'];

/**
 * Checks a provider's discovery answer against the contract and returns it
 * typed. A violation is the provider's bug: E_PLUGIN_FAILED naming the
 * plugin (when given) and the field at fault, e.g. `layers[2].digest`.
 */
export function validateLayerReport(raw: unknown, plugin?: string): LayerReport {
  const fail = (field: string, problem: string): never => {
    throw new EbmError('E_PLUGIN_FAILED', `layer provider${plugin ? ` ${plugin}` : ''} returned an invalid discovery report: ${field} ${problem}`, {
      ...(plugin !== undefined ? { plugin } : {}), op: 'discover', subject: field,
    });
  };
  if (!isRecord(raw)) return fail('the report', 'must be an object');
  if (raw.contractVersion !== LAYER_CONTRACT_VERSION) fail('contractVersion', `is ${JSON.stringify(raw.contractVersion)}; this SDK implements layer contract version ${LAYER_CONTRACT_VERSION}`);
  if (typeof raw.source !== 'string' || raw.source === '') fail('source', 'must be a non-empty string');
  if (!(LAYER_LAYOUTS as readonly unknown[]).includes(raw.layout)) fail('layout', `must be one of ${LAYER_LAYOUTS.join(', ')}, got ${JSON.stringify(raw.layout)}`);
  if (raw.meta !== undefined && !isRecord(raw.meta)) fail('meta', 'must be an object when present');
  if (!Array.isArray(raw.layers) || raw.layers.length === 0) return fail('layers', 'must be a non-empty array (bottom layer first)');
  const ids = new Set<string>();
  (raw.layers as unknown[]).forEach((layer, i) => {
    const at = `layers[${i}]`;
    if (!isRecord(layer)) return fail(at, 'must be an object');
    if (typeof layer.id !== 'string' || layer.id === '') fail(`${at}.id`, 'must be a non-empty string');
    if (ids.has(layer.id as string)) fail(`${at}.id`, `repeats the id ${JSON.stringify(layer.id)}; layer ids are unique within a source`);
    ids.add(layer.id as string);
    if (!(LAYER_KINDS as readonly unknown[]).includes(layer.kind)) fail(`${at}.kind`, `must be one of ${LAYER_KINDS.join(', ')}, got ${JSON.stringify(layer.kind)}`);
    if (typeof layer.name !== 'string' || layer.name === '') fail(`${at}.name`, 'must be a non-empty string');
    if (layer.order !== i) fail(`${at}.order`, `is ${JSON.stringify(layer.order)}; layers are listed bottom first and layers[i].order must be i`);
    if (typeof layer.immutable !== 'boolean') fail(`${at}.immutable`, 'must be a boolean');
    if (layer.immutable === true && layer.digest === undefined) fail(`${at}.digest`, 'is required for an immutable layer (its identity across hosts)');
    if (layer.digest !== undefined && (typeof layer.digest !== 'string' || !LAYER_DIGEST_PATTERN.test(layer.digest))) {
      fail(`${at}.digest`, `must be "algorithm:hex" such as "sha256:…", got ${JSON.stringify(layer.digest)}`);
    }
    for (const key of ['bytes', 'files'] as const) {
      const v = layer[key];
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(`${at}.${key}`, `must be a non-negative integer, got ${JSON.stringify(v)}`);
    }
    if (layer.root !== undefined && (typeof layer.root !== 'string' || !layer.root.startsWith('/'))) fail(`${at}.root`, 'must be an absolute directory path when present');
    return undefined;
  });
  return raw as unknown as LayerReport;
}

/**
 * Checks one batch of a files or changes answer for `layer` of `report`:
 * paths are safe relative paths, each change is well-formed, and a
 * metacopy's data comes from a layer below. E_PLUGIN_FAILED otherwise.
 */
export function validateLayerBatch(raw: unknown, what: 'files', report: LayerReport, layer: string, plugin?: string): readonly LayerFile[];
export function validateLayerBatch(raw: unknown, what: 'changes', report: LayerReport, layer: string, plugin?: string): readonly LayerChange[];
export function validateLayerBatch(raw: unknown, what: 'files' | 'changes', report: LayerReport, layer: string, plugin?: string): readonly (LayerFile | LayerChange)[] {
  const fail = (field: string, problem: string): never => {
    throw new EbmError('E_PLUGIN_FAILED', `layer provider${plugin ? ` ${plugin}` : ''} returned an invalid ${what} batch for layer ${layer}: ${field} ${problem}`, {
      ...(plugin !== undefined ? { plugin } : {}), op: what, subject: field,
    });
  };
  const self: LayerInfo | undefined = report.layers.find((l) => l.id === layer);
  if (self === undefined) return fail('the request', `names a layer the report does not have`);
  if (!Array.isArray(raw)) return fail('the batch', 'must be an array');
  (raw as unknown[]).forEach((item, i) => {
    const at = `[${i}]`;
    if (!isRecord(item)) return fail(at, 'must be an object');
    safePath(item.path, `${at}.path`, fail);
    if (what === 'files') {
      if (!ENTRY_TYPES.includes(item.type as string)) fail(`${at}.type`, `must be one of ${ENTRY_TYPES.join(', ')}`);
      if (typeof item.size !== 'number' || !Number.isSafeInteger(item.size) || item.size < 0) fail(`${at}.size`, 'must be a non-negative integer');
      return undefined;
    }
    if (!LAYER_CHANGE_KINDS.includes(item.change as LayerChange['change'])) fail(`${at}.change`, `must be one of ${LAYER_CHANGE_KINDS.join(', ')}, got ${JSON.stringify(item.change)}`);
    if (item.change !== 'deleted' && !ENTRY_TYPES.includes(item.type as string)) fail(`${at}.type`, `must be one of ${ENTRY_TYPES.join(', ')} for a '${String(item.change)}' change`);
    if (item.lowerPath !== undefined) safePath(item.lowerPath, `${at}.lowerPath`, fail);
    if (item.change === 'redirect' && item.lowerPath === undefined) fail(`${at}.lowerPath`, 'is required for a redirect');
    if (item.change === 'metacopy') {
      const from = item.dataFrom;
      if (!isRecord(from)) return fail(`${at}.dataFrom`, 'is required for a metacopy (where the data lives)');
      const source = report.layers.find((l) => l.id === from.layer);
      if (source === undefined || source.order >= self.order) fail(`${at}.dataFrom.layer`, `must name a layer below ${layer}, got ${JSON.stringify(from.layer)}`);
      safePath(from.path, `${at}.dataFrom.path`, fail);
    }
    return undefined;
  });
  return raw as readonly (LayerFile | LayerChange)[];
}

function safePath(value: unknown, field: string, fail: (field: string, problem: string) => never): void {
  if (typeof value !== 'string') fail(field, 'must be a string');
  try {
    splitSafePath(value as string);
  } catch {
    fail(field, `${JSON.stringify(value)} is not a safe relative POSIX path (no leading '/', no '.', '..' or empty components)`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
