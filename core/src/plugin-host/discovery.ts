import { readFileSync, realpathSync } from 'node:fs';
import * as path from 'node:path';
import { EbmError, PLUGIN_API_VERSION, toErrorRecord, validateManifest } from '@ebm/sdk';
import type { ErrorRecord, PluginDescriptor } from '@ebm/sdk';
import { expandNamedDir, listPackageDirs, nodeModulesPath, owningPackageDir, PackageCandidate, splitPluginPath } from './plugin-search-path';

export interface DiscoveryOptions {
  /** Operator-named dirs (each a plugin package dir or a folder of them); searched first. */
  readonly dirs?: readonly string[];
  /** Colon-separated like EBM_PLUGIN_PATH; defaults to process.env.EBM_PLUGIN_PATH. Searched second. */
  readonly pluginPath?: string;
  /** Search the node_modules folders on the resolution path (default true). Searched last. */
  readonly searchNodeModules?: boolean;
  /** Where the node_modules search starts (default: @ebm/core's own package dir). */
  readonly fromDir?: string;
  /** The plugin-API version to check manifests against (default PLUGIN_API_VERSION). */
  readonly hostApiVersion?: string;
}

/** A package that looks like a plugin but cannot be used; `ebm plugins` lists these. */
export interface PluginProblem {
  readonly packageDir: string;
  /** The manifest's id when it could be read, so that asking for it gives this error. */
  readonly id?: string;
  readonly error: ErrorRecord;
}

export interface DiscoveryResult {
  /** Usable plugins, in search order (explicit dirs, EBM_PLUGIN_PATH, node_modules). */
  readonly plugins: readonly PluginDescriptor[];
  readonly problems: readonly PluginProblem[];
}

type Inspection = { readonly descriptor: PluginDescriptor } | { readonly problem: PluginProblem } | undefined;

/**
 * Finds plugin packages (those whose package.json has an "ebm" field) and
 * validates their manifests. Reads package.json files only: no plugin code
 * runs. A broken plugin becomes a problem; discovery itself never fails for
 * one. Package dirs are deduplicated by realpath; for a duplicate id, the
 * first found wins and the other is a problem. Synchronous (see
 * plugin-search-path.ts for why).
 */
export function discoverPlugins(options: DiscoveryOptions = {}): DiscoveryResult {
  const problems: PluginProblem[] = [];
  const candidates: PackageCandidate[] = [];
  const named: Array<[string, 'explicit' | 'EBM_PLUGIN_PATH']> = [
    ...(options.dirs ?? []).map((d): [string, 'explicit'] => [d, 'explicit']),
    ...splitPluginPath(options.pluginPath ?? process.env.EBM_PLUGIN_PATH).map((d): [string, 'EBM_PLUGIN_PATH'] => [d, 'EBM_PLUGIN_PATH']),
  ];
  for (const [dir, origin] of named) {
    const expanded = expandNamedDir(dir, origin);
    if (expanded === undefined) {
      problems.push({ packageDir: path.resolve(dir), error: record('E_PLUGIN_NOT_FOUND', `plugin directory ${path.resolve(dir)} (${origin === 'explicit' ? 'given explicitly' : 'from EBM_PLUGIN_PATH'}) does not exist or is not a directory`) });
    } else {
      candidates.push(...expanded);
    }
  }
  if (options.searchNodeModules ?? true) {
    const from = options.fromDir ?? owningPackageDir(__dirname);
    for (const folder of nodeModulesPath(from)) {
      for (const dir of listPackageDirs(folder)) candidates.push({ dir, origin: 'node_modules', named: false });
    }
  }

  const seenDirs = new Set<string>();
  const byId = new Map<string, PluginDescriptor>();
  for (const candidate of candidates) {
    const real = realpathOr(candidate.dir);
    if (seenDirs.has(real)) continue;
    seenDirs.add(real);
    const result = inspectPackage(real, candidate, options.hostApiVersion ?? PLUGIN_API_VERSION);
    if (result === undefined) continue;
    if ('problem' in result) {
      problems.push(result.problem);
      continue;
    }
    const { descriptor } = result;
    const first = byId.get(descriptor.manifest.id);
    if (first !== undefined) {
      problems.push({
        packageDir: descriptor.packageDir,
        id: descriptor.manifest.id,
        error: record('E_PLUGIN_MANIFEST', `plugin id "${descriptor.manifest.id}" of ${descriptor.packageName} (${descriptor.packageDir}) is already provided by ${first.packageName} (${first.packageDir}); this copy is ignored`, { plugin: descriptor.manifest.id, subject: descriptor.packageDir }),
      });
      continue;
    }
    byId.set(descriptor.manifest.id, descriptor);
  }
  return { plugins: [...byId.values()], problems };
}

