'use strict';
/**
 * The combined report of `npm run bench`: one table of every case's metrics
 * (case | metric | ebm | restic | ratio | target | met?), a line per case that
 * did not produce numbers (not available, failed), and the list of targets
 * met and missed. Reads only case summaries (bench/README.md, "The case
 * convention"), so it knows nothing about any single case.
 */
const { formatRows, formatValue, formatTarget, formatMet } = require('./metrics');

/** Exit status of the whole run: the worst of the cases' (3 wrong restore > 2 tool failed > 1 setup). */
function overallExit(results) {
  return Math.max(0, ...results.map((r) => (r.status === 'not-available' ? 0 : r.exitCode || 0)));
}

/** Every target of every case, as {case, key, label, ratio, target, met}. */
function targetsOf(results) {
  const out = [];
  for (const r of results) {
    for (const m of r.metrics || []) {
      if (m.target && m.met !== null) out.push({ case: r.case, key: m.key, label: m.label, ratio: m.ratio, target: m.target, met: m.met });
    }
  }
  return out;
}

/** @param {object[]} results  case summaries, plus {case, status: 'not-available', script} for missing scripts */
function formatCombined(results, tools) {
  const header = ['case', 'metric', ...tools, 'ratio ebm/restic', 'target', 'met?'];
  const blank = header.slice(2).map(() => '');
  const rows = [];
  for (const r of results) {
    if (r.status === 'not-available') {
      rows.push([r.case, `not available (bench/${r.script} does not exist yet)`, ...blank]);
    } else if (r.status !== 'ok') {
      const why = String(r.error || '').split('\n')[0].slice(0, 100);
      rows.push([r.case, `FAILED (${r.status}): ${why}`, ...blank]);
    } else {
      for (const m of r.metrics) {
        rows.push([
          r.case,
          `${m.label} (${m.unit})`,
          ...tools.map((t) => formatValue(m.values[t], m.unit)),
          m.ratio === null ? '-' : m.ratio.toFixed(2),
          formatTarget(m.target),
          formatMet(m.met),
        ]);
      }
    }
  }
  const lines = [formatRows(header, rows, 2), ''];
  const targets = targetsOf(results);
  const missed = targets.filter((t) => !t.met);
  if (targets.length) {
    lines.push(
      `targets: ${targets.length - missed.length} met, ${missed.length} missed` +
        (missed.length ? ` — ${missed.map((t) => `${t.case}: ${t.label} ${t.ratio.toFixed(2)} (${formatTarget(t.target)})`).join('; ')}` : ''),
    );
  }
  lines.push(`cases: ${results.map((r) => `${r.case} ${r.status === 'ok' ? `ok (${Math.round(r.elapsedS)} s)` : r.status}`).join(', ')}`);
  return lines.join('\n');
}

module.exports = { formatCombined, overallExit, targetsOf };
