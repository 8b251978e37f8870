'use strict';
/**
 * Tests of the benchmark runner and its case convention (node --test bench/test,
 * or npm run bench:test). Real processes throughout: run-bench.js runs the real
 * stream case (ebm from core/dist and restic, so build first: npx tsc -b) on a
 * tiny input, and a registry case whose script does not exist.
 */
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { parseRunOptions } = require('../run-options');
const { parseCaseOptions } = require('../case-options');
const { makeMetric, atMost, below } = require('../metrics');

const RUN_BENCH = path.join(__dirname, '..', 'run-bench.js');
const TINY_STREAM = ['--stream.mib', '1', '--stream.days', '2'];

function runBench(args, env = {}) {
  const r = spawnSync(process.execPath, [RUN_BENCH, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });
  const lastLine = r.stdout.trim().split('\n').pop();
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json: args.includes('--json') ? JSON.parse(lastLine) : null };
}

test('options reach the case they are meant for', () => {
  const o = parseRunOptions(['--scale', '0.1', '--sqlite.spread', 'recent', '--corpus', 'manyfiles', '--stream.days', '3']);
  assert.deepEqual(o.common, ['--scale', '0.1']);
  assert.deepEqual(o.perCase, { sqlite: ['--spread', 'recent'], files: ['--corpus', 'manyfiles'], stream: ['--days', '3'] });
  assert.deepEqual(parseRunOptions(['--case', 'sqlite', '--spread', 'recent']).perCase, { sqlite: ['--spread', 'recent'] });
  assert.deepEqual(parseRunOptions(['--cases', 'stream,files']).cases, ['files', 'stream']);
  assert.throws(() => parseRunOptions(['--spread', 'recent']), /--CASE\.spread/);
  assert.throws(() => parseRunOptions(['--case', 'nope']), /no such case/);
  assert.throws(() => parseRunOptions(['--case', 'stream', '--corpus', 'mixed']), /case files, which is not selected/);
});

test('a case records the common options it ignores and rejects unknown ones', () => {
  const spec = { defaults: { scale: '1', runs: 1 }, ignores: ['--corpus-dir'], options: { '--days': { key: 'days', default: 10, parse: Number } } };
  const o = parseCaseOptions(['--corpus-dir', '/x', '--days', '3', '--only', 'ebm'], spec);
  assert.deepEqual([o.ignored, o.days, o.tools, o.runs], [['--corpus-dir'], 3, ['ebm'], 1]);
  assert.throws(() => parseCaseOptions(['--bogus'], spec), /unknown option --bogus/);
  assert.throws(() => parseCaseOptions(['--runs', '0'], spec), /--runs 0/);
});

test('a target is met or missed by the ratio ebm/restic, strictly for "<"', () => {
  assert.equal(makeMetric({ key: 'k', label: 'l', unit: 's', target: atMost(1) }, { ebm: 2, restic: 2 }).met, true);
  assert.equal(makeMetric({ key: 'k', label: 'l', unit: 's', target: below(1) }, { ebm: 2, restic: 2 }).met, false);
  const m = makeMetric({ key: 'k', label: 'l', unit: 's', target: atMost(0.5) }, { ebm: 3 });
  assert.deepEqual([m.ratio, m.met], [null, null]);
});

test('run-bench runs a case end to end, reports a missing script as not available, and prints one combined table', () => {
  // A scripts folder that has the stream case and lacks the image case (every case script exists in bench/ now).
  const scripts = fs.mkdtempSync(path.join(os.tmpdir(), 'ebm-bench-scripts-'));
  fs.symlinkSync(path.join(__dirname, '..', 'stream-bench.js'), path.join(scripts, 'stream-bench.js'));
  const r = runBench(['--case', 'stream,image', ...TINY_STREAM, '--runs', '1', '--json'], { EBM_BENCH_SCRIPTS_DIR: scripts });
  fs.rmSync(scripts, { recursive: true, force: true });
  assert.equal(r.status, 0, r.stderr);
  const [stream, image] = r.json.cases;
  assert.equal(stream.status, 'ok', stream.error);
  assert.deepEqual(stream.ignoredOptions, []);
  assert.deepEqual(stream.metrics.filter((m) => m.target).map((m) => m.key), ['repoSize', 'totalBackup']);
  for (const m of stream.metrics) assert.ok(m.values.ebm > 0 && m.values.restic > 0 && m.ratio > 0, JSON.stringify(m));
  assert.deepEqual(image, { case: 'image', status: 'not-available', script: 'image-bench.js', metrics: [] });
  assert.equal(r.json.targets.met.length + r.json.targets.missed.length, 2);
  assert.match(r.stdout, /=== ebm vs restic, all cases/);
  assert.match(r.stdout, /stream\s+\| repository after all days \(MiB\)/);
  assert.match(r.stdout, /image\s+\| not available \(bench\/image-bench\.js does not exist yet\)/);
});

test('a case that fails is reported with its status, and the run exits with it', () => {
  const notADir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ebm-bench-test-')), 'file');
  fs.writeFileSync(notADir, 'not a directory');
  const r = runBench(['--case', 'stream', ...TINY_STREAM, '--workdir', notADir, '--json']);
  fs.rmSync(path.dirname(notADir), { recursive: true, force: true });
  assert.equal(r.status, 1);
  assert.equal(r.json.cases[0].status, 'setup-failed');
  assert.match(r.stdout, /stream\s+\| FAILED \(setup-failed\)/);
});

test('options a case rejects stop the run before any case starts', () => {
  const r = runBench(['--case', 'files,sqlite', '--sqlite.spread', 'bogus']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /case sqlite does not accept its options: .*--spread bogus/);
  assert.doesNotMatch(r.stderr, /case files: node/);
});
