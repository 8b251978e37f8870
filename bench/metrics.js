'use strict';
/**
 * Metrics of a case, in the shape every case summary uses (bench/README.md,
 * "The case convention"):
 *
 *   { key, label, unit, values: {ebm, restic}, ratio, target, met }
 *
 * ratio is ebm/restic (null when either tool did not run or restic's value is
 * 0); target is null (for information) or {op: '<=' | '<', value}: the ratio
 * the issue asks for; met is null without a ratio or a target, else whether
 * ratio op value holds.
 */

function median(xs) {
  const s = xs.slice().sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** target helpers, so definitions read like the issue: atMost(1.0), below(1.0). */
const atMost = (value) => ({ op: '<=', value });
const below = (value) => ({ op: '<', value });

function meets(ratio, target) {
  if (ratio === null || !target) return null;
  return target.op === '<' ? ratio < target.value : ratio <= target.value;
}

/**
 * One metric from its values per tool.
 * @param {{key: string, label: string, unit: string, target?: {op: string, value: number} | null, aggregate?: string}} def
 * @param {Record<string, number>} values
 */
function makeMetric(def, values) {
  const ratio =
    typeof values.ebm === 'number' && typeof values.restic === 'number' && values.restic > 0
      ? values.ebm / values.restic
      : null;
  const target = def.target || null;
  return {
    key: def.key,
    label: def.label,
    unit: def.unit,
    aggregate: def.aggregate || 'median',
    values,
    ratio,
    target,
    met: meets(ratio, target),
  };
}

/**
 * Combines runs into metrics: each def's `pick(runs[i][tool])` is aggregated
 * over the runs by its `aggregate` ('median', the default, or 'max' — for peak
 * RSS, since the worst case is what a machine must provide).
 * @param {Array<Record<string, object>>} runs
 * @param {Array<object>} defs
 * @param {string[]} tools
 */
function summarizeRuns(runs, defs, tools) {
  return defs.map((def) => {
    const values = {};
    for (const tool of tools) {
      const xs = runs.map((r) => def.pick(r[tool]));
      values[tool] = def.aggregate === 'max' ? Math.max(...xs) : median(xs);
    }
    return makeMetric(def, values);
  });
}

function formatValue(v, unit) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '-';
  return unit === 's' ? v.toFixed(2) : v.toFixed(1);
}

function formatTarget(target) {
  return target ? `${target.op} ${target.value.toFixed(1)}` : '-';
}

function formatMet(met) {
  return met === null ? '-' : met ? 'met' : 'MISSED';
}

/** Aligned plain-text table: the first `leftColumns` columns (names) left-aligned, the others (numbers) right. */
function formatRows(header, rows, leftColumns = 1) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (i < leftColumns ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(' | ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

/** One case's table: metric | ebm | restic | ratio | target | met? */
function formatMetricTable(metrics, tools) {
  return formatRows(
    ['metric', ...tools, 'ratio ebm/restic', 'target', 'met?'],
    metrics.map((m) => [
      `${m.label} (${m.unit})`,
      ...tools.map((t) => formatValue(m.values[t], m.unit)),
      m.ratio === null ? '-' : m.ratio.toFixed(2),
      formatTarget(m.target),
      formatMet(m.met),
    ]),
  );
}

module.exports = { median, atMost, below, meets, makeMetric, summarizeRuns, formatMetricTable, formatRows, formatValue, formatTarget, formatMet };
