import * as fs from 'node:fs';
import * as path from 'node:path';
import { builtinModules } from 'node:module';

/**
 * Architecture boundaries (style.md): the SDK imports nothing from core, and
 * plugins import only the SDK's public entry (plus Node built-ins, their own
 * declared dependencies and their own files). A violation names the file.
 */
const repoRoot = path.resolve(__dirname, '..', '..');
const IMPORT_RE = /(?:^|[^\w.])(?:import|export)\s[^'"`]*?from\s*['"]([^'"]+)['"]|(?:^|[^\w.])(?:require|import)\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]/gm;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|js|mjs|cjs)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specs: string[] = [];
  for (const m of text.matchAll(IMPORT_RE)) specs.push((m[1] ?? m[2] ?? m[3])!);
  return specs;
}

const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
const packageOf = (spec: string) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);

/** Test files of a plugin: they may also use the testing entries and devDependencies. */
const isTestFile = (rel: string) => /\.test\.(ts|js)$/.test(rel) || rel.split(path.sep).slice(0, 2).join('/') === 'src/testing';
const TESTING_ENTRIES = new Set(['@ebm/sdk/testing', '@ebm/core/testing']);

/**
 * What a plugin package does wrong, as "file imports x (why)" lines, paths
 * relative to the package (package.json problems first). Runtime code: '@ebm/sdk' only
 * among @ebm packages, other packages from dependencies/peerDependencies.
 * Test files (*.test.ts, src/testing/**): additionally '@ebm/sdk/testing' and
 * '@ebm/core/testing' (declared: @ebm/core as a devDependency) and any
 * devDependency. @ebm/core is never a runtime dependency.
 */
function pluginOffences(dir: string): string[] {
  const offenders: string[] = [];
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; peerDependencies?: Record<string, string>; devDependencies?: Record<string, string> };
  const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
  const dev = new Set([...declared, ...Object.keys(pkg.devDependencies ?? {})]);
  if (declared.has('@ebm/core')) offenders.push('package.json depends on @ebm/core (allowed only as a devDependency, for tests)');
  const src = path.join(dir, 'src');
  for (const file of sourceFiles(src).sort()) {
    const rel = path.relative(dir, file);
    const test = isTestFile(rel);
    for (const spec of importsOf(file)) {
      if (spec.startsWith('.')) {
        if (!path.resolve(path.dirname(file), spec).startsWith(src)) offenders.push(`${rel} imports ${spec} (outside the plugin)`);
      } else if (test && TESTING_ENTRIES.has(spec)) {
        if (!dev.has(packageOf(spec))) offenders.push(`${rel} imports ${spec} (not a declared devDependency)`);
      } else if (spec.startsWith('@ebm/')) {
        if (spec !== '@ebm/sdk') offenders.push(`${rel} imports ${spec} (${test ? "test files may add only '@ebm/sdk/testing' and '@ebm/core/testing'" : "only the SDK's public entry '@ebm/sdk' is allowed"})`);
      } else if (!builtins.has(spec) && !(test ? dev : declared).has(packageOf(spec))) {
        offenders.push(`${rel} imports ${spec} (not a declared ${test ? 'dependency or devDependency' : 'dependency'})`);
      }
    }
  }
  return offenders;
}

describe('architecture boundaries', () => {
  it('sdk/ imports nothing from core/ (nor any @ebm package but itself)', () => {
    const offenders: string[] = [];
    const sdkSrc = path.join(repoRoot, 'sdk', 'src');
    for (const file of sourceFiles(sdkSrc)) {
      for (const spec of importsOf(file)) {
        const escapes = spec.startsWith('.') && !path.resolve(path.dirname(file), spec).startsWith(sdkSrc);
        if (spec.startsWith('@ebm/') || escapes) offenders.push(`${path.relative(repoRoot, file)} imports ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('plugins import only @ebm/sdk (its public entry), Node built-ins, their declared dependencies and their own files', () => {
    const pluginsDir = path.join(repoRoot, 'plugins');
    const plugins = fs.readdirSync(pluginsDir).filter((d) => fs.existsSync(path.join(pluginsDir, d, 'package.json')));
    expect(plugins).toContain('translator-filesystem');
    expect(plugins.flatMap((plugin) => pluginOffences(path.join(pluginsDir, plugin)).map((o) => `plugins/${plugin}/${o}`))).toEqual([]);
  });

  it('the plugin rule fails on violations, and lets only test files use the testing entries', () => {
    const tmp = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'ebm-bound-plugin-'));
    const write = (rel: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(tmp, rel)), { recursive: true });
      fs.writeFileSync(path.join(tmp, rel), text);
    };
    write('package.json', JSON.stringify({ name: 'p', peerDependencies: { '@ebm/sdk': '0.1.0' }, devDependencies: { '@ebm/core': '0.1.0', jest: '29' } }));
    write('src/index.ts', "import { defineTranslator } from '@ebm/sdk';\nimport { TranslatorTester } from '@ebm/sdk/testing';\nimport jest from 'jest';\n");
    write('src/conformance.test.ts', "import { TranslatorTester } from '@ebm/sdk/testing';\nimport { createPluginHostHarness } from '@ebm/core/testing';\nimport { Repository } from '@ebm/core';\nimport jest from 'jest';\n");
    write('src/testing/fixtures.ts', "import { fileEquality } from '@ebm/sdk/testing';\n");
    try {
      expect(pluginOffences(tmp)).toEqual([
        "src/conformance.test.ts imports @ebm/core (test files may add only '@ebm/sdk/testing' and '@ebm/core/testing')",
        "src/index.ts imports @ebm/sdk/testing (only the SDK's public entry '@ebm/sdk' is allowed)",
        'src/index.ts imports jest (not a declared dependency)',
      ]);
      write('package.json', JSON.stringify({ name: 'p', dependencies: { '@ebm/core': '0.1.0' }, peerDependencies: { '@ebm/sdk': '0.1.0' } }));
      expect(pluginOffences(tmp)).toContain('package.json depends on @ebm/core (allowed only as a devDependency, for tests)');
      write('package.json', JSON.stringify({ name: 'p', peerDependencies: { '@ebm/sdk': '0.1.0' } }));
      expect(pluginOffences(tmp)).toContain('src/conformance.test.ts imports @ebm/core/testing (not a declared devDependency)');
    } finally {
      fs.rmSync(tmp, { recursive: true });
    }
  });

  it('the import scanner itself catches a forbidden import (so the checks above can fail)', () => {
    const tmp = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'ebm-bound-'));
    const f = path.join(tmp, 'x.ts');
    fs.writeFileSync(f, "import { Repository } from '@ebm/core';\nconst x = require('../../core/src/repository');\nimport 'reflect-metadata';\n");
    expect(importsOf(f)).toEqual(['@ebm/core', '../../core/src/repository', 'reflect-metadata']);
    fs.rmSync(tmp, { recursive: true });
  });
});
