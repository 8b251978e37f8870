'use strict';
/**
 * A running `ebm serve` for a bench case: one repository (`main`, verify off
 * like the peers, which do not re-read what they wrote), the case's
 * datasets, and a client that triggers a dataset's backup and waits for it.
 */
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawn } = require('node:child_process');
const { EBM_MAIN } = require('./bench-util');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * @param {{work: string, repo: string, datasets: Record<string, string>, password: string}} spec
 *   datasets: name -> the dataset's settings as a YAML flow mapping body, e.g. `source: /data, journal: {}`
 *   (`repository: main` is added).
 */
async function startHost(spec) {
  const token = crypto.randomBytes(16).toString('hex');
  const config = path.join(spec.work, 'ebm.config.yaml');
  fs.writeFileSync(config, [
    `repositories: { main: { path: ${spec.repo}, passwordEnv: EBM_PASSWORD, verify: false } }`,
    'datasets:',
    ...Object.entries(spec.datasets).map(([name, body]) => `  ${name}: { ${body}, repository: main }`),
    `state: { dir: ${path.join(spec.work, 'state')} }`,
    `log: { level: warn, file: ${path.join(spec.work, 'host.jsonl')} }`,
    '',
  ].join('\n'));
  const child = spawn(process.execPath, [EBM_MAIN, 'serve', '--config', config, '--listen', '127.0.0.1:0', '--json'], {
    env: { ...process.env, EBM_PASSWORD: spec.password, EBM_API_TOKEN: token },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const url = await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('"op":"serve"'));
      if (line) resolve(`http://127.0.0.1:${JSON.parse(line).port}`);
    });
    child.on('exit', (code) => reject(new Error(`ebm serve exited (${code}): ${err.slice(-500)}`)));
  });
  const api = async (method, route, body) => {
    const res = await fetch(url + route, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    return res.json();
  };
  /** Triggers a backup of `dataset` and waits for it: wall time from the request to the job's end (polled every 5 ms). */
  const backup = async (dataset) => {
    const t0 = process.hrtime.bigint();
    const job = await api('POST', `/api/v1/datasets/${dataset}/backup`, {});
    if (job.id === undefined) throw new Error(`ebm serve refused a backup of ${dataset}: ${JSON.stringify(job)}`);
    for (;;) {
      const cur = await api('GET', `/api/v1/jobs/${job.id}`);
      if (cur.state === 'done' || cur.state === 'failed' || cur.state === 'cancelled') {
        const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
        if (cur.state !== 'done') throw new Error(`ebm host backup of ${dataset} ended ${cur.state}: ${JSON.stringify(cur.error)}`);
        return { wallS, jobS: (Date.parse(cur.finishedAt) - Date.parse(cur.startedAt)) / 1000, result: cur.result };
      }
      await sleep(5);
    }
  };
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  return { api, backup, stop };
}

module.exports = { startHost, sleep };
