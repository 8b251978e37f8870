import { applyForgetPolicy, ForgetCandidate, ForgetPolicy, isEmptyPolicy } from './forget-policy';

let seq = 0;
/** A snapshot at a local date/time (month 1-based), so buckets do not depend on the machine's time zone. */
function snap(y: number, mo: number, d: number, h = 12, extra: Partial<ForgetCandidate> = {}): ForgetCandidate {
  const id = `${String(++seq).padStart(4, '0')}-${y}-${mo}-${d}-${h}`;
  return { id, time: new Date(y, mo - 1, d, h, 0, 0).toISOString(), host: 'h', dataset: 'ds', tags: [], ...extra };
}

function kept(list: readonly ForgetCandidate[], policy: ForgetPolicy): string[] {
  return applyForgetPolicy(list, policy).keep.map((k) => k.snapshot.id);
}

describe('applyForgetPolicy', () => {
  it('an empty policy keeps everything (never removes all by accident)', () => {
    const list = [snap(2025, 1, 1), snap(2025, 1, 2)];
    for (const policy of [{}, { keepLast: 0, keepDaily: 0 }, { keepTags: [] }]) {
      expect(isEmptyPolicy(policy)).toBe(true);
      const r = applyForgetPolicy(list, policy);
      expect(r.remove).toEqual([]);
      expect(r.keep.map((k) => k.reasons)).toEqual([['policy is empty'], ['policy is empty']]);
    }
  });

  it('keepLast keeps the n newest of each group', () => {
    const list = [1, 2, 3, 4, 5].map((d) => snap(2025, 1, d));
    const r = applyForgetPolicy(list, { keepLast: 3 });
    expect(r.keep.map((k) => k.snapshot)).toEqual([list[4], list[3], list[2]]);
    expect(r.keep[0]!.reasons).toEqual(['last snapshot']);
    expect(r.remove.map((k) => k.snapshot)).toEqual([list[1], list[0]]);
  });

  it('keepDaily keeps the newest snapshot of each of the n newest days', () => {
    const list = [snap(2025, 1, 1, 8), snap(2025, 1, 2, 8), snap(2025, 1, 2, 20), snap(2025, 1, 3, 1), snap(2025, 1, 3, 23), snap(2025, 1, 4, 9), snap(2025, 1, 4, 10)];
    expect(kept(list, { keepDaily: 3 })).toEqual([list[6]!.id, list[4]!.id, list[2]!.id]);
  });

  it('keeps the oldest snapshot too when a rule has count left (restic)', () => {
    const list = [snap(2025, 1, 1, 8), snap(2025, 1, 1, 9), snap(2025, 1, 2, 8), snap(2025, 1, 2, 9)];
    const r = applyForgetPolicy(list, { keepDaily: 5 });
    expect(r.keep.map((k) => k.snapshot.id)).toEqual([list[3]!.id, list[1]!.id, list[0]!.id]);
    expect(r.keep[2]!.reasons).toEqual(['oldest daily snapshot']);
    expect(r.remove.map((k) => k.snapshot.id)).toEqual([list[2]!.id]);
  });

  it('keepHourly buckets by local hour', () => {
    const list = [snap(2025, 1, 1, 10), snap(2025, 1, 1, 11), snap(2025, 1, 1, 11), snap(2025, 1, 1, 12), snap(2025, 1, 1, 12)];
    expect(kept(list, { keepHourly: 2 })).toEqual([list[4]!.id, list[2]!.id]);
  });

  it('keepWeekly uses ISO weeks (Monday start; the week of Jan 1 belongs to the year of its Thursday)', () => {
    // Sat 2024-12-28 and Sun 2024-12-29 are 2024-W52; Mon 2024-12-30 is 2025-W01.
    const list = [snap(2024, 12, 28), snap(2024, 12, 29), snap(2024, 12, 30)];
    expect(kept(list, { keepWeekly: 2 })).toEqual([list[2]!.id, list[1]!.id]);
    // Thu 2020-12-31 and Fri 2021-01-01 are both 2020-W53; Mon 2021-01-04 is 2021-W01.
    const list2 = [snap(2020, 12, 31), snap(2021, 1, 1), snap(2021, 1, 4)];
    expect(kept(list2, { keepWeekly: 2 })).toEqual([list2[2]!.id, list2[1]!.id]);
  });

  it('keepMonthly and keepYearly; one snapshot can be kept for several reasons', () => {
    const list = [snap(2023, 6, 1), snap(2023, 12, 31), snap(2024, 1, 15), snap(2024, 2, 1), snap(2024, 2, 20)];
    const r = applyForgetPolicy(list, { keepLast: 1, keepMonthly: 2, keepYearly: 2 });
    const reasons = new Map(r.keep.map((k) => [k.snapshot.id, k.reasons]));
    expect(reasons.get(list[4]!.id)).toEqual(['last snapshot', 'monthly snapshot', 'yearly snapshot']);
    expect(reasons.get(list[2]!.id)).toEqual(['monthly snapshot']);
    expect(reasons.get(list[1]!.id)).toEqual(['yearly snapshot']);
    expect(r.remove.map((k) => k.snapshot.id).sort()).toEqual([list[0]!.id, list[3]!.id].sort());
  });

  it('-1 means unlimited', () => {
    const list = [snap(2025, 1, 1, 1), snap(2025, 1, 1, 2), snap(2025, 1, 2), snap(2025, 1, 3)];
    expect(kept(list, { keepDaily: -1 })).toEqual([list[3]!.id, list[2]!.id, list[1]!.id, list[0]!.id]);
  });

  it('keepTags keeps tagged snapshots without using up counts', () => {
    const list = [snap(2025, 1, 1, 12, { tags: ['release'] }), snap(2025, 1, 2), snap(2025, 1, 3, 12, { tags: ['release', 'x'] }), snap(2025, 1, 4)];
    const r = applyForgetPolicy(list, { keepLast: 1, keepTags: ['release'] });
    expect(r.keep.map((k) => [k.snapshot.id, k.reasons])).toEqual([
      [list[3]!.id, ['last snapshot']],
      [list[2]!.id, ['tag release']],
      [list[0]!.id, ['tag release']],
    ]);
    expect(r.remove.map((k) => k.snapshot.id)).toEqual([list[1]!.id]);
  });

  it('applies the policy per dataset+host group by default, or per the chosen fields', () => {
    const list = [
      snap(2025, 1, 1, 12, { dataset: 'a', host: 'h1' }), snap(2025, 1, 2, 12, { dataset: 'a', host: 'h1' }),
      snap(2025, 1, 1, 12, { dataset: 'a', host: 'h2' }), snap(2025, 1, 2, 12, { dataset: 'a', host: 'h2' }),
      snap(2025, 1, 1, 12, { dataset: 'b', host: 'h1' }),
    ];
    const r = applyForgetPolicy(list, { keepLast: 1 });
    expect(r.groups.map((g) => [g.key, g.keep.length, g.remove.length])).toEqual([
      [{ dataset: 'a', host: 'h1' }, 1, 1],
      [{ dataset: 'a', host: 'h2' }, 1, 1],
      [{ dataset: 'b', host: 'h1' }, 1, 0],
    ]);
    expect(r.keep.map((k) => k.snapshot.id).sort()).toEqual([list[1]!.id, list[3]!.id, list[4]!.id].sort());
    const byDataset = applyForgetPolicy(list, { keepLast: 1 }, ['dataset']);
    expect(byDataset.groups.map((g) => g.key)).toEqual([{ dataset: 'a' }, { dataset: 'b' }]);
    expect(byDataset.keep).toHaveLength(2);
  });

  it('partitions the input exactly and does not modify it', () => {
    const list = Object.freeze(Array.from({ length: 60 }, (_, i) => Object.freeze(snap(2025, 1 + (i % 12), 1 + (i % 28), i % 24))));
    const r = applyForgetPolicy(list, { keepLast: 2, keepDaily: 7, keepWeekly: 4, keepMonthly: 6 });
    const ids = [...r.keep, ...r.remove].map((d) => d.snapshot.id).sort();
    expect(ids).toEqual(list.map((s) => s.id).sort());
    expect(r.keep.length).toBeGreaterThan(0);
    expect(r.remove.length).toBeGreaterThan(0);
    expect(r.remove.every((d) => d.reasons.length === 0)).toBe(true);
  });

  it('rejects invalid counts', () => {
    expect(() => applyForgetPolicy([], { keepLast: 1.5 })).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
    expect(() => applyForgetPolicy([], { keepDaily: -2 })).toThrow(/keepDaily/);
  });
});