/** Reads one package.json; undefined when the package is not a plugin (and nobody said it was). */
function inspectPackage(packageDir: string, candidate: PackageCandidate, hostApiVersion: string): Inspection {
  const problem = (error: ErrorRecord, id?: string): Inspection => ({ problem: id === undefined ? { packageDir, error } : { packageDir, id, error } });
  const pkgFile = path.join(packageDir, 'package.json');
  let text: string;
  try {
    text = readFileSync(pkgFile, 'utf8');
  } catch (err) {
    return candidate.named ? problem(record('E_PLUGIN_MANIFEST', `cannot read ${pkgFile}: ${(err as Error).message}`, { subject: pkgFile })) : undefined;
  }
  // Cheap pre-filter: most of node_modules is not a plugin; skip parsing those.
  if (!candidate.named && !text.includes('"ebm"')) return undefined;
  let pkg: { name?: unknown; version?: unknown; ebm?: unknown };
  try {
    pkg = JSON.parse(text) as typeof pkg;
  } catch (err) {
    return problem(record('E_PLUGIN_MANIFEST', `${pkgFile} is not valid JSON: ${(err as Error).message}`, { subject: pkgFile }));
  }
  if (typeof pkg !== 'object' || pkg === null) return candidate.named ? problem(record('E_PLUGIN_MANIFEST', `${pkgFile} is not a JSON object`, { subject: pkgFile })) : undefined;
  const packageName = typeof pkg.name === 'string' ? pkg.name : path.basename(packageDir);
  if (pkg.ebm === undefined) {
    return candidate.named
      ? problem(record('E_PLUGIN_MANIFEST', `package ${packageName} (${packageDir}) is not an ebm plugin: its package.json has no "ebm" field`, { subject: packageDir }))
      : undefined;
  }
  const rawId = (pkg.ebm as { id?: unknown } | null)?.id;
  const id = typeof rawId === 'string' ? rawId : undefined;
  try {
    const manifest = validateManifest(pkg.ebm, packageName, hostApiVersion);
    const entryPath = containedEntryPath(packageDir, manifest.entry, packageName);
    const version = typeof pkg.version === 'string' ? pkg.version : '0.0.0';
    return { descriptor: Object.freeze({ manifest: deepFreeze(manifest), packageName, version, packageDir, entryPath }) };
  } catch (err) {
    const { stack: _stack, ...rec } = toErrorRecord(err, 'E_PLUGIN_MANIFEST'); // a validation stack trace helps nobody
    return problem({ ...rec, subject: rec.subject ?? packageDir, ...(id !== undefined && rec.plugin === undefined ? { plugin: id } : {}) }, id);
  }
}

/**
 * The absolute entry path, refused when it resolves (through symlinks) outside
 * the package directory. A missing entry is not refused here: loading reports it.
 */
function containedEntryPath(packageDir: string, entry: string, packageName: string): string {
  const lexical = path.resolve(packageDir, entry);
  const resolved = realpathOr(lexical);
  const rel = path.relative(packageDir, resolved);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new EbmError('E_PLUGIN_MANIFEST', `plugin package ${packageName}: manifest field "ebm.entry" (${entry}) resolves to ${resolved}, outside the package directory ${packageDir}`, { subject: packageDir, op: 'load' });
  }
  return lexical;
}

function realpathOr(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

function record(code: ErrorRecord['code'], message: string, extra: { plugin?: string; subject?: string } = {}): ErrorRecord {
  const { stack: _stack, ...rec } = new EbmError(code, message, { op: 'discover', ...extra }).toRecord();
  return rec;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
