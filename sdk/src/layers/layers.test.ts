import { applyLayerChanges } from './apply-changes';
import { LAYER_CONTRACT_VERSION } from './layer';
import type { LayerEntryType, LayerReport } from './layer';
import { validateLayerBatch, validateLayerReport } from './validate-layer-report';

const report: LayerReport = {
  contractVersion: LAYER_CONTRACT_VERSION, source: '/s', layout: 'overlayfs',
  layers: [
    { id: 'lower-0', kind: 'base', name: 'lower', order: 0, immutable: true, digest: `sha256:${'a'.repeat(64)}`, bytes: 3, files: 1 },
    { id: 'upper', kind: 'upper', name: 'upper', order: 1, immutable: false, bytes: 0, files: 0 },
  ],
};

describe('validateLayerReport', () => {
  it('accepts a report that keeps the contract', () => {
    expect(validateLayerReport(structuredClone(report), 'overlay')).toEqual(report);
  });

  it.each([
    ['contractVersion', { ...report, contractVersion: 2 }],
    ['layers[0].digest', { ...report, layers: [{ ...report.layers[0]!, digest: undefined }, report.layers[1]!] }],
    ['layers[1].order', { ...report, layers: [report.layers[0]!, { ...report.layers[1]!, order: 5 }] }],
    ['layers[1].id', { ...report, layers: [report.layers[0]!, { ...report.layers[1]!, id: 'lower-0' }] }],
    ['layers[0].kind', { ...report, layers: [{ ...report.layers[0]!, kind: 'kernel' }, report.layers[1]!] }],
    ['layers', { ...report, layers: [] }],
  ])('refuses a report whose %s is wrong, with E_PLUGIN_FAILED naming the field and the plugin', (field, bad) => {
    expect(() => validateLayerReport(bad, 'overlay')).toThrow(expect.objectContaining({ code: 'E_PLUGIN_FAILED', subject: field, plugin: 'overlay', message: expect.stringContaining(field) }));
  });

  it('refuses unsafe paths, a metacopy without data below and a redirect without its lower path', () => {
    expect(() => validateLayerBatch([{ path: '../etc', type: 'file', size: 1 }], 'files', report, 'upper')).toThrow(/\[0\]\.path/);
    expect(() => validateLayerBatch([{ path: 'a', change: 'metacopy', type: 'file', dataFrom: { layer: 'upper', path: 'a' } }], 'changes', report, 'upper')).toThrow(/dataFrom\.layer/);
    expect(() => validateLayerBatch([{ path: 'd', change: 'redirect', type: 'dir' }], 'changes', report, 'upper')).toThrow(/lowerPath/);
    expect(validateLayerBatch([{ path: 'a', change: 'metacopy', type: 'file', dataFrom: { layer: 'lower-0', path: 'a' } }], 'changes', report, 'upper')).toHaveLength(1);
  });
});

describe('applyLayerChanges', () => {
  type E = { type: LayerEntryType; from: string };
  const view = (): Map<string, E> => new Map<string, E>([
    ['d', { type: 'dir', from: 'low' }], ['d/x', { type: 'file', from: 'low' }], ['old', { type: 'dir', from: 'low' }], ['old/f', { type: 'file', from: 'low' }], ['g', { type: 'file', from: 'low' }],
  ]);

  it('applies deletions, opaque directories, redirects (from the view below) and replacements', () => {
    const v = view();
    applyLayerChanges(v, [
      { path: 'd', change: 'opaque-dir', type: 'dir' }, { path: 'd/y', change: 'added', type: 'file' },
      { path: 'g', change: 'deleted' },
      { path: 'new', change: 'redirect', type: 'dir', lowerPath: 'old' },
      { path: 'old', change: 'deleted' },
    ], (c) => ({ type: c.type!, from: 'up' }));
    expect([...v.entries()].sort()).toEqual([
      ['d', { type: 'dir', from: 'up' }], ['d/y', { type: 'file', from: 'up' }], ['new', { type: 'dir', from: 'up' }], ['new/f', { type: 'file', from: 'low' }],
    ]);
  });

  it('a non-directory replacing a directory removes what was below it', () => {
    const v = view();
    applyLayerChanges(v, [{ path: 'old', change: 'modified', type: 'file' }], (c) => ({ type: c.type!, from: 'up' }));
    expect(v.has('old/f')).toBe(false);
    expect(v.get('old')).toEqual({ type: 'file', from: 'up' });
  });
});
