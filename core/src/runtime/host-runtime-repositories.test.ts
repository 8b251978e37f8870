import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseHostConfig } from '../config/load-config';
import { LocalBackend } from '../backend/local-backend';
import { Repository } from '../repository/repository';
import { listSnapshots } from '../snapshots/snapshot-store';
import { Logger } from '../logging/logger';
import { HostRuntime } from './host-runtime';
import type { JobRecord } from '../jobs/job-types';

/**
 * Per-repository encryption and per-dataset compression through the whole
 * host: configuration → controller → queue → real filesystem translator in a
 * worker → packs on disk.
 */
describe('HostRuntime: encryption per repository, compression per dataset', () => {
  let work: string;
  let source: string;
  const marker = 'unencrypted-host-marker-5b1e '.repeat(200);

  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'ebm-runtime-repos-'));
    source = path.join(work, 'source');
    fs.mkdirSync(source);
    fs.writeFileSync(path.join(source, 'notes.txt'), marker);
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  function runtimeFor(lines: string[], stateDir = path.join(work, 'state-' + Math.random().toString(36).slice(2)), logs: string[] = []): HostRuntime {
    const config = parseHostConfig([...lines, `state: { dir: ${stateDir} }`, ''].join('\n'), path.join(work, 'ebm.config.yaml'));
    return HostRuntime.create(config, { logger: new Logger({ write: (l) => logs.push(l) }, 'info') });
  }

  async function waitDone(runtime: HostRuntime, id: string): Promise<JobRecord> {
    for (const until = Date.now() + 30000; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
      const job = await runtime.getJob(id);
      if (job && ['done', 'failed', 'cancelled'].includes(job.state)) return job;
    }
    throw new Error(`job ${id} did not finish`);
  }

  function packsContain(repoDir: string, text: string): boolean {
    const dataDir = path.join(repoDir, 'data');
    return fs.readdirSync(dataDir).some((d) => fs.readdirSync(path.join(dataDir, d)).some((f) => fs.readFileSync(path.join(dataDir, d, f)).includes(text)));
  }

  it('backs up into an unencrypted repository with no password configured, at the dataset\'s compression level', async () => {
    const repoDir = path.join(work, 'plain');
    await Repository.init(new LocalBackend(repoDir), undefined, { encryption: 'none' });
    const lines = [
      `repositories: { plain: { path: ${repoDir}, encryption: none } }`,
      `datasets: { notes: { source: ${source}, repository: plain, compressionLevel: 0 } }`,
    ];
    const stateDir = path.join(work, 'state-plain');
    const runtime = runtimeFor(lines, stateDir);
    await runtime.start();
    try {
      const job = await waitDone(runtime, (await runtime.triggerBackup('notes', {}))!.id);
      expect(job).toMatchObject({ state: 'done' });
      const { snapshots } = await listSnapshots(await runtime.repositories.open('plain'));
      expect(snapshots).toHaveLength(1);
      // Level 0 stores the (very compressible) file as is, and without encryption it is readable in the pack.
      expect(snapshots[0]!.summary.bytesAdded).toBeGreaterThan(marker.length);
      expect(packsContain(repoDir, marker.slice(0, 200))).toBe(true);
    } finally {
      await runtime.stop(5000);
    }
    // What the queue learned about the translator's memory survives a restart.
    const saved = JSON.parse(fs.readFileSync(path.join(stateDir, 'costs.json'), 'utf8')) as { v: number; learned: Record<string, { samples: number; ewmaMiB: number }> };
    expect(saved.v).toBe(1);
    expect(saved.learned['filesystem\u0000notes']).toMatchObject({ samples: 1, ewmaMiB: expect.any(Number) });
    const logs: string[] = [];
    const again = runtimeFor(lines, stateDir, logs);
    await again.start();
    await again.stop(1000);
    expect(logs.some((l) => l.includes('learned translator costs loaded') && l.includes('"entries":1'))).toBe(true);
  });

  it('refuses to start when a repository is not what the configuration says (no plaintext by mistake)', async () => {
    const repoDir = path.join(work, 'secret');
    await Repository.init(new LocalBackend(repoDir), undefined, { encryption: 'none' });
    process.env.EBM_TEST_RR_PASSWORD = 'pw';
    const runtime = runtimeFor([
      `repositories: { secret: { path: ${repoDir}, passwordEnv: EBM_TEST_RR_PASSWORD } }`,
      `datasets: { notes: { source: ${source}, repository: secret } }`,
    ]);
    try {
      await expect(runtime.start()).rejects.toMatchObject({
        code: 'E_CONFIG',
        message: expect.stringContaining('has encryption "none" but the configuration says "aes-256-gcm"'),
      });
    } finally {
      delete process.env.EBM_TEST_RR_PASSWORD;
      await runtime.stop(1000).catch(() => undefined);
    }
    expect(fs.readdirSync(path.join(repoDir, 'snapshots'))).toEqual([]);
  });
});
