'use strict';
/**
 * The frame of a benchmark case script (bench/<name>-bench.js): options, work
 * directory, logging, the printed table, the JSON summary and the exit status,
 * so that a case script holds only what it measures. See bench/README.md,
 * "The case convention".
 *
 * Contract with run-bench.js (the only thing a case must honour, with or
 * without this module): accept the common options of case-options.js, print
 * its own report on stdout (progress on stderr), write its summary as JSON to
 * the file given by --summary — on failure too, with the status — and exit
 *   0  everything ran and every restore was exact (also when a target is missed)
 *   1  setup problem (bad option, missing tool, no space)
 *   2  a tool (ebm or restic) failed
 *   3  a restore differs from its source
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseCaseOptions, COMMON_USAGE } = require('./case-options');
const { formatMetricTable } = require('./metrics');

const SUMMARY_SCHEMA = 1;
const EXIT = { ok: 0, 'setup-failed': 1, 'tool-failed': 2, 'restore-wrong': 3 };

/** Thrown by a case when a restored tree or file differs from its source. */
class RestoreMismatch extends Error {}

/** The --summary value, found by hand when the options did not parse (so the failure can still be reported). */
function summaryFileFrom(argv) {
  const i = argv.indexOf('--summary');
  return i >= 0 && argv[i + 1] ? argv[i + 1] : null;
}

function writeSummary(file, summary) {
  if (!file) return;
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(summary, null, 1) + '\n');
}

/** Lines of the human report: heading, table, targets, what was verified. */
function formatReport(spec, opts, result) {
  const out = ['', `${spec.title} — ${result.description}`];
  const versions = Object.entries(result.versions || {}).filter(([, v]) => v);
  if (versions.length) out.push(`versions: ${versions.map(([k, v]) => `${k}: ${v}`).join('; ')}`);
  if (opts.ignored.length) out.push(`ignored (this case does not use them): ${opts.ignored.join(' ')}`);
  out.push('', formatMetricTable(result.metrics, opts.tools), '');
  if (opts.tools.length === 2) {
    const missed = result.metrics.filter((m) => m.met === false).map((m) => m.label);
    out.push(missed.length ? `targets missed: ${missed.join(', ')}` : 'all targets met');
  }
  if (result.verified) out.push(result.verified);
  return out.join('\n') + '\n';
}

/**
 * Runs one case and sets process.exitCode.
 * @param {object} spec
 * @param {string} spec.name      the case name, as in cases.js (e.g. 'sqlite')
 * @param {string} spec.title     heading of the report
 * @param {string} spec.usage     the case's own --help text (what it measures, its own options, what it ignores)
 * @param {{scale: string, runs: number}} spec.defaults
 * @param {object} [spec.options] the case's own options (see parseCaseOptions)
 * @param {string[]} [spec.ignores] common options this case does not use
 * @param {(opts: object, ctx: {workdir: string, logDir: string, log: (m: string) => void, measuring: () => void}) =>
 *   (a Promise of) {description: string, versions?: object, metrics: object[], verified?: string, details?: object}} body
 *   measures; throws RestoreMismatch for a wrong restore, any Error otherwise (an Error after ctx.measuring()
 *   counts as a tool failure, before it as a setup problem)
 */
async function runCase(spec, body) {
  const argv = process.argv.slice(2);
  const t0 = Date.now();
  const log = (msg) => process.stderr.write(`[${spec.name} ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${msg}\n`);
  const base = { schema: SUMMARY_SCHEMA, case: spec.name, title: spec.title };
  let opts;
  try {
    opts = parseCaseOptions(argv, spec);
  } catch (e) {
    process.stderr.write(`${spec.name}-bench: ${e.message}\n`);
    writeSummary(summaryFileFrom(argv), { ...base, status: 'setup-failed', exitCode: 1, error: e.message, metrics: [] });
    process.exitCode = 1;
    return;
  }
  if (opts.help) {
    process.stdout.write(`${spec.usage.trimEnd()}\n\n${COMMON_USAGE}`);
    return;
  }
  if (opts.checkOnly) return;
  if (opts.ignored.length) log(`ignoring ${opts.ignored.join(' ')}: this case does not use them`);

  const state = { workdir: null, measuring: false, cleaned: false };
  const cleanup = (failed) => {
    if (!state.workdir || opts.keep || state.cleaned) return;
    state.cleaned = true;
    if (!failed) return fs.rmSync(state.workdir, { recursive: true, force: true });
    for (const e of fs.readdirSync(state.workdir)) {
      if (e !== 'logs') fs.rmSync(path.join(state.workdir, e), { recursive: true, force: true });
    }
    log(`logs kept in ${path.join(state.workdir, 'logs')}`);
  };
  process.on('SIGINT', () => {
    cleanup(true);
    process.exit(130);
  });

  const common = { scale: Number(opts.scale), runs: opts.runs, tools: opts.tools, ignoredOptions: opts.ignored };
  try {
    const parent = path.resolve(opts.workdir || os.tmpdir());
    fs.mkdirSync(parent, { recursive: true });
    state.workdir = fs.mkdtempSync(path.join(parent, `ebm-${spec.name}-bench-`));
    const logDir = path.join(state.workdir, 'logs');
    fs.mkdirSync(logDir);
    log(`work directory ${state.workdir}${opts.keep ? ' (kept: --keep)' : ''}`);
    const ctx = { workdir: state.workdir, logDir, log, measuring: () => (state.measuring = true) };
    const result = await body(opts, ctx); // a body may be async (e.g. it talks to ebm serve)
    const summary = {
      ...base,
      status: 'ok',
      exitCode: 0,
      description: result.description,
      ...common,
      versions: result.versions || {},
      metrics: result.metrics,
      verified: result.verified || null,
      elapsedS: (Date.now() - t0) / 1000,
      details: result.details || {},
    };
    process.stdout.write(formatReport(spec, opts, result));
    if (opts.json) process.stdout.write(JSON.stringify(summary) + '\n');
    writeSummary(opts.summaryFile, summary);
    cleanup(false);
  } catch (e) {
    const status = e instanceof RestoreMismatch ? 'restore-wrong' : state.measuring ? 'tool-failed' : 'setup-failed';
    process.stderr.write(`\n${spec.name}-bench: ${status === 'restore-wrong' ? 'WRONG RESTORE — ' : ''}${e.message}\n`);
    const summary = { ...base, status, exitCode: EXIT[status], error: e.message, ...common, metrics: [], elapsedS: (Date.now() - t0) / 1000 };
    writeSummary(opts.summaryFile, summary);
    cleanup(true);
    process.exitCode = EXIT[status];
  }
}

module.exports = { runCase, RestoreMismatch, SUMMARY_SCHEMA, EXIT };
