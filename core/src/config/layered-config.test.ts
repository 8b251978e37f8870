import { problemsOf, removeConfigTempDir, writeConfig } from './config-test-support';
import { loadHostConfig } from './load-config';

afterAll(removeConfigTempDir);

const HEAD = [
  'repositories:', //                  1
  '  main: { path: /srv/repo, passwordEnv: EBM_PASSWORD }', // 2
  'datasets:', //                      3
];

describe('layered datasets in the host configuration', () => {
  it('two datasets of one endpoint, each with its own layers, schedule and retention', () => {
    const file = writeConfig('ok.yaml', [
      ...HEAD,
      '  web1-data: { provider: overlay, source: "overlayfs:/mnt/web1", endpoint: web1, layers: [upper], schedule: "@hourly", retention: { keepLast: 24 }, repository: main }',
      '  web1-os: { provider: overlay, source: "overlayfs:/mnt/web1", endpoint: web1, layers: [base], schedule: "@weekly", repository: main }',
      '  web2: { provider: overlay, source: "overlayfs:/mnt/web2", repository: main }',
    ]);
    const config = loadHostConfig(file);
    expect(config.datasets['web1-data']).toMatchObject({ translator: 'overlay', source: 'overlayfs:/mnt/web1', schedule: '@hourly', retention: { keepLast: 24 }, layered: { provider: 'overlay', endpoint: 'web1', layers: ['upper'] } });
    expect(config.datasets['web1-os']!.layered).toEqual({ provider: 'overlay', endpoint: 'web1', layers: ['base'] });
    // Defaults: the endpoint is the dataset's name, every layer is read.
    expect(config.datasets['web2']!.layered).toEqual({ provider: 'overlay', endpoint: 'web2', layers: [] });
    expect(config.datasets['web2']!.journal).toBeUndefined();
  });

  it('refuses provider with translator, layer fields without a provider, a journal on an endpoint and an empty layer list', () => {
    expect(problemsOf('bad.yaml', [
      ...HEAD,
      '  a: { provider: overlay, translator: filesystem, source: "overlayfs:/mnt/a", repository: main }',
      '  b: { source: /srv/b, layers: [upper], endpoint: web1, repository: main }',
      '  c: { provider: overlay, source: "overlayfs:/mnt/c", journal: {}, repository: main }',
      '  d: { provider: overlay, source: "overlayfs:/mnt/d", layers: [], repository: main }',
    ])).toEqual([
      'bad.yaml:4:27: datasets.a.translator: give either provider (a layered endpoint, backed up layer by layer) or translator, not both',
      'bad.yaml:5:24: datasets.b.layers: layers applies to layered endpoints only: add provider (e.g. provider: overlay), or remove layers',
      'bad.yaml:5:41: datasets.b.endpoint: endpoint applies to layered endpoints only: add provider (e.g. provider: overlay), or remove endpoint',
      'bad.yaml:6:64: datasets.c.journal: a change journal watches a directory tree: it applies to the filesystem translator, not "overlay" (remove journal, or set enabled: false)',
      'bad.yaml:7:63: datasets.d.layers: must not be empty',
    ]);
  });

  it('a layer-map endpoint with its base image given as an earlier snapshot (baseSnapshot); refused without a provider or when malformed', () => {
    const file = writeConfig('base-snapshot.yaml', [
      ...HEAD,
      '  desk1: { provider: overlay, source: "layer-map:/", options: { map: /etc/ebm/map.json }, baseSnapshot: "latest:golden", repository: main }',
      '  desk2: { provider: overlay, source: "layer-map:/", options: { map: /etc/ebm/map.json }, baseSnapshot: 3fa9c0d2, repository: main }',
    ]);
    const config = loadHostConfig(file);
    expect(config.datasets['desk1']!.layered).toEqual({ provider: 'overlay', endpoint: 'desk1', layers: [], baseSnapshot: 'latest:golden' });
    expect(config.datasets['desk2']!.layered).toMatchObject({ baseSnapshot: '3fa9c0d2' });
    expect(problemsOf('bad-base.yaml', [
      ...HEAD,
      '  e: { source: /srv/e, baseSnapshot: "latest:golden", repository: main }',
      '  f: { provider: overlay, source: "layer-map:/", baseSnapshot: "newest", repository: main }',
    ])).toEqual([
      'bad-base.yaml:4:24: datasets.e.baseSnapshot: baseSnapshot applies to layered endpoints only: add provider (e.g. provider: overlay), or remove baseSnapshot',
      'bad-base.yaml:5:64: datasets.f.baseSnapshot: "newest" is not a snapshot id (or a unique prefix of at least 4 hex digits) or latest:DATASET',
    ]);
  });
});
