import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EbmError } from '@ebm/sdk';
import { discoverPlugins } from './discovery';
import { PluginRegistry } from './plugin-registry';

const FIXTURES = path.resolve(__dirname, '../../test-fixtures/plugins');
const FILESYSTEM_PLUGIN = realpathSync(path.resolve(__dirname, '../../../plugins/translator-filesystem'));

function catchError(fn: () => unknown): EbmError {
  try {
    fn();
  } catch (err) {
    return err as EbmError;
  }
  throw new Error('expected an error');
}

async function writePackage(dir: string, name: string, ebm: unknown, files: Record<string, string> = { 'index.js': 'module.exports = {};' }): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name, version: '2.0.0', ...(ebm === undefined ? {} : { ebm }) }));
  for (const [file, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), text);
  }
}

const manifest = (id: string, extra: object = {}) => ({ id, kind: 'translator', apiVersion: '^1.0.0', entry: 'index.js', capabilities: [], ...extra });

describe('plugin discovery', () => {
  let tmp: string;
  beforeEach(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ebm-discovery-'));
  });
  afterEach(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('finds the fixture plugins in an explicit folder and the filesystem plugin in node_modules', () => {
    const registry = PluginRegistry.discover({ dirs: [FIXTURES], pluginPath: '' });
    const ids = registry.list().map((p) => p.manifest.id);
    expect(ids).toEqual(expect.arrayContaining(['busy-loop', 'exits', 'filesystem', 'hangs', 'load-error', 'no-export', 'ok', 'oom', 'throws']));
    expect(ids).not.toContain('bad-manifest');
    expect(ids).not.toContain('api-mismatch');

    const ok = registry.get('ok');
    expect(ok.packageName).toBe('ebm-fixture-ok');
    expect(ok.version).toBe('1.2.3');
    expect(ok.packageDir).toBe(realpathSync(path.join(FIXTURES, 'ok')));
    expect(ok.entryPath).toBe(path.join(realpathSync(path.join(FIXTURES, 'ok')), 'index.js'));
    expect(ok.manifest.resources?.memoryMiB).toBe(96);

    // Found through the workspace symlink node_modules/@ebm/translator-filesystem, reported at its real place.
    const fsPlugin = registry.get('filesystem');
    expect(fsPlugin.packageName).toBe('@ebm/translator-filesystem');
    expect(fsPlugin.packageDir).toBe(FILESYSTEM_PLUGIN);
    expect(fsPlugin.entryPath).toBe(path.join(FILESYSTEM_PLUGIN, 'dist/index.js'));
  });

  it('records broken manifests as problems with readable errors, without executing plugin code', () => {
    // load-error throws when required; bad-manifest and api-mismatch throw too. Discovery must not notice.
    const registry = PluginRegistry.discover({ dirs: [FIXTURES], pluginPath: '', searchNodeModules: false });
    expect(registry.has('load-error')).toBe(true);

    const bad = registry.problems.find((p) => p.id === 'bad-manifest');
    expect(bad?.packageDir).toBe(realpathSync(path.join(FIXTURES, 'bad-manifest')));
    expect(bad?.error.code).toBe('E_PLUGIN_MANIFEST');
    expect(bad?.error.message).toContain('ebm-fixture-bad-manifest');
    expect(bad?.error.message).toContain('"time-travel"');

    const mismatch = registry.problems.find((p) => p.id === 'api-mismatch');
    expect(mismatch?.error.code).toBe('E_PLUGIN_API_MISMATCH');
    expect(mismatch?.error.message).toMatch(/supports plugin API \^99\.0\.0, but this ebm provides plugin API 1\./);

    const manifestError = catchError(() => registry.get('bad-manifest'));
    expect(manifestError.code).toBe('E_PLUGIN_MANIFEST');
    expect(manifestError.message).toContain('time-travel');
    expect(catchError(() => registry.get('api-mismatch')).code).toBe('E_PLUGIN_API_MISMATCH');
  });

  it('refuses an unknown id with E_PLUGIN_NOT_FOUND listing what is installed', () => {
    const registry = PluginRegistry.discover({ dirs: [path.join(FIXTURES, 'ok'), path.join(FIXTURES, 'throws')], pluginPath: '', searchNodeModules: false });
    const err = catchError(() => registry.get('postgres'));
    expect(err).toBeInstanceOf(EbmError);
    expect(err.code).toBe('E_PLUGIN_NOT_FOUND');
    expect(err.message).toBe('no installed plugin has id "postgres"; available: ok, throws');
  });

  it('reads EBM_PLUGIN_PATH entries as package dirs or folders of packages, and reports a missing one', async () => {
    await writePackage(path.join(tmp, 'folder', 'alpha'), 'vendor-alpha', manifest('alpha'));
    await writePackage(path.join(tmp, 'folder', '@acme', 'beta'), '@acme/beta', manifest('beta'));
    await writePackage(path.join(tmp, 'folder', 'not-a-plugin'), 'left-pad', undefined);
    await writePackage(path.join(tmp, 'single'), 'vendor-gamma', manifest('gamma'));
    const missing = path.join(tmp, 'does-not-exist');
    const pluginPath = [path.join(tmp, 'folder'), path.join(tmp, 'single'), missing].join(path.delimiter);

    const previous = process.env.EBM_PLUGIN_PATH;
    process.env.EBM_PLUGIN_PATH = pluginPath;
    try {
      const result = discoverPlugins({ searchNodeModules: false });
      expect(result.plugins.map((p) => p.manifest.id).sort()).toEqual(['alpha', 'beta', 'gamma']);
      expect(result.plugins.find((p) => p.manifest.id === 'beta')?.packageName).toBe('@acme/beta');
      expect(result.problems).toHaveLength(1);
      expect(result.problems[0].error.code).toBe('E_PLUGIN_NOT_FOUND');
      expect(result.problems[0].error.message).toContain(`${missing} (from EBM_PLUGIN_PATH) does not exist`);
    } finally {
      if (previous === undefined) delete process.env.EBM_PLUGIN_PATH;
      else process.env.EBM_PLUGIN_PATH = previous;
    }
  });

  it('says so when an explicitly named package is not a plugin', async () => {
    await writePackage(path.join(tmp, 'plain'), 'plain-package', undefined);
    const result = discoverPlugins({ dirs: [path.join(tmp, 'plain')], pluginPath: '', searchNodeModules: false });
    expect(result.plugins).toEqual([]);
    expect(result.problems[0].error.code).toBe('E_PLUGIN_MANIFEST');
    expect(result.problems[0].error.message).toContain('plain-package');
    expect(result.problems[0].error.message).toContain('no "ebm" field');
  });

  it('walks node_modules upward, including scopes and symlinks, deduplicating by realpath', async () => {
    const store = path.join(tmp, 'store');
    await writePackage(path.join(store, 'x'), '@vendor/translator-x', manifest('x'));
    await writePackage(path.join(tmp, 'node_modules', 'translator-y'), 'translator-y', manifest('y'));
    await mkdir(path.join(tmp, 'app', 'node_modules', '@vendor'), { recursive: true });
    await symlink(path.join(store, 'x'), path.join(tmp, 'app', 'node_modules', '@vendor', 'translator-x'));
    await symlink(path.join(store, 'x'), path.join(tmp, 'node_modules', 'x-again')); // same package, second link
    await mkdir(path.join(tmp, 'app', 'src'), { recursive: true });

    const result = discoverPlugins({ fromDir: path.join(tmp, 'app', 'src'), pluginPath: '' });
    const ids = result.plugins.map((p) => p.manifest.id);
    expect(ids.filter((id) => id === 'x')).toHaveLength(1);
    expect(ids).toContain('y');
    expect(result.plugins.find((p) => p.manifest.id === 'x')?.packageDir).toBe(realpathSync(path.join(store, 'x')));
    expect(result.problems.filter((p) => p.id === 'x')).toEqual([]);
  });

  it('keeps the first plugin of a duplicate id and records the other as a problem', async () => {
    await writePackage(path.join(tmp, 'first'), 'first-copy', manifest('dup'));
    await writePackage(path.join(tmp, 'second'), 'second-copy', manifest('dup'));
    const registry = PluginRegistry.discover({ dirs: [path.join(tmp, 'first'), path.join(tmp, 'second')], pluginPath: '', searchNodeModules: false });
    expect(registry.get('dup').packageName).toBe('first-copy');
    expect(registry.problems).toHaveLength(1);
    expect(registry.problems[0].error.code).toBe('E_PLUGIN_MANIFEST');
    expect(registry.problems[0].error.message).toMatch(/plugin id "dup" of second-copy .* is already provided by first-copy/);
  });

  it('refuses an entry that resolves outside the package directory', async () => {
    await writePackage(path.join(tmp, 'outside'), 'unrelated', undefined, { 'evil.js': 'module.exports = {};' });
    await writePackage(path.join(tmp, 'sneaky'), 'sneaky-plugin', manifest('sneaky', { entry: 'lib/evil.js' }), {});
    await symlink(path.join(tmp, 'outside'), path.join(tmp, 'sneaky', 'lib'));
    const result = discoverPlugins({ dirs: [path.join(tmp, 'sneaky')], pluginPath: '', searchNodeModules: false });
    expect(result.plugins).toEqual([]);
    expect(result.problems[0].id).toBe('sneaky');
    expect(result.problems[0].error.code).toBe('E_PLUGIN_MANIFEST');
    expect(result.problems[0].error.message).toContain('outside the package directory');
  });

  it('reports a package.json that is not JSON when it names an ebm field', async () => {
    await mkdir(path.join(tmp, 'broken'), { recursive: true });
    await writeFile(path.join(tmp, 'broken', 'package.json'), '{ "name": "broken", "ebm": { ');
    const result = discoverPlugins({ dirs: [tmp], pluginPath: '', searchNodeModules: false });
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0].error.code).toBe('E_PLUGIN_MANIFEST');
    expect(result.problems[0].error.message).toContain('is not valid JSON');
  });
});
