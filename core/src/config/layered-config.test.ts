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
});
