import * as fs from 'node:fs';
import * as path from 'node:path';
import { generateSampleTree } from '@ebm/core';
import { ebm, ebmOk, tempDir } from '../helpers/cli';
import { api, startHost, TOKEN, waitForJob, writeHostConfig } from '../helpers/host';

describe('ebm serve (the host process)', () => {
  let work: string;
  let config: string;
  let repo: string;
  let docs: string;

  beforeAll(async () => {
    work = tempDir('serve');
    repo = path.join(work, 'repo');
    docs = path.join(work, 'docs');
    await generateSampleTree(docs, { files: 300, seed: 9 });
    await ebmOk(['init', '-r', repo]);
    config = writeHostConfig(work, [
      `repositories: { main: { path: ${repo}, passwordEnv: EBM_PASSWORD } }`,
      'datasets:',
      `  docs: { translator: filesystem, source: ${docs}, repository: main, retention: { keepLast: 2 } }`,
      'budgets: { workers: 2, memoryMiB: 1024 }',
    ]);
  });

  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('serves the API only with the bearer token, runs a triggered backup, lists and browses its snapshot, and stops cleanly on SIGTERM', async () => {
    const host = await startHost(config);
    try {
      expect((await api(host, 'GET', '/api/v1/status', undefined, null)).status).toBe(401);
      expect((await api(host, 'GET', '/api/v1/status', undefined, 'wrong-token')).status).toBe(401);
      expect((await api(host, 'GET', '/metrics', undefined, null)).status).toBe(401);
      const status = await api<{ datasets: Array<{ name: string }>; accepting: boolean }>(host, 'GET', '/api/v1/status');
      expect(status.status).toBe(200);
      expect(status.body.accepting).toBe(true);
      expect(status.body.datasets.map((d) => d.name)).toEqual(['docs']);

      const trigger = await api<{ id: string }>(host, 'POST', '/api/v1/datasets/docs/backup', { tags: ['manual'] });
      expect(trigger.status).toBe(202);
      const done = await waitForJob(host, trigger.body.id, ['done', 'failed']);
      expect(done).toMatchObject({ state: 'done' });
      expect((await api(host, 'POST', '/api/v1/datasets/nope/backup', {})).status).toBe(404);

      const snaps = await api<{ snapshots: Array<{ id: string; dataset: string; tags: string[] }> }>(host, 'GET', '/api/v1/snapshots');
      expect(snaps.body.snapshots).toHaveLength(1);
      expect(snaps.body.snapshots[0]).toMatchObject({ dataset: 'docs', tags: ['manual'] });
      const tree = await api<{ entries: Array<{ name: string; kind: string }> }>(host, 'GET', `/api/v1/snapshots/${snaps.body.snapshots[0]!.id}/tree?path=`);
      expect(tree.body.entries.map((e) => e.name)).toEqual(fs.readdirSync(docs).sort());

      // The CLI talks to the running host too.
      const env = { EBM_HOST_URL: host.url, EBM_API_TOKEN: TOKEN };
      const runWait = await ebm(['run', 'docs', '--wait', '--json'], { env });
      expect(runWait.code).toBe(0);
      // Verification jobs from the CLI: the latest snapshot of a dataset, then a whole-repository check.
      const verifyLatest = await ebm(['verify', 'latest', '--dataset', 'docs', '--wait', '--json'], { env });
      expect(verifyLatest.code).toBe(0);
      expect(verifyLatest.lines.find((l) => l.type === 'summary')).toMatchObject({ op: 'verify', job: { kind: 'verify', state: 'done', request: { snapshot: expect.stringMatching(/^[0-9a-f]{64}$/) } } });
      const verifyAll = await ebm(['verify', '--repository', 'main', '--read-data-subset', '50%', '--wait', '--json'], { env });
      expect(verifyAll.code).toBe(0);
      expect(verifyAll.lines.find((l) => l.type === 'summary')).toMatchObject({ job: { kind: 'verify', state: 'done', request: { repository: 'main', readDataSubset: '50%' } } });
      const verifyNothing = await ebm(['verify', '--json'], { env });
      expect(verifyNothing.code).not.toBe(0);
      expect(verifyNothing.lines.find((l) => l.type === 'error')).toMatchObject({ error: { code: 'E_USAGE', message: expect.stringMatching(/give a snapshot to verify, or --repository NAME/) } });
      const verifyBadSubset = await ebm(['verify', '--repository', 'main', '--read-data-subset', 'half', '--json'], { env });
      expect(verifyBadSubset.code).not.toBe(0);
      expect(verifyBadSubset.lines.find((l) => l.type === 'error')).toMatchObject({ error: { message: expect.stringMatching(/readDataSubset must be a percentage/) } });
      const jobs = await ebmOk(['jobs', '--json'], { env });
      expect(jobs.lines.filter((l) => l.type === 'result').length).toBeGreaterThanOrEqual(4);
      const metrics = await fetch(`${host.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(await metrics.text()).toMatch(/ebm_jobs\{state="done"\} \d+/);
    } finally {
      host.child.kill('SIGTERM');
    }
    expect(await host.exited).toEqual({ code: 0, signal: null });
    const logLines = fs.readFileSync(path.join(work, 'host.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logLines.some((l) => l.msg === 'job done' && typeof l.job === 'string')).toBe(true);
    expect(logLines.some((l) => l.msg === 'host stopped')).toBe(true);
  });

  it('after a SIGKILL mid-backup, a restarted host finds the repository valid, marks the job interrupted, and carries on', async () => {
    const big = path.join(work, 'docs', 'big');
    fs.mkdirSync(big, { recursive: true });
    for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(big, `r${i}.bin`), require('node:crypto').randomBytes(2 * 1024 * 1024));
    const host = await startHost(config);
    const trigger = await api<{ id: string }>(host, 'POST', '/api/v1/datasets/docs/backup', { full: true });
    await waitForJob(host, trigger.body.id, ['running']);
    await new Promise((r) => setTimeout(r, 300));
    host.child.kill('SIGKILL');
    await host.exited;

    // No `ebm unlock`: the killed host's lock stays in the repository, and everything below must cope with
    // it on its own (a lock of a dead process on this host is stale).
    const locks = fs.readdirSync(path.join(repo, 'locks'));
    expect(locks.length).toBeGreaterThanOrEqual(1);
    await ebmOk(['check', '-r', repo, '--read-data']);
    const again = await startHost(config);
    try {
      const job = await api<{ state: string; error?: { message: string } }>(again, 'GET', `/api/v1/jobs/${trigger.body.id}`);
      expect(job.body.state).toBe('failed');
      expect(job.body.error?.message).toContain('interrupted');
      const next = await api<{ id: string }>(again, 'POST', '/api/v1/datasets/docs/backup', {});
      expect(await waitForJob(again, next.body.id, ['done', 'failed'])).toMatchObject({ state: 'done' });
      // A prune through the host takes the repository's EXCLUSIVE lock: only a host that recognises the
      // dead process's lock as stale gets it (a backup's shared lock never conflicts with a shared one).
      const prune = await api<{ id: string }>(again, 'POST', '/api/v1/repositories/main/prune', {});
      expect(prune.status).toBe(202);
      expect(await waitForJob(again, prune.body.id, ['done', 'failed'])).toMatchObject({ state: 'done' });
    } finally {
      again.child.kill('SIGTERM');
    }
    expect(await again.exited).toEqual({ code: 0, signal: null });
    // And the CLI on the repository directly, with the stale lock file still there.
    expect(fs.readdirSync(path.join(repo, 'locks'))).toEqual(expect.arrayContaining(locks));
    await ebmOk(['prune', '-r', repo]);
    await ebmOk(['check', '-r', repo, '--read-data']);
    const snapshots = await ebmOk(['snapshots', '-r', repo, '--json']);
    expect(snapshots.lines.filter((l) => l.type === 'result').length).toBeGreaterThanOrEqual(1);
  });

  it('refuses an invalid configuration with every problem and its line', async () => {
    const bad = path.join(work, 'bad.yaml');
    fs.writeFileSync(bad, ['repositories: { main: { path: relative/repo, passwordEnv: EBM_PASSWORD } }', 'datasets:', '  d: { translator: filesystem, source: /x, repository: other, schedule: "0 2 * *" }', ''].join('\n'));
    const run = await ebm(['serve', '--config', bad, '--json']);
    expect(run.code).toBe(2);
    const error = run.lines.find((l) => l.type === 'error')!.error as { code: string; message: string };
    expect(error.code).toBe('E_CONFIG');
    expect(error.message).toMatch(/bad\.yaml:1:\d+: repositories\.main\.path/);
    expect(error.message).toMatch(/bad\.yaml:3:\d+: datasets\.d\.repository/);
    expect(error.message).toMatch(/bad\.yaml:3:\d+: datasets\.d\.schedule/);
  });
});
