import * as fs from 'node:fs';
import * as path from 'node:path';
import provider from '@ebm/layer-overlay';
import { MAP } from '@ebm/layer-overlay/testing';
import type { LayerFile, LayerQueryContext } from '@ebm/sdk';
import { ebmOk, summaryOf, tempDir } from '../helpers/cli';
import type { EbmOptions } from '../helpers/cli';
import { api, Host, startHost, stopHost, writeHostConfig } from '../helpers/host';
import { buildExactMachine } from '../helpers/layer-map-machine';

interface LayerInfo { id: string; kind: string; files: number }
interface Discovery {
  plugin: string; pluginKind: string; source: string; time: string; repository?: string;
  report: { source: string; layout: string; layers: LayerInfo[] };
  backup?: { repository: string; snapshot: string; dataset: string; time: string } | null;
}
interface FilesPage { plugin: string; source: string; layer: { id: string }; files: LayerFile[]; more: boolean; total?: number; offset: number; limit: number }
interface ErrorBody { error: { code: string; message: string; hint: string } }

/**
 * Discoveries browsed through a real `ebm serve` (issue 6: "the result is
 * stored in the catalog and browsable: endpoint → layer → files … through
 * the HTTP API"). `ebm discover` records a layer-map machine in the CLI's
 * catalog of the repository and an unmounted overlay stack in the host's own
 * catalog; the host, started on the same repository, lists both and pages
 * through each layer's files, which the layer provider (its real worker)
 * reports: the same list the provider gives in this process. A discovered
 * endpoint that was backed up links to its endpoint snapshot, whose stored
 * layer holds the same files.
 */
