'use strict';
/**
 * The two tools under comparison, behind one shape:
 *   init(repo), backup(repo, source, label), restore(repo, target, label), checkSnapshots(repo, n)
 * backup and restore are measured (wall time, peak RSS); init and the
 * snapshot check are not. Both tools get the same password through their
 * environment variable (EBM_PASSWORD / RESTIC_PASSWORD) and both encrypt and
 * compress with zstd at about level 3 (ebm's default; restic's "auto").
 */
const fs = require('node:fs');
const path = require('node:path');
const { runTimed, runChecked } = require('./timed-command');

/** Last line of JSON-lines output, parsed; null if it is not JSON. */
function lastJsonLine(stdout) {
  const lines = stdout.trim().split('\n').filter((l) => l.trim() !== '');
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      return JSON.parse(lines[i]);
    } catch {
      // a non-JSON trailer (e.g. a warning) — keep looking upwards
    }
  }
  return null;
}

/** Counts snapshots in `snapshots --json` output, whichever common shape it has. */
function countSnapshots(stdout) {
  const text = stdout.trim();
  try {
    const v = JSON.parse(text);
    if (Array.isArray(v)) return v.length;
    if (v && Array.isArray(v.snapshots)) return v.snapshots.length;
  } catch {
    // JSON lines: one snapshot per line
    return text.split('\n').filter((l) => l.trim().startsWith('{')).length;
  }
  return null;
}

/**
 * @param {object} ctx
 * @param {string} ctx.repoRoot   the ebm checkout (core/dist/cli/main.js lives there)
 * @param {string} ctx.password
 * @param {string} ctx.logDir
 * @param {string} ctx.resticCacheDir
 */
function makeTools(ctx) {
  const ebmMain = path.join(ctx.repoRoot, 'core', 'dist', 'cli', 'main.js');
  const ebmEnv = { ...process.env, EBM_PASSWORD: ctx.password };
  delete ebmEnv.EBM_PASSWORD_FILE; // it would take precedence over EBM_PASSWORD
  delete ebmEnv.EBM_REPOSITORY;
  const resticEnv = {
    ...process.env,
    RESTIC_PASSWORD: ctx.password,
    RESTIC_CACHE_DIR: ctx.resticCacheDir,
  };
  // Never let a caller's environment choose another repository or password source.
  for (const k of ['RESTIC_REPOSITORY', 'RESTIC_REPOSITORY_FILE', 'RESTIC_PASSWORD_FILE', 'RESTIC_PASSWORD_COMMAND', 'RESTIC_COMPRESSION']) {
    delete resticEnv[k];
  }

  const ebm = {
    name: 'ebm',
    ensureAvailable() {
      if (!fs.existsSync(ebmMain)) {
        throw new Error(`${ebmMain} does not exist: build ebm first (npx tsc -b), or run with --only restic`);
      }
      runChecked('ebm --help', process.execPath, [ebmMain, '--help'], { env: ebmEnv });
      return `node ${process.version}, ${path.relative(ctx.repoRoot, ebmMain)}`;
    },
    init(repo) {
      runChecked('ebm init', process.execPath, [ebmMain, 'init', '-r', repo], { env: ebmEnv });
    },
    backup(repo, source, label, dataset = 'bench') {
      const r = runTimed({
        label,
        cmd: process.execPath,
        args: [ebmMain, 'backup', '-r', repo, source, '--dataset', dataset, '--json'],
        env: ebmEnv,
        logDir: ctx.logDir,
      });
      const summary = lastJsonLine(r.stdout);
      if (!summary || summary.type !== 'summary') {
        throw new Error(`${label}: the last JSON line of "ebm backup --json" is not {"type":"summary",...} (see ${ctx.logDir})`);
      }
      return { wallS: r.wallS, rssKiB: r.rssKiB, summary };
    },
    restore(repo, target, label) {
      const r = runTimed({
        label,
        cmd: process.execPath,
        args: [ebmMain, 'restore', '-r', repo, 'latest', '--target', target, '--json'],
        env: ebmEnv,
        logDir: ctx.logDir,
      });
      return { wallS: r.wallS, rssKiB: r.rssKiB, summary: lastJsonLine(r.stdout) };
    },
    snapshotCount(repo) {
      const out = runChecked('ebm snapshots', process.execPath, [ebmMain, 'snapshots', '-r', repo, '--json'], { env: ebmEnv });
      return countSnapshots(out);
    },
  };

  const restic = {
    name: 'restic',
    ensureAvailable() {
      return runChecked('restic version', 'restic', ['version']).trim();
    },
    init(repo) {
      runChecked('restic init', 'restic', ['init', '--repository-version', '2', '-r', repo], { env: resticEnv });
    },
    backup(repo, source, label) {
      // Back up "." from inside the source so the snapshot's top level is the
      // corpus itself and "restore latest --target DIR" lands directly in DIR.
      const r = runTimed({
        label,
        cmd: 'restic',
        args: ['-r', repo, 'backup', '--compression', 'auto', '--json', '--quiet', '.'],
        cwd: source,
        env: resticEnv,
        logDir: ctx.logDir,
      });
      const summary = lastJsonLine(r.stdout);
      if (!summary || summary.message_type !== 'summary') {
        throw new Error(`${label}: restic printed no JSON summary (see ${ctx.logDir})`);
      }
      return { wallS: r.wallS, rssKiB: r.rssKiB, summary };
    },
    restore(repo, target, label) {
      const r = runTimed({
        label,
        cmd: 'restic',
        args: ['-r', repo, 'restore', 'latest', '--target', target, '--quiet'],
        env: resticEnv,
        logDir: ctx.logDir,
      });
      return { wallS: r.wallS, rssKiB: r.rssKiB, summary: null };
    },
    snapshotCount(repo) {
      const out = runChecked('restic snapshots', 'restic', ['-r', repo, 'snapshots', '--json'], { env: resticEnv });
      return countSnapshots(out);
    },
  };

  return { ebm, restic };
}

module.exports = { makeTools, lastJsonLine, countSnapshots };
