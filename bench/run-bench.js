#!/usr/bin/env node
'use strict';
/**
 * `npm run bench`: every benchmark case (cases.js), each ebm against restic in
 * the same run, then one combined table of ratios with each target met or
 * missed.
 *
 * Each case is its own script, run here as a child process with the options
 * meant for it and --summary FILE; it prints its own table while it runs and
 * writes its JSON summary to FILE (bench/README.md, "The case convention").
 * Before any case runs, each selected one is asked to check its options
 * (--check-options), so a typo stops the run at once instead of after an hour.
 *
 * Exit status: the worst of the cases' — 0 when everything ran and every
 * restore was exact (also when targets are missed: this is a report, not a
 * test; a case whose script does not exist yet is "not available", not an
 * error), 1 for a setup problem, 2 when a tool failed, 3 when a restore
 * differed from its source.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { CASES } = require('./cases');
const { parseRunOptions, USAGE } = require('./run-options');
const { formatCombined, overallExit, targetsOf } = require('./combined-report');

const t0 = Date.now();
function log(msg) {
  process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${msg}\n`);
}

function argsFor(opts, c) {
  return [...opts.common, ...(opts.perCase[c.name] || [])];
}

/** Reads a case's summary; a case that wrote none (or garbage) is reported as failed with its exit status. */
function readSummary(file, c, status) {
  try {
    const s = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (s && s.case === c.name && typeof s.status === 'string') return s;
  } catch {
    // fall through: no usable summary
  }
  const exitCode = [1, 2, 3].includes(status) ? status : 2;
  return { case: c.name, status: 'failed', exitCode, error: `bench/${c.script} exited ${status} without writing its summary`, metrics: [] };
}

function main() {
  let opts;
  try {
    opts = parseRunOptions(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`bench: ${e.message}\n`);
    return 1;
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  // EBM_BENCH_SCRIPTS_DIR: where case scripts are looked up (bench/ by default; bench/test uses it to make a case "not available").
  const scriptsDir = process.env.EBM_BENCH_SCRIPTS_DIR || __dirname;
  const selected = CASES.filter((c) => opts.cases.includes(c.name)).map((c) => ({ ...c, path: path.join(scriptsDir, c.script) }));
  if (opts.list) {
    for (const c of selected) process.stdout.write(`${c.name.padEnd(10)} ${fs.existsSync(c.path) ? 'available    ' : 'not available'}  bench/${c.script}: ${c.about}\n`);
    return 0;
  }
  const available = selected.filter((c) => fs.existsSync(c.path));

  for (const c of available) {
    const r = spawnSync(process.execPath, [c.path, ...argsFor(opts, c), '--check-options'], { encoding: 'utf8' });
    if (r.status !== 0) {
      process.stderr.write(`bench: case ${c.name} does not accept its options: ${(r.stderr || '').trim() || `exit ${r.status}`}\n`);
      return 1;
    }
  }

  const summaries = fs.mkdtempSync(path.join(os.tmpdir(), 'ebm-bench-summaries-'));
  const results = [];
  try {
    for (const c of selected) {
      if (!fs.existsSync(c.path)) {
        log(`case ${c.name}: not available (bench/${c.script} does not exist yet)`);
        results.push({ case: c.name, status: 'not-available', script: c.script, metrics: [] });
        continue;
      }
      const file = path.join(summaries, `${c.name}.json`);
      const args = [c.path, ...argsFor(opts, c), '--summary', file];
      log(`case ${c.name}: node ${path.relative(process.cwd(), c.path)} ${args.slice(1).join(' ')}`);
      const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
      if (r.signal === 'SIGINT' || r.status === 130) return 130; // interrupted: the case cleaned up after itself
      results.push(readSummary(file, c, r.status));
    }
  } finally {
    fs.rmSync(summaries, { recursive: true, force: true });
  }

  const tools = opts.common.includes('--only') ? [opts.common[opts.common.indexOf('--only') + 1]] : ['ebm', 'restic'];
  const exitCode = overallExit(results);
  process.stdout.write(
    `\n=== ebm vs restic, all cases (${os.cpus().length} CPUs, ${Math.round(os.totalmem() / 2 ** 20)} MiB RAM, ` +
      `${Math.round((Date.now() - t0) / 1000)} s) ===\n\n${formatCombined(results, tools)}\n`,
  );
  if (opts.json) {
    const targets = targetsOf(results);
    const combined = {
      schema: 1,
      machine: { cpus: os.cpus().length, memMiB: Math.round(os.totalmem() / 2 ** 20), node: process.version },
      argv: process.argv.slice(2),
      cases: results,
      targets: { met: targets.filter((t) => t.met), missed: targets.filter((t) => !t.met) },
      exitCode,
    };
    process.stdout.write(JSON.stringify(combined) + '\n');
  }
  return exitCode;
}

process.exitCode = main();