describe('discoveries through the HTTP API of ebm serve', () => {
  let work: string;
  let repo: string;
  let host: Host | undefined;
  let env: EbmOptions;
  let mapFile: string;
  let machineSource: string;
  let overlaySource: string;
  let endpointSnapshot: string;
  const dir = (name: string): string => path.join(work, name);

  /** What the overlay provider itself reports for a layer, run in this process. */
  const providerFiles = async (source: string, layer: string, options: Record<string, string> = {}): Promise<LayerFile[]> => {
    const ctx: LayerQueryContext = {
      source, layer, options, signal: new AbortController().signal,
      progress: { update() {} }, log: { debug() {}, info() {}, warn() {}, error() {} }, warn() {},
    } as unknown as LayerQueryContext;
    const out: LayerFile[] = [];
    for await (const batch of provider.files(ctx)) out.push(...batch);
    return out;
  };

  /** Every page of a discovered layer's files, `limit` at a time. */
  const allPages = async (source: string, layer: string, limit: number): Promise<{ files: LayerFile[]; pages: FilesPage[] }> => {
    const files: LayerFile[] = [];
    const pages: FilesPage[] = [];
    for (let offset = 0; ; offset += limit) {
      const { status, body } = await api<FilesPage>(host!, 'GET', `/api/v1/discoveries/files?source=${encodeURIComponent(source)}&layer=${encodeURIComponent(layer)}&offset=${offset}&limit=${limit}`);
      expect([layer, offset, status]).toEqual([layer, offset, 200]);
      pages.push(body);
      files.push(...body.files);
      if (!body.more) return { files, pages };
      expect(pages.length).toBeLessThan(100);
    }
  };

  beforeAll(async () => {
    work = tempDir('discoveries-api');
    repo = dir('repo');
    // The CLI and the host share XDG_CACHE_HOME: the host reads the CLI's catalog of each configured repository.
    env = { env: { XDG_CACHE_HOME: dir('cache') } };
    const machine = await buildExactMachine(work);
    mapFile = dir('map.json');
    fs.writeFileSync(mapFile, MAP);
    machineSource = `layer-map:${machine.root}`;
    await ebmOk(['init', '-r', repo], env);

    // 1. A machine without overlay (a layer map): recorded in the CLI's catalog of the repository, then backed up once.
    const discovered = await ebmOk(['discover', '--provider', 'overlay', machineSource, '--map', mapFile, '-r', repo, '--json'], env);
    expect(discovered.lines.find((l) => l.op === 'discover')).toMatchObject({ catalog: expect.stringMatching(new RegExp(`^${dir('cache')}/ebm/catalog-.*\\.sqlite$`)) });
    endpointSnapshot = summaryOf(await ebmOk(['backup', '-r', repo, '--provider', 'overlay', machineSource, '--map', mapFile, '--dataset', 'host0', '--json'], env)).snapshot as string;

    // 2. Overlay layer directories that are not mounted: recorded in the host's own catalog (state.catalogFile).
    fs.mkdirSync(dir('lower/etc'), { recursive: true });
    fs.writeFileSync(dir('lower/etc/os-release'), 'NAME=base\n');
    fs.mkdirSync(dir('lower/usr/bin'), { recursive: true });
    fs.writeFileSync(dir('lower/usr/bin/tool'), 'tool');
    fs.mkdirSync(dir('upper/home'), { recursive: true });
    fs.writeFileSync(dir('upper/home/notes.txt'), 'mine');
    fs.mkdirSync(dir('state'));
    const overlay = await ebmOk(['discover', '--lower', dir('lower'), '--upper', dir('upper'), '-r', repo, '--catalog-file', dir('state/catalog.sqlite'), '--json'], env);
    overlaySource = overlay.lines.find((l) => l.op === 'discover')!.source as string;

    const config = writeHostConfig(work, [
      `repositories: { main: { path: ${repo}, passwordEnv: EBM_PASSWORD } }`,
      // No dataset names the machine: browsing its layers works from the record alone, which keeps the `--map` `ebm discover` was given.
      'datasets: {}',
    ]);
    host = await startHost(config, { XDG_CACHE_HOME: dir('cache') });
  });

  afterAll(async () => {
    if (host) await stopHost(host);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('lists the recorded discoveries of both catalogs, with the layers and the backed-up endpoint snapshot', async () => {
    const { status, body } = await api<{ discoveries: Discovery[] }>(host!, 'GET', '/api/v1/discoveries');
    expect(status).toBe(200);
    const bySource = new Map(body.discoveries.map((d) => [d.source, d]));
    expect([...bySource.keys()].sort()).toEqual([machineSource, overlaySource].sort());
    const machine = bySource.get(machineSource)!;
    expect(machine).toMatchObject({ plugin: 'overlay', pluginKind: 'layer-provider', repository: 'main', report: { layout: 'layer-map' } });
    expect(machine.report.layers.map((l) => [l.id, l.kind])).toEqual([['os', 'os'], ['apps', 'apps'], ['user-data', 'user-data']]);
    expect(machine.backup).toMatchObject({ repository: 'main', snapshot: endpointSnapshot, dataset: 'host0' });
    const stack = bySource.get(overlaySource)!;
    expect(stack.repository).toBeUndefined(); // the host's own catalog
    expect(stack.backup).toBeNull();
    expect(stack.report.layers.map((l) => [l.kind, l.files])).toEqual([['base', 2], ['upper', 1]]);

    // Filters: by plugin, by the provider's normalised source, by repository (the CLI's catalog of main only).
    const onlyMain = await api<{ discoveries: Discovery[] }>(host!, 'GET', '/api/v1/discoveries?repository=main');
    expect(onlyMain.body.discoveries.map((d) => d.source)).toEqual([machineSource]);
    const byReportSource = await api<{ discoveries: Discovery[] }>(host!, 'GET', `/api/v1/discoveries?source=${encodeURIComponent(stack.report.source)}&plugin=overlay`);
    expect(byReportSource.body.discoveries.map((d) => d.source)).toEqual([overlaySource]);
    expect((await api<{ discoveries: Discovery[] }>(host!, 'GET', '/api/v1/discoveries?plugin=sqlite')).body.discoveries).toEqual([]);
  });

  it("browses endpoint → layer → files: each layer's files, page by page, are what the layer provider reports", async () => {
    const { body } = await api<{ discoveries: Discovery[] }>(host!, 'GET', `/api/v1/discoveries?source=${encodeURIComponent(machineSource)}`);
    const layers = body.discoveries[0]!.report.layers;
    for (const layer of layers) {
      const want = await providerFiles(machineSource, layer.id, { map: mapFile });
      expect(want.length).toBeGreaterThan(0);
      const { files, pages } = await allPages(machineSource, layer.id, 2);
      expect([layer.id, files]).toEqual([layer.id, want]);
      expect(pages.at(-1)!.total).toBe(want.length);
      expect(files.filter((f) => f.type !== 'dir')).toHaveLength(layer.files);
    }
    for (const layer of ['lower-0', 'upper']) {
      const { files } = await allPages(overlaySource, layer, 1000);
      expect([layer, files]).toEqual([layer, await providerFiles(overlaySource, layer)]);
    }
    const { files: upper } = await allPages(overlaySource, 'upper', 1000);
    expect(upper.map((f) => f.path)).toEqual(['home', 'home/notes.txt']);
  });

  it("the backed-up endpoint's stored layer holds the files the provider lists for that layer", async () => {
    const live = await allPages(machineSource, 'os', 1000);
    const stored: string[] = [];
    const walk = async (at: string): Promise<void> => {
      const { status, body } = await api<{ entries: Array<{ path: string; kind: string }> }>(host!, 'GET', `/api/v1/snapshots/${endpointSnapshot}/tree?layer=os&path=${encodeURIComponent(at)}`);
      expect(status).toBe(200);
      for (const e of body.entries) {
        stored.push(e.path);
        if (e.kind === 'dir') await walk(e.path);
      }
    };
    await walk('');
    expect(stored.sort()).toEqual(live.files.map((f) => f.path).sort());
  });

  it('refuses an unknown source or layer with 404 and a code that names it, and a bad page with 400', async () => {
    const source = await api<ErrorBody>(host!, 'GET', `/api/v1/discoveries/files?source=${encodeURIComponent(dir('nowhere'))}&layer=os`);
    expect(source.status).toBe(404);
    expect(source.body.error.message).toBe(`no discovery of ${JSON.stringify(dir('nowhere'))} is recorded`);
    const layer = await api<ErrorBody>(host!, 'GET', `/api/v1/discoveries/files?source=${encodeURIComponent(machineSource)}&layer=kernel`);
    expect(layer.status).toBe(404);
    expect(layer.body.error.message).toMatch(/has no layer "kernel" \(layers: os \(os\), apps \(apps\), user-data \(user-data\)\)/);
    const repository = await api<ErrorBody>(host!, 'GET', '/api/v1/discoveries?repository=elsewhere');
    expect(repository.status).toBe(404);
    const limit = await api<ErrorBody>(host!, 'GET', `/api/v1/discoveries/files?source=${encodeURIComponent(machineSource)}&layer=os&limit=20000`);
    expect([limit.status, limit.body.error.code]).toEqual([400, 'E_USAGE']);
    const noToken = await api<ErrorBody>(host!, 'GET', '/api/v1/discoveries', undefined, null);
    expect(noToken.status).toBe(401);
  });
});
