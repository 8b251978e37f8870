import { EbmError } from '@ebm/sdk';

/**
 * Which snapshots to keep (restic's `forget` semantics). Counts are per
 * group; -1 means unlimited. A policy with no positive count and no tag
 * keeps everything: an empty policy never removes all by accident.
 */
export interface ForgetPolicy {
  readonly keepLast?: number;
  readonly keepHourly?: number;
  readonly keepDaily?: number;
  readonly keepWeekly?: number;
  readonly keepMonthly?: number;
  readonly keepYearly?: number;
  /** Snapshots carrying any of these tags are kept (and do not use up any count). */
  readonly keepTags?: readonly string[];
}

/** The fields the policy looks at; SnapshotRecord satisfies it. */
export interface ForgetCandidate {
  readonly id: string;
  readonly time: string;
  readonly host: string;
  readonly dataset: string;
  readonly tags: readonly string[];
}

export type GroupField = 'dataset' | 'host' | 'tags';

export interface Decision<T> {
  readonly snapshot: T;
  /** Why it is kept, e.g. ["last snapshot", "daily snapshot"]; empty for removals. */
  readonly reasons: string[];
}

export interface ForgetGroup<T> {
  /** e.g. {dataset: "home", host: "web1"} */
  readonly key: Readonly<Partial<Record<GroupField, string>>>;
  readonly keep: Decision<T>[];
  readonly remove: Decision<T>[];
}

export interface ForgetResult<T> {
  /** Newest first within each group, groups in order of their key. */
  readonly keep: Decision<T>[];
  readonly remove: Decision<T>[];
  readonly groups: ForgetGroup<T>[];
}

type Bucketer = (t: Date, index: number) => string;

const RULES: readonly { readonly field: keyof ForgetPolicy; readonly reason: string; readonly bucket: Bucketer }[] = [
  { field: 'keepLast', reason: 'last snapshot', bucket: (_t, i) => `#${i}` },
  { field: 'keepHourly', reason: 'hourly snapshot', bucket: (t) => `${t.getFullYear()}-${t.getMonth()}-${t.getDate()}-${t.getHours()}` },
  { field: 'keepDaily', reason: 'daily snapshot', bucket: (t) => `${t.getFullYear()}-${t.getMonth()}-${t.getDate()}` },
  { field: 'keepWeekly', reason: 'weekly snapshot', bucket: (t) => isoWeek(t) },
  { field: 'keepMonthly', reason: 'monthly snapshot', bucket: (t) => `${t.getFullYear()}-${t.getMonth()}` },
  { field: 'keepYearly', reason: 'yearly snapshot', bucket: (t) => `${t.getFullYear()}` },
];

/** True when the policy would keep everything (no positive or unlimited count, no tags). */
export function isEmptyPolicy(policy: ForgetPolicy): boolean {
  return RULES.every((r) => !policy[r.field]) && (policy.keepTags ?? []).length === 0;
}

/**
 * Decides, per group (default dataset + host), which snapshots to keep.
 * Within a group, snapshots are walked newest first; for each rule with
 * count left, a snapshot is kept when its bucket (hour, day, ISO week,
 * month, year of its time in the process's local time zone; for keepLast,
 * the snapshot itself) differs from the last bucket that rule kept, which
 * uses up one count. Like restic, a rule that still has count left when it
 * reaches the group's oldest snapshot keeps that one too, so the history
 * reaches back as far as possible. Tagged snapshots are kept without using
 * counts. Pure: no I/O, input not modified.
 */
export function applyForgetPolicy<T extends ForgetCandidate>(snapshots: readonly T[], policy: ForgetPolicy, groupBy: readonly GroupField[] = ['dataset', 'host']): ForgetResult<T> {
  validatePolicy(policy);
  const groups = new Map<string, { key: Partial<Record<GroupField, string>>; members: T[] }>();
  for (const s of snapshots) {
    const key: Partial<Record<GroupField, string>> = {};
    for (const f of groupBy) key[f] = f === 'tags' ? [...s.tags].sort().join(',') : s[f];
    const k = JSON.stringify(groupBy.map((f) => key[f]));
    const group = groups.get(k) ?? { key, members: [] };
    group.members.push(s);
    groups.set(k, group);
  }
  const result: ForgetResult<T> = { keep: [], remove: [], groups: [] };
  for (const k of [...groups.keys()].sort()) {
    const { key, members } = groups.get(k)!;
    const group = decideGroup(members, policy, key);
    result.groups.push(group);
    result.keep.push(...group.keep);
    result.remove.push(...group.remove);
  }
  return result;
}

function decideGroup<T extends ForgetCandidate>(members: T[], policy: ForgetPolicy, key: Partial<Record<GroupField, string>>): ForgetGroup<T> {
  const sorted = [...members].sort((a, b) => Date.parse(b.time) - Date.parse(a.time) || b.id.localeCompare(a.id));
  if (isEmptyPolicy(policy)) return { key, keep: sorted.map((snapshot) => ({ snapshot, reasons: ['policy is empty'] })), remove: [] };
  const state = RULES.map((r) => ({ rule: r, left: policy[r.field] as number | undefined ?? 0, last: undefined as string | undefined }));
  const keep: Decision<T>[] = [];
  const remove: Decision<T>[] = [];
  sorted.forEach((snapshot, index) => {
    const reasons: string[] = [];
    for (const tag of policy.keepTags ?? []) if (snapshot.tags.includes(tag)) reasons.push(`tag ${tag}`);
    const time = new Date(snapshot.time);
    const oldest = index === sorted.length - 1;
    for (const s of state) {
      if (s.left === 0) continue;
      const bucket = s.rule.bucket(time, index);
      if (bucket !== s.last || oldest) {
        reasons.push(bucket === s.last ? `oldest ${s.rule.reason}` : s.rule.reason);
        s.last = bucket;
        if (s.left > 0) s.left--;
      }
    }
    (reasons.length ? keep : remove).push({ snapshot, reasons });
  });
  return { key, keep, remove };
}

function validatePolicy(policy: ForgetPolicy): void {
  for (const r of RULES) {
    const v = policy[r.field];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < -1)) {
      throw new EbmError('E_USAGE', `invalid ${r.field} ${JSON.stringify(v)}: need a whole number ≥ 0, or -1 for unlimited`);
    }
  }
}

/** ISO 8601 week-numbering year and week of the local date, e.g. "2025-W01". */
function isoWeek(t: Date): string {
  const d = new Date(Date.UTC(t.getFullYear(), t.getMonth(), t.getDate()));
  const day = d.getUTCDay() || 7; // Monday=1 … Sunday=7
  d.setUTCDate(d.getUTCDate() + 4 - day); // the Thursday of this week decides the year
  const yearStart = Date.UTC(d.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((d.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${d.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}
