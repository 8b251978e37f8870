import * as fs from 'node:fs';
import * as path from 'node:path';
import { MAP } from '@ebm/layer-overlay/testing';
import { ebm, ebmOk, summaryOf, tempDir } from '../helpers/cli';
import type { EbmOptions, EbmRun } from '../helpers/cli';
import { layerOf } from '../helpers/layer-summary';
import type { LayerLine } from '../helpers/layer-summary';
import { buildExactMachine, deploy } from '../helpers/layer-map-machine';
import { readManifest } from '../helpers/overlay-fixtures';

/**
 * Layered backups of machines without overlay (layer-map sources), through
 * the real CLI: each mapped layer is its own layer snapshot holding exactly
 * the files the map assigns to it, an incremental of one layer reads only
 * that layer's files, a base image is stored once and each layer holds its
 * changes relative to it (deletions as whiteouts), and every endpoint
 * restores flattened equal to its machine.
 *
 * The machine (test/src/helpers/layer-map-machine.ts): a base image
 * (usr/bin/ls, usr/lib/libc.so, etc/hosts, etc/old.conf, opt/, home/,
 * var/log/boot.log) copied to a machine that then edited etc/hosts, deleted
 * etc/old.conf, chmod'ed usr/bin/ls and added opt/tool/bin/tool,
 * home/ann/notes.txt and var/log/app.log (unmatched: user-data).
 */
const layer = layerOf;

