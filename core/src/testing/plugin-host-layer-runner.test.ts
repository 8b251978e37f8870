import { rmSync } from 'node:fs';
import { createInProcessLayerRunner, createWorkerLayerRunner, LayerProviderTester } from '@ebm/sdk/testing';
import { writeLayerProviderPackage } from '../plugin-host/layer-provider.test-helper';
import { createPluginHostLayerRunner } from './index';

/**
 * LayerProviderTester with three runners — in-process, the SDK's worker
 * thread, and ebm's real plugin host — on a small provider package: every
 * case runs on each and their answers must agree.
 */
const packageDir = writeLayerProviderPackage('harness-layers');
afterAll(() => rmSync(packageDir, { recursive: true, force: true }));

new LayerProviderTester({
  packageDir,
  fixtures: [{
    name: 'a plain directory',
    build: () => undefined,
    options: { strict: true },
    expect: {
      layout: 'layer-map',
      layers: [{ kind: 'base', id: 'base', immutable: true, files: 4, bytes: 8 }, { kind: 'upper', id: 'upper' }],
      changes: { 1: [{ path: 'b2/f', change: 'added' }] },
    },
  }],
  runners: [createInProcessLayerRunner(), createWorkerLayerRunner(), createPluginHostLayerRunner({ hostConfig: { cancelGraceMs: 500 } })],
}).run();

describe('the plugin host runner reports a flawed provider', () => {
  it('names the runner and the error when the files of a layer fail', async () => {
    const runner = createPluginHostLayerRunner();
    const cases = new LayerProviderTester({
      packageDir,
      fixtures: [{ name: 'exploding', build: () => undefined, options: { mode: 'throw' } }],
      runners: [runner],
    }).cases();
    try {
      const discovery = cases.find((c) => c.name === 'discovery, files and changes [exploding]')!;
      await expect(discovery.run()).rejects.toThrow(/ebm plugin host: the files of layer base failed with E_PLUGIN_FAILED: the provider exploded at b1/);
    } finally {
      await runner.close();
    }
  });
});
