import { EbmError } from '@ebm/sdk';
import type { LayerInfo, LayerReport } from '@ebm/sdk';
import { EarlyLayers } from './early-layers';

/**
 * The coordination of layers started before the discovery report: which
 * announcements start a backup, and what each backup's commit gate says once
 * the report is in. The "backups" here are stand-ins that wait on their gate
 * like BackupService does (the real path is test/src/e2e/layers-announce.test.ts).
 */
describe('EarlyLayers', () => {
  const upper: LayerInfo = { id: 'upper', kind: 'upper', name: 'upper', order: 1, immutable: false, bytes: 1, files: 1, root: '/u' };
  const base: LayerInfo = { id: 'base', kind: 'base', name: 'base', order: 0, immutable: true, digest: `sha256:${'a'.repeat(64)}`, bytes: 1, files: 1, root: '/b' };
  const report = (layers: LayerInfo[], layout: LayerReport['layout'] = 'overlayfs'): LayerReport => ({ contractVersion: 1, source: '/src', layout, layers });

  /** Each started layer: its gate's verdict ('saved' or the rejection's code) and whether its signal was aborted. */
  function harness(words?: string[]) {
    const runs = new Map<string, { verdict: Promise<string>; signal: AbortSignal }>();
    const early = new EarlyLayers<string>(words, (layer, gate, signal) => {
      const verdict = gate().then(() => 'saved', (err: EbmError) => err.code);
      runs.set(layer.id, { verdict, signal });
      return verdict;
    });
    return { early, runs };
  }

  it('starts only selected writable layers with a root, and saves them once the report confirms them', async () => {
    const { early, runs } = harness();
    early.offer(base);
    early.offer({ ...upper, id: 'rootless', root: undefined } as unknown as LayerInfo);
    early.offer(upper);
    early.offer(upper); // once
    expect([...runs.keys()]).toEqual(['upper']);
    early.confirm(report([base, upper]), new Set(['base', 'upper']), 'p', [upper]);
    expect(await early.take('upper')).toBe('saved');
    expect(early.take('base')).toBeUndefined();
    expect(runs.get('upper')!.signal.aborted).toBe(false);
  });

  it('fails with E_PLUGIN_FAILED when the report contradicts an announcement, even one that arrived too late to start', async () => {
    const started = harness();
    started.early.offer(upper);
    expect(() => started.early.confirm(report([base, { ...upper, files: 2 }]), new Set(['upper']), 'p', [upper])).toThrow(/announced layer upper .* but reported/);
    expect(await started.runs.get('upper')!.verdict).toBe('E_PLUGIN_FAILED');
    expect(started.runs.get('upper')!.signal.aborted).toBe(true);

    const late = harness();
    expect(() => late.early.confirm(report([base, upper]), new Set(['upper']), 'p', [{ ...upper, root: '/elsewhere' }])).toThrow(EbmError);
  });

  it('drops a started layer the report leaves unselected or reads from lists (layer map): stopped, not saved, not an error', async () => {
    const unselected = harness(['upper']);
    unselected.early.offer(upper);
    unselected.early.confirm(report([base, upper]), new Set(['base']), 'p', [upper]);
    expect(unselected.early.take('upper')).toBeUndefined();
    expect(await unselected.runs.get('upper')!.verdict).toBe('E_CANCELLED');

    const mapped = harness();
    mapped.early.offer(upper);
    mapped.early.confirm(report([base, upper], 'layer-map'), new Set(['base', 'upper']), 'p', [upper]);
    expect(mapped.early.take('upper')).toBeUndefined();
    expect(await mapped.runs.get('upper')!.verdict).toBe('E_CANCELLED');
    await mapped.early.settled();
  });

  it('does not start a layer --layers leaves out, and stops everything when the discovery fails', async () => {
    const { early, runs } = harness(['base']);
    early.offer(upper);
    expect(runs.size).toBe(0);

    const failing = harness();
    failing.early.offer(upper);
    failing.early.abandon(new EbmError('E_SOURCE_NOT_FOUND', 'gone'));
    failing.early.offer({ ...upper, id: 'later' }); // closed
    expect(await failing.runs.get('upper')!.verdict).toBe('E_SOURCE_NOT_FOUND');
    expect(failing.runs.has('later')).toBe(false);
    await failing.early.settled();
  });
});
