'use strict';
/**
 * Turns the per-run measurements into the summary: medians per tool, the
 * ratio ebm/restic and whether it meets its target, and a plain-text table.
 */

/**
 * The metrics, in table order. `pick(run)` reads one run's value for one tool;
 * `aggregate` says how runs combine (median for times and sizes; max for peak
 * RSS, since the worst case is what a machine has to provide).
 * `target` is the highest acceptable ratio ebm/restic (null: informational).
 */
const METRICS = [
  { key: 'backup1', label: 'first backup', unit: 's', aggregate: 'median', target: 1.0, pick: (t) => t.backup1.wallS },
  { key: 'backup2', label: 'second backup (~1% changed)', unit: 's', aggregate: 'median', target: 1.0, pick: (t) => t.backup2.wallS },
  { key: 'restore', label: 'restore', unit: 's', aggregate: 'median', target: 1.0, pick: (t) => t.restore.wallS },
  { key: 'peakRss', label: 'peak RSS (max of all runs)', unit: 'MiB', aggregate: 'max', target: 1.5, pick: (t) => t.peakRssKiB / 1024 },
  { key: 'repoSize', label: 'repository size (after both)', unit: 'MiB', aggregate: 'median', target: 1.0, pick: (t) => t.repoBytes / 2 ** 20 },
  { key: 'repoSize1', label: 'repository size (after 1st)', unit: 'MiB', aggregate: 'median', target: null, pick: (t) => t.repoBytes1 / 2 ** 20 },
];

function median(xs) {
  const s = xs.slice().sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * @param {Array<Record<string, object>>} runs  runs[i][tool] = {backup1, backup2, restore, peakRssKiB, repoBytes, repoBytes1}
 * @param {string[]} tools
 * @returns {Array<{key, label, unit, target, values: Record<string, number>, ratio: number|null, met: boolean|null}>}
 */
function summarize(runs, tools) {
  return METRICS.map((m) => {
    const values = {};
    for (const tool of tools) {
      const xs = runs.map((r) => m.pick(r[tool]));
      values[tool] = m.aggregate === 'max' ? Math.max(...xs) : median(xs);
    }
    const both = tools.includes('ebm') && tools.includes('restic');
    const ratio = both && values.restic > 0 ? values.ebm / values.restic : null;
    const met = ratio === null || m.target === null ? null : ratio <= m.target;
    return { key: m.key, label: m.label, unit: m.unit, aggregate: m.aggregate, target: m.target, values, ratio, met };
  });
}

function fmt(v, unit) {
  if (v === undefined || v === null) return '-';
  return unit === 's' ? v.toFixed(2) : v.toFixed(1);
}

/** Plain-text table: metric | ebm | restic | ratio | target | met? */
function formatTable(summary, tools) {
  const header = ['metric', ...tools, 'ratio ebm/restic', 'target', 'met?'];
  const rows = summary.map((s) => [
    `${s.label} (${s.unit})`,
    ...tools.map((t) => fmt(s.values[t], s.unit)),
    s.ratio === null ? '-' : s.ratio.toFixed(2),
    s.target === null ? '-' : `<= ${s.target.toFixed(1)}`,
    s.met === null ? '-' : s.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ');
  const sep = widths.map((w) => '-'.repeat(w)).join('-|-');
  return [line(header), sep, ...rows.map(line)].join('\n');
}

module.exports = { summarize, formatTable, median, METRICS };
