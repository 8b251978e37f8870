// Only the two functions used: the whole of semver costs every worker thread ~13 ms of start-up.
import satisfies = require('semver/functions/satisfies');
import validRange = require('semver/ranges/valid');
import { EbmError } from '../errors/ebm-error';
import { KNOWN_CAPABILITIES, OptionSpec, PLUGIN_API_VERSION, PluginManifest } from './manifest';

const ID_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;
const OPTION_TYPES = ['string', 'string[]', 'boolean', 'number'];

/**
 * Validates the "ebm" field of a package.json. Throws E_PLUGIN_MANIFEST naming
 * the package and the field at fault, or E_PLUGIN_API_MISMATCH when the
 * declared API range does not include this host's PLUGIN_API_VERSION.
 */
export function validateManifest(raw: unknown, packageName: string, hostApiVersion: string = PLUGIN_API_VERSION): PluginManifest {
  const fail = (field: string, problem: string): never => {
    throw new EbmError('E_PLUGIN_MANIFEST', `plugin package ${packageName}: manifest field "ebm.${field}" ${problem}`, {
      subject: packageName,
      op: 'load',
    });
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('', 'must be an object');
  const m = raw as Record<string, unknown>;
  if (typeof m.id !== 'string' || !ID_PATTERN.test(m.id)) fail('id', 'must be a lowercase id like "filesystem" (a-z, 0-9, -)');
  if (m.kind !== 'translator' && m.kind !== 'layer-provider') fail('kind', 'must be "translator" or "layer-provider"');
  if (typeof m.apiVersion !== 'string' || validRange(m.apiVersion) === null) fail('apiVersion', 'must be a semver range such as "^1.0.0"');
  if (typeof m.entry !== 'string' || m.entry === '' || m.entry.startsWith('/') || m.entry.split(/[\\/]/).includes('..')) {
    fail('entry', 'must be a module path inside the package, e.g. "dist/index.js"');
  }
  if (!Array.isArray(m.capabilities)) fail('capabilities', 'must be an array');
  for (const c of m.capabilities as unknown[]) {
    if (!(KNOWN_CAPABILITIES as readonly unknown[]).includes(c)) fail('capabilities', `has unknown capability ${JSON.stringify(c)} (known: ${KNOWN_CAPABILITIES.join(', ')})`);
  }
  for (const key of ['displayName', 'description'] as const) {
    if (m[key] !== undefined && typeof m[key] !== 'string') fail(key, 'must be a string');
  }
  if (m.resources !== undefined) {
    const r = m.resources as Record<string, unknown>;
    if (typeof r !== 'object' || r === null) fail('resources', 'must be an object');
    for (const key of ['memoryMiB', 'threads'] as const) {
      const v = r[key];
      if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)) fail(`resources.${key}`, 'must be a positive integer');
    }
  }
  if (m.options !== undefined) {
    if (!Array.isArray(m.options)) fail('options', 'must be an array');
    (m.options as unknown[]).forEach((o, i) => {
      const opt = o as Partial<OptionSpec>;
      if (typeof opt !== 'object' || opt === null || typeof opt.name !== 'string' || !/^[a-z][a-z0-9-]*$/.test(opt.name)) fail(`options[${i}].name`, 'must be a kebab-case name');
      if (!OPTION_TYPES.includes(opt.type as string)) fail(`options[${i}].type`, `must be one of ${OPTION_TYPES.join(', ')}`);
      if (typeof opt.description !== 'string') fail(`options[${i}].description`, 'must be a string');
    });
  }
  const manifest = m as unknown as PluginManifest;
  if (!satisfies(hostApiVersion, manifest.apiVersion)) {
    throw new EbmError(
      'E_PLUGIN_API_MISMATCH',
      `plugin ${manifest.id} (${packageName}) supports plugin API ${manifest.apiVersion}, but this ebm provides plugin API ${hostApiVersion}`,
      { plugin: manifest.id, subject: packageName, op: 'load' },
    );
  }
  return manifest;
}
