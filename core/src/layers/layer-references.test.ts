import { EbmError } from '@ebm/sdk';
import type { SnapshotRecord } from '../repository/types';
import { makeSnapshot } from '../snapshots/test-snapshot';
import { applyForgetPolicy } from '../snapshots/forget-policy';
import { layeredMeta, LAYERED_FORMAT, LAYERED_VERSION, layeredRecordOf } from './endpoint-snapshot';
import { assertForgettable, holdReferencedLayers, missingLayerProblems } from './layer-references';

/** Forget and check rules for layered endpoints, over snapshot records (pure; the e2e test runs them through the CLI). */
const id = (c: string): string => c.repeat(64);
const base = { ...makeSnapshot({ dataset: 'layer:sha256:' + 'b'.repeat(64), tags: ['base', 'layer'], time: '2025-03-01T09:00:00.000Z' }), id: id('b') };
const upperOld = { ...makeSnapshot({ dataset: 'web#layer:upper', tags: ['layer'], time: '2025-03-01T10:00:00.000Z' }), id: id('1') };
const upperNew = { ...makeSnapshot({ dataset: 'web#layer:upper', tags: ['layer'], time: '2025-03-02T10:00:00.000Z' }), id: id('2') };
const endpoint = (c: string, upper: string, time: string): SnapshotRecord => ({
  ...makeSnapshot({
    dataset: 'web', tags: ['endpoint'], time, translator: { id: 'overlay', version: '0.1.0' },
    meta: layeredMeta({
      format: LAYERED_FORMAT, version: LAYERED_VERSION, provider: { id: 'overlay', version: '0.1.0' }, layout: 'overlayfs', source: 'overlayfs:/m',
      layers: [
        { id: 'lower-0', kind: 'base', order: 0, immutable: true, digest: 'sha256:' + 'b'.repeat(64), snapshot: base.id, action: 'referenced' },
        { id: 'upper', kind: 'upper', order: 1, immutable: false, snapshot: upper, action: 'stored' },
      ],
    }),
  }),
  id: id(c),
});
const epOld = endpoint('e', upperOld.id, '2025-03-01T10:00:01.000Z');
const epNew = endpoint('f', upperNew.id, '2025-03-02T10:00:01.000Z');
const all = [base, upperOld, upperNew, epOld, epNew];

describe('layer references: forget and check rules', () => {
  it('forget by id refuses a base layer that endpoints name, naming them, and allows it together with them', () => {
    let thrown: unknown;
    try {
      assertForgettable(all, [base]);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(EbmError);
    expect((thrown as EbmError).code).toBe('E_SNAPSHOT_IN_USE');
    expect((thrown as EbmError).message).toContain('eeeeeeee (web)');
    expect((thrown as EbmError).message).toContain('ffffffff (web)');
    expect(() => assertForgettable(all, [base, epOld, epNew])).not.toThrow();
    expect(() => assertForgettable(all, [epOld])).not.toThrow();
  });

  it('a policy keeps the layer snapshots of the endpoints it keeps', () => {
    // keep-last 1 per dataset: the old upper snapshot and the old endpoint go; base stays (only one per digest anyway).
    const decision = applyForgetPolicy(all, { keepLast: 1 });
    expect(decision.remove.map((r) => r.snapshot.id).sort()).toEqual([upperOld.id, epOld.id].sort());
    const { remove, held } = holdReferencedLayers(all, decision.remove.map((r) => r.snapshot));
    expect(remove.map((s) => s.id).sort()).toEqual([upperOld.id, epOld.id].sort());
    expect(held).toEqual([]);

    // Only the layer datasets' policy (endpoints untouched): the old upper is held, for the old endpoint.
    const layersOnly = applyForgetPolicy(all.filter((s) => s.dataset.startsWith('web#')), { keepLast: 1 });
    const split = holdReferencedLayers(all, layersOnly.remove.map((r) => r.snapshot));
    expect(split.remove).toEqual([]);
    expect(split.held.map((h) => [h.snapshot.id, h.endpoints.map((e) => e.id)])).toEqual([[upperOld.id, [epOld.id]]]);
  });

  it('holds every layer snapshot when some snapshot file is unreadable', () => {
    const { remove, held } = holdReferencedLayers([base], [base], 1);
    expect(remove).toEqual([]);
    expect(held[0]!.reason).toMatch(/could not be read/);
  });

  it('check reports an endpoint whose layer snapshot is missing, and nothing otherwise', () => {
    expect(missingLayerProblems(all)).toEqual([]);
    const problems = missingLayerProblems(all.filter((s) => s !== upperOld));
    expect(problems).toHaveLength(1);
    expect(problems[0]!.subject).toBe(epOld.id);
    expect(problems[0]!.message).toMatch(/names layer upper snapshot 1{64}, which does not exist/);
  });

  it('reads its own record back and refuses a newer record version', () => {
    expect(layeredRecordOf(epOld)!.layers.map((l) => l.snapshot)).toEqual([base.id, upperOld.id]);
    const newer = { ...epOld, meta: { layered: { ...(epOld.meta!.layered as object), version: 3 } } };
    expect(() => layeredRecordOf(newer)).toThrow(/version 3/);
  });
});
