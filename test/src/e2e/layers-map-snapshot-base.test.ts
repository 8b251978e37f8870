import * as fs from 'node:fs';
import * as path from 'node:path';
import { MAP } from '@ebm/layer-overlay/testing';
import { ebm, ebmOk, summaryOf, tempDir } from '../helpers/cli';
import type { EbmOptions, EbmRun } from '../helpers/cli';
import { layerOf } from '../helpers/layer-summary';
import { buildExactMachine } from '../helpers/layer-map-machine';
import { api, startHost, stopHost, waitForJob, writeHostConfig } from '../helpers/host';
import { readManifest } from '../helpers/overlay-fixtures';

/**
 * A layer map whose base image is an earlier snapshot (`--base-snapshot`),
 * through the real CLI: the golden image is backed up once as an ordinary
 * filesystem snapshot, machines are deployed from it with `ebm restore`
 * (which keeps times to the microsecond) and then changed; each machine's
 * layered backup references that snapshot as its base layer, reads only
 * what changed since, and restores flattened equal to the machine. The
 * snapshot cannot be forgotten while an endpoint names it.
 */
const layer = layerOf;

describe('layer-map base image given as an earlier snapshot (--base-snapshot)', () => {
  let work: string;
  let repo: string;
  let golden: string;
  let env: EbmOptions;
  let map: string;
  let base: string;
  const dir = (name: string): string => path.join(work, name);

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('these tests need root (whiteouts are restored with mknod, owners kept); CI runs as root');
    work = tempDir('layers-map-snapshot');
    repo = dir('repo');
    base = (await buildExactMachine(work)).base;
    map = dir('map.json');
    fs.writeFileSync(map, MAP);
    env = { env: { XDG_CACHE_HOME: dir('cache') } };
    await ebmOk(['init', '-r', repo, '--encryption', 'none']);
    golden = summaryOf(await ebmOk(['backup', '-r', repo, base, '--dataset', 'golden', '--json'], env)).snapshot as string;
  });
  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  /** A machine deployed from the golden snapshot, then changed: an OS file edited and one deleted, a user file added. */
  const deployAndChange = async (name: string): Promise<string> => {
    const root = dir(name);
    await ebmOk(['restore', '-r', repo, golden, '--target', root], env);
    fs.writeFileSync(path.join(root, 'etc/hosts'), `hosts of ${name}`);
    fs.rmSync(path.join(root, 'etc/old.conf'));
    fs.mkdirSync(path.join(root, 'home', name), { recursive: true });
    fs.writeFileSync(path.join(root, 'home', name, 'notes'), `${name} notes`);
    return root;
  };
  const backup = (root: string, dataset: string, ...extra: string[]): Promise<EbmRun> =>
    ebmOk(['backup', '-r', repo, '--provider', 'overlay', `layer-map:${root}`, '--map', map, '--dataset', dataset, '--json', ...extra], env);

  it('references the snapshot as the base, reads only what changed since it, and restores the machine flattened', async () => {
    const root = await deployAndChange('m1');
    const run = await backup(root, 'm1', '--base-snapshot', 'latest:golden');
    expect(layer(run, 'base')).toMatchObject({ kind: 'base', action: 'referenced', snapshot: golden, dataset: 'golden', filesRead: 0, bytesRead: 0, bytesAdded: 0 });
    // os: etc/hosts (edited) and the whiteout of etc/old.conf; usr/* and everything else of the golden image unread.
    expect(layer(run, 'os')).toMatchObject({ action: 'stored', filesRead: 1, bytesRead: 'hosts of m1'.length });
    expect(layer(run, 'user-data')).toMatchObject({ action: 'stored', filesRead: 1, bytesRead: 'm1 notes'.length });
    expect(summaryOf(run)).toMatchObject({ filesRead: 2, bytesRead: 'hosts of m1'.length + 'm1 notes'.length });

    const flat = dir('flat-m1');
    await ebmOk(['restore', '-r', repo, summaryOf(run).snapshot as string, '--target', flat], env);
    expect(fs.existsSync(path.join(flat, 'etc/old.conf'))).toBe(false);
    expect(await readManifest(flat)).toEqual(await readManifest(root));

    // A second machine from the same image: the same snapshot is its base, again nothing of it is read.
    const root2 = await deployAndChange('m2');
    const run2 = await backup(root2, 'm2', '--base-snapshot', golden.slice(0, 12));
    expect(layer(run2, 'base')).toMatchObject({ action: 'referenced', snapshot: golden });
    expect(summaryOf(run2)).toMatchObject({ filesRead: 2 });
    const flat2 = dir('flat-m2');
    await ebmOk(['restore', '-r', repo, summaryOf(run2).snapshot as string, '--target', flat2], env);
    expect(await readManifest(flat2)).toEqual(await readManifest(root2));

    // The golden snapshot is now a layer of both endpoints: forget refuses it, naming them.
    const forget = await ebm(['forget', '-r', repo, golden], env);
    expect(forget.code).not.toBe(0);
    expect(forget.stderr).toMatch(/E_SNAPSHOT_IN_USE/);
    expect((await ebmOk(['check', '-r', repo, '--read-data'], env)).code).toBe(0);
  });

  it('a file touched since the image (same bytes, new mtime) is read again; the rest is still the snapshot\'s', async () => {
    const root = await deployAndChange('m3');
    const now = new Date();
    fs.utimesSync(path.join(root, 'usr/lib/libc.so'), now, now);
    const run = await backup(root, 'm3', '--base-snapshot', 'latest:golden');
    expect(layer(run, 'os')).toMatchObject({ filesRead: 2 }); // etc/hosts and the touched usr/lib/libc.so
    const flat = dir('flat-m3');
    await ebmOk(['restore', '-r', repo, summaryOf(run).snapshot as string, '--target', flat], env);
    expect(await readManifest(flat)).toEqual(await readManifest(root));
  });

  it('refuses what cannot be a base: an unknown snapshot, a non-filesystem snapshot, a source that is no layer map, and two bases at once', async () => {
    const root = await deployAndChange('m4');
    const unknown = await ebm(['backup', '-r', repo, '--provider', 'overlay', `layer-map:${root}`, '--map', map, '--dataset', 'm4', '--base-snapshot', 'latest:nosuch'], env);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/E_SNAPSHOT_NOT_FOUND/);

    fs.writeFileSync(dir('dump.sql'), 'a database dump');
    const stream = await ebmOk(['backup', '-r', repo, '--translator', 'stream', dir('dump.sql'), '--dataset', 'dump', '--json'], env);
    const notFs = await ebm(['backup', '-r', repo, '--provider', 'overlay', `layer-map:${root}`, '--map', map, '--dataset', 'm4', '--base-snapshot', summaryOf(stream).snapshot as string], env);
    expect(notFs.code).not.toBe(0);
    expect(notFs.stderr).toMatch(/not a filesystem snapshot/);

    const twoBases = await ebm(['backup', '-r', repo, '--provider', 'overlay', `layer-map:${root}`, '--map', map, '--base', base, '--dataset', 'm4', '--base-snapshot', golden], env);
    expect(twoBases.code).not.toBe(0);
    expect(twoBases.stderr).toMatch(/one base/);

    fs.mkdirSync(dir('lower'));
    fs.mkdirSync(dir('upper'));
    const overlay = await ebm(['backup', '-r', repo, '--provider', 'overlay', '--lower', dir('lower'), '--upper', dir('upper'), '--dataset', 'ov', '--base-snapshot', golden], env);
    expect(overlay.code).not.toBe(0);
    expect(overlay.stderr).toMatch(/applies to layer-map sources/);

    const noProvider = await ebm(['backup', '-r', repo, root, '--base-snapshot', golden], env);
    expect(noProvider.code).not.toBe(0);
    expect(noProvider.stderr).toMatch(/--base-snapshot need --provider/);
  });

  it('in ebm serve: a layered dataset with baseSnapshot references the snapshot, and restores equal to the machine', async () => {
    const root = await deployAndChange('m5');
    const config = writeHostConfig(work, [
      `repositories: { main: { path: ${repo}, encryption: none } }`,
      'datasets:',
      `  desk5: { provider: overlay, source: "layer-map:${root}", options: { map: ${JSON.stringify(map)} }, baseSnapshot: "latest:golden", repository: main }`,
    ]);
    const host = await startHost(config, { XDG_CACHE_HOME: dir('cache') });
    try {
      const { status, body } = await api<{ id: string }>(host, 'POST', '/api/v1/datasets/desk5/backup', {});
      expect(status).toBe(202);
      const job = await waitForJob(host, body.id, ['done', 'failed', 'cancelled']);
      expect(job.state).toBe('done');
      const result = job.result as unknown as { snapshotId: string; bytesRead: number; layers: Array<{ id: string; action: string; snapshot: string | null }> };
      expect(result.layers.find((l) => l.id === 'base')).toMatchObject({ action: 'referenced', snapshot: golden });
      expect(result.bytesRead).toBe('hosts of m5'.length + 'm5 notes'.length);
      const flat = dir('flat-m5');
      await ebmOk(['restore', '-r', repo, result.snapshotId, '--target', flat], env);
      expect(await readManifest(flat)).toEqual(await readManifest(root));
    } finally {
      await stopHost(host);
    }
  });
});
