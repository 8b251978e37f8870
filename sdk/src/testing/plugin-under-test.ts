import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { EbmError } from '../errors/ebm-error';
import type { PluginDescriptor } from '../manifest/manifest';
import { validateManifest } from '../manifest/validate-manifest';
import { findTranslatorExport } from '../translator/translator';
import type { Translator } from '../translator/translator';
import type { PluginUnderTest } from './harness-host';

/**
 * Reads a plugin package the way ebm's discovery does: package.json, its
 * "ebm" manifest validated (API range included), the entry path kept inside
 * the package. Synchronous, so the tester can name its cases after the
 * plugin while the test runner collects them. Throws an EbmError naming the
 * package and what is wrong.
 */
export function readPluginPackage(packageDir: string): PluginDescriptor {
  const dir = path.resolve(packageDir);
  const file = path.join(dir, 'package.json');
  let pkg: { name?: unknown; version?: unknown; ebm?: unknown };
  try {
    pkg = JSON.parse(readFileSync(file, 'utf8')) as typeof pkg;
  } catch (err) {
    throw new EbmError('E_PLUGIN_MANIFEST', `cannot read the plugin's package.json at ${file}: ${(err as Error).message}`, { subject: file, op: 'load' });
  }
  const packageName = typeof pkg.name === 'string' ? pkg.name : path.basename(dir);
  if (pkg.ebm === undefined) {
    throw new EbmError('E_PLUGIN_MANIFEST', `package ${packageName} (${dir}) is not an ebm plugin: its package.json has no "ebm" field`, { subject: file, op: 'load' });
  }
  const manifest = validateManifest(pkg.ebm, packageName);
  const entryPath = path.resolve(dir, manifest.entry);
  const rel = path.relative(dir, entryPath);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new EbmError('E_PLUGIN_MANIFEST', `plugin package ${packageName}: "ebm.entry" (${manifest.entry}) lies outside the package`, { subject: file, op: 'load' });
  }
  return { manifest, packageName, version: typeof pkg.version === 'string' ? pkg.version : '0.0.0', packageDir: dir, entryPath };
}

/**
 * Loads the plugin's entry module in this thread (the same compiled module a
 * worker loads) and picks its translator; `override` replaces it (e.g. a
 * translator object the test imported itself).
 */
export async function loadPluginUnderTest(descriptor: PluginDescriptor, override?: Translator): Promise<PluginUnderTest> {
  if (override !== undefined) return { ...descriptor, translator: override };
  let mod: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(descriptor.entryPath);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_REQUIRE_ESM') {
      mod = await import(pathToFileURL(descriptor.entryPath).href);
    } else {
      throw new EbmError('E_PLUGIN_LOAD', `plugin ${descriptor.manifest.id} could not be loaded from ${descriptor.entryPath}: ${(err as Error).message} (is it compiled?)`, { plugin: descriptor.manifest.id, op: 'load', cause: err });
    }
  }
  const translator = findTranslatorExport(mod);
  if (translator === undefined) {
    throw new EbmError('E_PLUGIN_LOAD', `plugin ${descriptor.manifest.id} (${descriptor.entryPath}) exports no translator: export one built with defineTranslator as "default" or "translator"`, { plugin: descriptor.manifest.id, op: 'load' });
  }
  return { ...descriptor, translator };
}