describe('layered backups of layer-map sources (ebm backup --provider overlay layer-map:…)', () => {
  let work: string;
  let repo: string;
  let machine: { root: string; base: string };
  let map: string;
  let env: EbmOptions;
  let withBase: EbmRun;
  const dir = (name: string): string => path.join(work, name);
  const backup = (root: string, dataset: string, ...extra: string[]): Promise<EbmRun> =>
    ebmOk(['backup', '-r', repo, '--provider', 'overlay', `layer-map:${root}`, '--map', map, '--dataset', dataset, '--json', ...extra], env);
  const restore = async (run: EbmRun, target: string, ...extra: string[]): Promise<string> => {
    await ebmOk(['restore', '-r', repo, summaryOf(run).snapshot as string, '--target', dir(target), ...extra], env);
    return dir(target);
  };

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('these tests need root (whiteout devices are restored with mknod); CI runs as root');
    work = tempDir('layers-map');
    repo = dir('repo');
    machine = await buildExactMachine(work);
    map = dir('map.json');
    fs.writeFileSync(map, MAP);
    env = { env: { XDG_CACHE_HOME: dir('cache') } };
    await ebmOk(['init', '-r', repo, '--encryption', 'none']);
  });
  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('stores each mapped layer as its own snapshot holding exactly its files, and restores the machine flattened', async () => {
    const run = await backup(machine.root, 'host0');
    expect((summaryOf(run).layers as LayerLine[]).map((l) => [l.id, l.action, l.dataset, l.files])).toEqual([
      ['os', 'stored', 'host0#layer:os', 3], ['apps', 'stored', 'host0#layer:apps', 1], ['user-data', 'stored', 'host0#layer:user-data', 3],
    ]);
    const os = (await ebmOk(['ls', '-r', repo, summaryOf(run).snapshot as string, '--layer', 'os', '-R'], env)).stdout.split('\n').filter((l) => l !== '');
    expect(os.sort()).toEqual(['etc/', 'etc/hosts', 'usr/', 'usr/bin/', 'usr/bin/ls', 'usr/lib/', 'usr/lib/libc.so']);
    expect(await readManifest(await restore(run, 'flat0'))).toEqual(await readManifest(machine.root));
  });

  it('an incremental of one layer (--layers user-data) reads only that layer\'s changed file', async () => {
    const first = await backup(machine.root, 'host0b');
    const notes = path.join(machine.root, 'home/ann/notes.txt');
    const hostsBefore = fs.readFileSync(path.join(machine.root, 'etc/hosts'));
    fs.writeFileSync(notes, 'notes, longer now');
    fs.writeFileSync(path.join(machine.root, 'etc/hosts'), 'hosts edited again');
    try {
      const second = await backup(machine.root, 'host0b', '--layers', 'user-data');
      expect(layer(second, 'user-data')).toMatchObject({ action: 'stored', files: 3, filesRead: 1, bytesRead: 'notes, longer now'.length });
      expect(layer(second, 'os')).toMatchObject({ action: 'previous', snapshot: layer(first, 'os').snapshot, bytesRead: 0 });
      expect(summaryOf(second)).toMatchObject({ filesRead: 1, bytesRead: 'notes, longer now'.length });
      // The restore has the new notes and the os layer as last stored (it was not selected).
      const flat = await restore(second, 'flat0b');
      expect(fs.readFileSync(path.join(flat, 'home/ann/notes.txt'), 'utf8')).toBe('notes, longer now');
      expect(fs.readFileSync(path.join(flat, 'etc/hosts'))).toEqual(hostsBefore);
    } finally {
      fs.writeFileSync(notes, 'notes');
      fs.writeFileSync(path.join(machine.root, 'etc/hosts'), hostsBefore);
    }
  });

  it('with a base: the base is stored once, each layer holds its changes, deletions restore as absent', async () => {
    const run = (withBase = await backup(machine.root, 'host1', '--base', machine.base));
    expect(layer(run, 'base')).toMatchObject({ kind: 'base', action: 'stored', files: 5 });
    // os: etc/hosts (edited), usr/bin/ls (chmod) and the whiteout of etc/old.conf; not usr/lib/libc.so (unchanged).
    expect(layer(run, 'os')).toMatchObject({ action: 'stored', files: 2, filesRead: 2 });
    const endpoint = summaryOf(run).snapshot as string;
    const os = (await ebmOk(['ls', '-r', repo, endpoint, '--layer', 'os', '-R'], env)).stdout.split('\n').filter((l) => l !== '');
    expect(os.sort()).toEqual(['etc/', 'etc/hosts', 'etc/old.conf', 'usr/', 'usr/bin/', 'usr/bin/ls']);
    const oneLayer = await restore(run, 'os1', '--layer', 'os');
    const whiteout = fs.lstatSync(path.join(oneLayer, 'etc/old.conf'));
    expect(whiteout.isCharacterDevice() && whiteout.rdev === 0).toBe(true);
    expect(layer(run, 'user-data')).toMatchObject({ files: 2 }); // home/ann/notes.txt, var/log/app.log (boot.log is the base's)

    const flat = await restore(run, 'flat1');
    expect(fs.existsSync(path.join(flat, 'etc/old.conf'))).toBe(false);
    expect(await readManifest(flat)).toEqual(await readManifest(machine.root));
  });

  it('a second machine on the same base reads nothing of the base, and its own deletions restore as absent', async () => {
    const second = dir('machine2');
    deploy(machine.base, second);
    fs.rmSync(path.join(second, 'usr/lib/libc.so'));
    fs.rmSync(path.join(second, 'var'), { recursive: true });
    fs.mkdirSync(path.join(second, 'home/bo'));
    fs.writeFileSync(path.join(second, 'home/bo/todo'), 'todo');
    const run = await backup(second, 'host2', '--base', machine.base);
    expect(layer(run, 'base')).toMatchObject({ action: 'referenced', snapshot: layer(withBase, 'base').snapshot, filesRead: 0, bytesRead: 0, bytesAdded: 0 });
    expect(layer(run, 'os')).toMatchObject({ files: 0, filesRead: 0 }); // only the whiteout of usr/lib/libc.so
    expect(layer(run, 'user-data')).toMatchObject({ files: 1, filesRead: 1, bytesRead: 4 });
    const flat = await restore(run, 'flat2');
    expect(fs.existsSync(path.join(flat, 'usr/lib/libc.so'))).toBe(false);
    expect(fs.existsSync(path.join(flat, 'var'))).toBe(false);
    expect(await readManifest(flat)).toEqual(await readManifest(second));

    // Again, unchanged: each layer is an incremental on its last snapshot, nothing is read, the whiteouts stay.
    const again = await backup(second, 'host2', '--base', machine.base);
    expect(layer(again, 'user-data')).toMatchObject({ action: 'stored', parent: layer(run, 'user-data').snapshot });
    expect(summaryOf(again)).toMatchObject({ filesRead: 0, bytesRead: 0 });
    expect(await readManifest(await restore(again, 'flat2b'))).toEqual(await readManifest(second));
  });

  it('refuses a layer-map source without a map, naming the option', async () => {
    const run = await ebm(['backup', '-r', repo, '--provider', 'overlay', `layer-map:${machine.root}`, '--dataset', 'x'], env);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/"map" option/);
  });
});
