import * as path from 'node:path';
import { PluginRegistry } from '../plugin-host/plugin-registry';
import { validateRequest } from './validate-request';
import { rejection as rejectionIn } from './rejection.test-support';

/** The real first-party plugins (a translator and the overlay layer provider), as the host discovers them. */
const plugins = PluginRegistry.discover({ dirs: [path.resolve(__dirname, '../../../plugins')], pluginPath: '' });
const context = { repositories: ['main'], plugins };

const rejection = (input: unknown): string => rejectionIn(input, context);

const layered = { kind: 'backup', dataset: 'web1-data', repository: 'main', provider: 'overlay', source: 'overlayfs:/mnt/web1' };

describe('validateRequest: layered endpoints', () => {
  it('a layered backup names its provider; endpoint defaults to the dataset, layers to all', () => {
    expect(validateRequest(layered, context)).toMatchObject({ translator: 'overlay', layered: { endpoint: 'web1-data', layers: [] } });
    expect(validateRequest({ ...layered, endpoint: 'web1', layers: ['upper', 'upper', 'apps'] }, context)).toMatchObject({ layered: { endpoint: 'web1', layers: ['upper', 'apps'] } });
    expect(validateRequest({ kind: 'backup', dataset: 'home', repository: 'main', source: '/home' }, context)).not.toHaveProperty('layered');
  });

  it('refuses a translator as provider, a provider as translator, both at once, and layer fields on ordinary requests', () => {
    expect(rejection({ ...layered, provider: 'filesystem' })).toMatch(/provider: plugin 'filesystem' is a translator, not a layer provider/);
    expect(rejection({ ...layered, provider: 'nope' })).toMatch(/provider: no installed layer provider 'nope' \(available: overlay\)/);
    expect(rejection({ ...layered, translator: 'filesystem' })).toMatch(/translator: give either provider .* or translator, not both/);
    const { provider: _p, ...plain } = layered;
    expect(rejection({ ...plain, translator: 'overlay' })).toMatch(/translator: plugin 'overlay' is a layer-provider, not a translator/);
    expect(rejection({ ...plain, layers: ['upper'] })).toMatch(/layers: applies to layered endpoints only/);
    expect(rejection({ ...layered, endpoint: '../x' })).toMatch(/endpoint: /);
  });

  it('a layered backup may name its base image as an earlier snapshot (baseSnapshot); an ordinary one may not', () => {
    expect(validateRequest({ ...layered, baseSnapshot: 'latest:golden' }, context)).toMatchObject({ layered: { endpoint: 'web1-data', baseSnapshot: 'latest:golden' } });
    expect(validateRequest({ ...layered, baseSnapshot: '3fa9c0d2' }, context)).toMatchObject({ layered: { baseSnapshot: '3fa9c0d2' } });
    expect(rejection({ ...layered, baseSnapshot: 'yesterday' })).toMatch(/baseSnapshot: "yesterday" must be a snapshot id/);
    const { provider: _p, ...plain } = layered;
    expect(rejection({ ...plain, baseSnapshot: 'latest:golden' })).toMatch(/baseSnapshot: applies to layered endpoints only/);
  });

  it('restore requests may pick one layer or the native layout, not both; forget may carry a layered retention', () => {
    const restore = { kind: 'restore', repository: 'main', snapshot: 'abcd1234', target: '/restore' };
    expect(validateRequest({ ...restore, layer: 'upper' }, context)).toMatchObject({ layer: 'upper' });
    expect(validateRequest({ ...restore, native: true }, context)).toMatchObject({ native: true });
    expect(validateRequest(restore, context)).not.toHaveProperty('native');
    expect(rejection({ ...restore, layer: 'upper', native: true })).toMatch(/native: layer restores one layer as stored/);
    const forget = { kind: 'forget', repository: 'main', dataset: 'web1-data', policy: { keepLast: 2 } };
    expect(validateRequest({ ...forget, endpoint: 'web1', layers: ['upper'] }, context)).toMatchObject({ layered: { endpoint: 'web1', layers: ['upper'] } });
    expect(rejection({ ...forget, layers: ['upper'] })).toMatch(/layers: applies to layered endpoints only/);
  });
});
