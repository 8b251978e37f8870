'use strict';
/**
 * Runs one command under GNU time and returns its wall time and peak RSS.
 *
 * Wall time is measured here (process.hrtime around the child), peak RSS by
 * `/usr/bin/time -f %M` (the child's ru_maxrss in KiB; for ebm that covers its
 * worker threads, which live in the same process). stdout and stderr go to
 * files, not pipes, so a chatty tool is never slowed down by this harness.
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const GNU_TIME = '/usr/bin/time';

/**
 * @param {object} spec
 * @param {string} spec.label    name for logs and errors, e.g. "ebm backup #1"
 * @param {string} spec.cmd      executable
 * @param {string[]} spec.args
 * @param {string} spec.logDir   where <label>.stdout/.stderr/.time are written
 * @param {string} [spec.cwd]
 * @param {NodeJS.ProcessEnv} [spec.env]
 * @returns {{wallS: number, rssKiB: number, stdout: string, stderr: string}}
 * @throws Error naming the command, its exit status and the tail of its stderr, if it does not exit 0.
 */
function runTimed(spec) {
  const base = path.join(spec.logDir, spec.label.replace(/[^A-Za-z0-9_.-]+/g, '_'));
  const outFile = `${base}.stdout`;
  const errFile = `${base}.stderr`;
  const timeFile = `${base}.time`;
  const out = fs.openSync(outFile, 'w');
  const err = fs.openSync(errFile, 'w');
  let res;
  const t0 = process.hrtime.bigint();
  try {
    res = spawnSync(GNU_TIME, ['-f', '%M', '-o', timeFile, spec.cmd, ...spec.args], {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ['ignore', out, err],
    });
  } finally {
    fs.closeSync(out);
    fs.closeSync(err);
  }
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const stdout = fs.readFileSync(outFile, 'utf8');
  const stderr = fs.readFileSync(errFile, 'utf8');
  if (res.error) throw new Error(`${spec.label}: could not start ${GNU_TIME}: ${res.error.message}`);
  if (res.status !== 0) {
    // With --json, ebm reports errors on stdout; show whichever stream has them.
    const stream = stderr.trim() !== '' ? 'stderr' : 'stdout';
    const tail = (stream === 'stderr' ? stderr : stdout).trim().split('\n').slice(-15).join('\n');
    throw new Error(
      `${spec.label} failed (exit ${res.status ?? 'signal ' + res.signal}): ${spec.cmd} ${spec.args.join(' ')}\n` +
        `--- ${stream} tail (full logs in ${base}.*) ---\n${tail}`,
    );
  }
  // GNU time writes "Command exited with non-zero status" lines before the
  // format output on failure; on success the last non-empty line is %M.
  const timeLines = fs.readFileSync(timeFile, 'utf8').trim().split('\n');
  const rssKiB = Number(timeLines[timeLines.length - 1]);
  if (!Number.isFinite(rssKiB)) throw new Error(`${spec.label}: cannot read peak RSS from ${timeFile}`);
  return { wallS, rssKiB, stdout, stderr };
}

/** Runs a helper command (not measured); throws with its stderr if it fails. Returns stdout. */
function runChecked(label, cmd, args, options = {}) {
  const res = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...options });
  if (res.error) throw new Error(`${label}: could not start ${cmd}: ${res.error.message}`);
  if (res.status !== 0) {
    throw new Error(
      `${label} failed (exit ${res.status ?? 'signal ' + res.signal}): ${cmd} ${args.join(' ')}\n` +
        `${(res.stderr || '').trim()}\n${(res.stdout || '').trim()}`.trimEnd(),
    );
  }
  return res.stdout;
}

module.exports = { runTimed, runChecked, GNU_TIME };
