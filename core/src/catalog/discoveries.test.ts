import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { Catalog } from './catalog';
import { tempDir } from './catalog.test-support';
import { readDiscoveries } from './discoveries';
import type { DiscoveryRecord } from './discoveries';

const REPORT = { contractVersion: 1, source: '/m', layout: 'layer-map', layers: [] };
const layerMap = (time: string, options?: DiscoveryRecord['options']): DiscoveryRecord => ({
  plugin: 'overlay', pluginVersion: '1.0.0', pluginKind: 'layer-provider', source: 'layer-map:/m', time, report: REPORT, ...(options ? { options } : {}),
});

/** Discoveries are not derived from the repository: they survive schema changes and keep a layer provider's options. */
describe('catalog discoveries', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = tempDir();
    file = path.join(dir, 'catalog.sqlite');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("keeps a discovery's options, and none for a record made without them", () => {
    const catalog = Catalog.open(file);
    catalog.recordDiscovery(layerMap('2026-01-01T00:00:00.000Z', { map: '/etc/ebm/map.json', strict: true }));
    catalog.recordDiscovery(layerMap('2026-01-02T00:00:00.000Z'));
    catalog.close();
    const [newer, older] = readDiscoveries(file);
    expect(older).toEqual(layerMap('2026-01-01T00:00:00.000Z', { map: '/etc/ebm/map.json', strict: true }));
    expect(newer).not.toHaveProperty('options');
  });

  it('adds the options column to a discoveries table from before it existed, keeping its rows', () => {
    const catalog = Catalog.open(file);
    catalog.recordDiscovery(layerMap('2026-01-01T00:00:00.000Z'));
    catalog.close();
    const old = new Database(file);
    old.exec('ALTER TABLE discoveries DROP COLUMN options'); // the table as an earlier ebm created it
    old.close();
    expect(readDiscoveries(file)).toEqual([layerMap('2026-01-01T00:00:00.000Z')]); // read-only readers cope as it is

    const upgraded = Catalog.open(file);
    expect(upgraded.recovered).toBeUndefined();
    upgraded.recordDiscovery(layerMap('2026-01-03T00:00:00.000Z', { map: '/m.json' }));
    upgraded.close();
    expect(readDiscoveries(file)).toEqual([layerMap('2026-01-03T00:00:00.000Z', { map: '/m.json' }), layerMap('2026-01-01T00:00:00.000Z')]);
  });

  it('carries the discoveries over when a catalog of another schema version is replaced', () => {
    const catalog = Catalog.open(file);
    catalog.recordDiscovery(layerMap('2026-01-01T00:00:00.000Z', { map: '/m.json' }));
    catalog.close();
    const db = new Database(file);
    db.pragma('user_version = 999');
    db.close();

    const replaced = Catalog.open(file);
    expect(replaced.recovered).toMatchObject({ kind: 'schema' });
    expect(replaced.discoveries()).toEqual([layerMap('2026-01-01T00:00:00.000Z', { map: '/m.json' })]);
    replaced.close();
    expect(fs.readdirSync(dir).filter((f) => f.includes('schema'))).toEqual([]); // the replaced file is gone once its discoveries are copied
  });
});
