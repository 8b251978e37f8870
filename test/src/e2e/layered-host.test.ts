import * as fs from 'node:fs';
import * as path from 'node:path';
import { ebmOk, tempDir } from '../helpers/cli';
import { api, Host, startHost, stopHost, waitForJob, writeHostConfig } from '../helpers/host';
import { buildBase, changeThroughMount, mountOverlay, readManifest, unmount } from '../helpers/overlay-fixtures';

interface LayerResult { id: string; kind: string; action: string; snapshot: string | null; parent?: string; bytesRead: number; filesRead: number; dataset: string }
interface BackupResult { snapshotId: string; endpoint: string; layers: LayerResult[] }
interface Snap { id: string; dataset: string; tags: string[] }

/**
 * Layered endpoints in the host process (`ebm serve`), on a real overlayfs
 * mount (as root): one endpoint, two datasets — `web1-os` backs up the base
 * layer, `web1-data` the writable upper with its own retention (keepLast 2).
 * Each backup reads only its own layers and references the other's latest
 * snapshot; retention removes old endpoint snapshots of web1-data and the
 * upper snapshots they alone named, never the base; restores through the API
 * give the merged view (flattened), one layer as stored, or one directory
 * per layer; the API browses endpoint → layer → files.
 */
describe('layered datasets in ebm serve', () => {
  let work: string;
  let repo: string;
  let host: Host | undefined;
  let merged: string | undefined;
  const dir = (name: string): string => path.join(work, name);
  const results: Record<string, BackupResult[]> = { 'web1-os': [], 'web1-data': [] };

  const backup = async (dataset: string): Promise<BackupResult> => {
    const { status, body } = await api<{ id: string }>(host!, 'POST', `/api/v1/datasets/${dataset}/backup`, {});
    expect(status).toBe(202);
    const job = await waitForJob(host!, body.id, ['done', 'failed', 'cancelled']);
    if (job.state !== 'done') throw new Error(`backup of ${dataset} ended ${job.state}: ${JSON.stringify(job.error)}`);
    const result = job.result as unknown as BackupResult;
    results[dataset]!.push(result);
    return result;
  };
  const layerOf = (r: BackupResult, id: string): LayerResult => r.layers.find((l) => l.id === id)!;
  const snapshots = async (): Promise<Snap[]> =>
    (await ebmOk(['snapshots', '-r', repo, '--json'])).lines.filter((l) => l.op === 'snapshots').map((l) => l.snapshot as Snap);
  const settle = async (dataset: string): Promise<void> => {
    for (const kind of ['forget']) {
      const { body } = await api<{ jobs: Array<{ id: string }> }>(host!, 'GET', `/api/v1/jobs?kind=${kind}&dataset=${dataset}`);
      for (const j of body.jobs) expect((await waitForJob(host!, j.id, ['done', 'failed'])).state).toBe('done');
    }
  };

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('these tests need root (overlay mounts, whiteouts, trusted.* xattrs); CI runs as root');
    work = tempDir('layered-host');
    repo = dir('repo');
    for (const d of ['base', 'upper', 'merged', 'merged.work']) fs.mkdirSync(dir(d));
    await buildBase(dir('base'));
    mountOverlay(dir('merged'), [dir('base')], dir('upper'), dir('merged.work'));
    merged = dir('merged');
    await changeThroughMount(merged, 'web1', 50_000);
    await ebmOk(['init', '-r', repo]);
    const source = `overlayfs:lowerdir=${dir('base')},upperdir=${dir('upper')}`;
    const config = writeHostConfig(work, [
      `repositories: { main: { path: ${repo}, passwordEnv: EBM_PASSWORD } }`,
      'datasets:',
      `  web1-os: { provider: overlay, source: "${source}", endpoint: web1, layers: [base], repository: main, schedule: "@weekly" }`,
      `  web1-data: { provider: overlay, source: "${source}", endpoint: web1, layers: [upper], repository: main, schedule: "@hourly", retention: { keepLast: 2 } }`,
    ]);
    host = await startHost(config);
  });

  afterAll(async () => {
    if (host) await stopHost(host);
    if (merged) unmount(merged);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('each dataset reads only its own layers and references the latest snapshot of the others', async () => {
    const os1 = await backup('web1-os');
    expect(os1.endpoint).toBe('web1');
    expect(layerOf(os1, 'lower-0')).toMatchObject({ action: 'stored', kind: 'base' });
    expect(layerOf(os1, 'lower-0').bytesRead).toBeGreaterThanOrEqual(2 * 1024 * 1024);
    expect(layerOf(os1, 'upper')).toMatchObject({ action: 'missing', snapshot: null });

    const data1 = await backup('web1-data');
    expect(layerOf(data1, 'lower-0')).toMatchObject({ action: 'previous', snapshot: layerOf(os1, 'lower-0').snapshot, bytesRead: 0 });
    expect(layerOf(data1, 'upper')).toMatchObject({ action: 'stored', dataset: 'web1#layer:upper' });

    // An incremental of the upper layer reads only what changed there (nothing of the 2 MiB base).
    fs.writeFileSync(path.join(merged!, 'etc', 'later.conf'), 'written between backups\n');
    const data2 = await backup('web1-data');
    expect(layerOf(data2, 'upper')).toMatchObject({ action: 'stored', parent: layerOf(data1, 'upper').snapshot, filesRead: 1, bytesRead: 'written between backups\n'.length });
    expect(layerOf(data2, 'lower-0')).toMatchObject({ action: 'previous', bytesRead: 0 });

    // The verification lane re-read the stored layers (the endpoint snapshot itself has an empty tree).
    const { body } = await api<{ jobs: Array<{ state: string; result: { packsRead?: number } }> }>(host!, 'GET', '/api/v1/jobs?kind=backup&dataset=web1-data');
    expect(body.jobs.every((j) => j.state === 'done')).toBe(true);
  });

  it("retention of web1-data removes its old endpoint snapshots and the upper snapshots only they named, never the base", async () => {
    fs.writeFileSync(path.join(merged!, 'etc', 'third.conf'), 'third\n');
    await backup('web1-data');
    await settle('web1-data');
    const all = await snapshots();
    const endpoints = all.filter((s) => s.dataset === 'web1').map((s) => s.id);
    const dataRuns = results['web1-data']!;
    // web1-os's endpoint snapshot is not web1-data's to forget; of web1-data's three, the last two stay.
    expect(endpoints.sort()).toEqual([results['web1-os']![0]!.snapshotId, dataRuns[1]!.snapshotId, dataRuns[2]!.snapshotId].sort());
    const uppers = all.filter((s) => s.dataset === 'web1#layer:upper').map((s) => s.id);
    expect(uppers.sort()).toEqual([layerOf(dataRuns[1]!, 'upper').snapshot, layerOf(dataRuns[2]!, 'upper').snapshot].sort());
    expect(all.filter((s) => s.tags.includes('base'))).toHaveLength(1);
    await ebmOk(['check', '-r', repo]);
  });

  const restore = async (body: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const { status, body: job } = await api<{ id: string }>(host!, 'POST', '/api/v1/restores', body);
    expect(status).toBe(202);
    const done = await waitForJob(host!, job.id, ['done', 'failed', 'cancelled']);
    if (done.state !== 'done') throw new Error(`restore ended ${done.state}: ${JSON.stringify(done.error)}`);
    return done.result!;
  };

  it('restore jobs of an endpoint snapshot: flattened equal to the merged mount, one layer as stored, or one directory per layer', async () => {
    const latest = results['web1-data']![2]!.snapshotId;
    const flat = await restore({ snapshot: latest, target: dir('flat') });
    expect(flat).toMatchObject({ snapshotId: latest, mode: 'flatten' });
    const want = await readManifest(merged!, true);
    expect(want['etc/hosts']).toBeUndefined(); // a whiteout in the upper layer
    expect(await readManifest(dir('flat'), true)).toEqual(want);

    const upper = await restore({ snapshot: latest.slice(0, 12), target: dir('upper-only'), layer: 'upper' });
    expect(upper).toMatchObject({ mode: 'layer' });
    expect(fs.lstatSync(path.join(dir('upper-only'), 'etc', 'hosts')).isCharacterDevice()).toBe(true);
    expect(fs.readFileSync(path.join(dir('upper-only'), 'etc', 'third.conf'), 'utf8')).toBe('third\n');
    expect(fs.existsSync(path.join(dir('upper-only'), 'usr', 'bin', 'tool'))).toBe(false); // the base's files are not in the upper layer

    const native = await restore({ snapshot: latest, target: dir('native'), native: true });
    expect(native.mode).toBe('native');
    expect(String(native.mountOptions)).toMatch(/^lowerdir=.*0-lower-0,upperdir=.*1-upper$/);
    expect(fs.readdirSync(dir('native')).sort()).toEqual(['0-lower-0', '1-upper']);

    // layer and native exclude each other.
    const bad = await api<{ error: { code: string; message: string } }>(host!, 'POST', '/api/v1/restores', { snapshot: latest, target: dir('x'), layer: 'upper', native: true });
    expect(bad.status).toBe(400);
  });

  it('the API browses endpoint → layer → files', async () => {
    const latest = results['web1-data']![2]!.snapshotId;
    const { status, body } = await api<{ dataset: string; provider: string; layout: string; layers: Array<{ id: string; kind: string; action: string; snapshot: string | null; dataset?: string; files?: number }> }>(host!, 'GET', `/api/v1/snapshots/${latest}/layers`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ dataset: 'web1', provider: 'overlay', layout: 'overlayfs' });
    expect(body.layers.map((l) => [l.id, l.kind, l.action])).toEqual([['lower-0', 'base', 'previous'], ['upper', 'upper', 'stored']]);
    expect(body.layers[1]).toMatchObject({ dataset: 'web1#layer:upper', snapshot: layerOf(results['web1-data']![2]!, 'upper').snapshot });

    const byLatest = await api<{ snapshot: string }>(host!, 'GET', '/api/v1/snapshots/latest/layers?dataset=web1');
    expect(byLatest.body.snapshot).toBe(latest);

    const etc = await api<{ snapshot: string; endpoint: string; layer: string; entries: Array<{ name: string; kind: string }> }>(host!, 'GET', `/api/v1/snapshots/${latest}/tree?layer=upper&path=etc`);
    expect(etc.status).toBe(200);
    expect(etc.body).toMatchObject({ endpoint: latest, layer: 'upper', snapshot: body.layers[1]!.snapshot });
    expect(etc.body.entries.map((e) => [e.name, e.kind])).toEqual(expect.arrayContaining([['hosts', 'chardev'], ['third.conf', 'file'], ['later.conf', 'file']]));
    const base = await api<{ entries: Array<{ name: string }> }>(host!, 'GET', `/api/v1/snapshots/${latest}/tree?layer=lower-0&path=usr/bin`);
    expect(base.body.entries.map((e) => e.name)).toEqual(['tool']);

    const unknown = await api<{ error: { code: string; message: string } }>(host!, 'GET', `/api/v1/snapshots/${latest}/tree?layer=nope`);
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toMatch(/no such layer \(layers: lower-0 \(base\), upper \(upper\)\)/);
    const { body: layerSnap } = await api<{ layers: Array<{ snapshot: string }> }>(host!, 'GET', `/api/v1/snapshots/${latest}/layers`);
    const ordinary = await api<{ error: { code: string } }>(host!, 'GET', `/api/v1/snapshots/${layerSnap.layers[1]!.snapshot}/layers`);
    expect(ordinary.status).toBe(400);
  });
});
