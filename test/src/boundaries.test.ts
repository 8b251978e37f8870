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
    const offenders: string[] = [];
    const pluginsDir = path.join(repoRoot, 'plugins');
    const plugins = fs.readdirSync(pluginsDir).filter((d) => fs.existsSync(path.join(pluginsDir, d, 'package.json')));
    expect(plugins).toContain('translator-filesystem');
    for (const plugin of plugins) {
      const dir = path.join(pluginsDir, plugin);
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; peerDependencies?: Record<string, string> };
      const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
      if (declared.has('@ebm/core')) offenders.push(`${plugin}/package.json depends on @ebm/core`);
      const src = path.join(dir, 'src');
      for (const file of sourceFiles(src)) {
        for (const spec of importsOf(file)) {
          if (spec.startsWith('.')) {
            if (!path.resolve(path.dirname(file), spec).startsWith(src)) offenders.push(`${path.relative(repoRoot, file)} imports ${spec} (outside the plugin)`);
          } else if (spec.startsWith('@ebm/')) {
            if (spec !== '@ebm/sdk') offenders.push(`${path.relative(repoRoot, file)} imports ${spec} (only the SDK's public entry '@ebm/sdk' is allowed)`);
          } else if (!builtins.has(spec) && !declared.has(packageOf(spec))) {
            offenders.push(`${path.relative(repoRoot, file)} imports ${spec} (not a declared dependency)`);
          }
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it('the import scanner itself catches a forbidden import (so the checks above can fail)', () => {
    const tmp = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'ebm-bound-'));
    const f = path.join(tmp, 'x.ts');
    fs.writeFileSync(f, "import { Repository } from '@ebm/core';\nconst x = require('../../core/src/repository');\nimport 'reflect-metadata';\n");
    expect(importsOf(f)).toEqual(['@ebm/core', '../../core/src/repository', 'reflect-metadata']);
    fs.rmSync(tmp, { recursive: true });
  });
});
