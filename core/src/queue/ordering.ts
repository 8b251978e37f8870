/**
 * The order in which waiting jobs are considered (docs/runtime.md):
 * effective priority, higher first, then age (longer waiting first), then
 * submission order. Effective priority = request priority + one point per
 * `agingIntervalMs` waited, so an old low-priority job eventually outranks
 * any new one: a job at −100 waits at most 200 intervals behind fresh jobs
 * at +100. Age counts from when the job was first queued (a retry keeps it).
 */
export interface Orderable {
  readonly priority: number;
  /** ms since the epoch when it started waiting. */
  readonly since: number;
  /** Submission sequence number: the final tie-breaker. */
  readonly seq: number;
}

export function effectivePriority(item: Orderable, now: number, agingIntervalMs: number): number {
  const waited = Math.max(0, now - item.since);
  return item.priority + (agingIntervalMs > 0 ? Math.floor(waited / agingIntervalMs) : 0);
}

export function compareForAdmission(a: Orderable, b: Orderable, now: number, agingIntervalMs: number): number {
  const pa = effectivePriority(a, now, agingIntervalMs);
  const pb = effectivePriority(b, now, agingIntervalMs);
  if (pa !== pb) return pb - pa;
  if (a.since !== b.since) return a.since - b.since;
  return a.seq - b.seq;
}
