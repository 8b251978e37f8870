import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { decodeTree } from '@ebm/sdk';
import { backupOk, removeAll, restoreOk, tempDir, testRepository } from './testing/harness';
import { requireRoot } from './testing/run-as-root';

describe('sockets and mount points', () => {
  let work: string;
  beforeEach(async () => {
    work = await tempDir('special');
  });
  afterEach(() => removeAll(work));

  it('records a socket, and restore skips it with a warning', async () => {
    const source = path.join(work, 'src');
    await fsp.mkdir(source);
    await fsp.writeFile(path.join(source, 'file'), 'f');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(path.join(source, 'app.sock'), resolve));
    try {
      const repo = testRepository();
      const backup = await backupOk(repo, { source });
      expect(decodeTree(repo.get(backup.tree)!).entries.map((e) => [e.name, e.kind])).toEqual([
        ['app.sock', 'socket'],
        ['file', 'file'],
      ]);
      const target = path.join(work, 'restored');
      const restore = await restoreOk(repo, { tree: backup.tree, target });
      expect(restore.warnings).toEqual([expect.objectContaining({ path: 'app.sock', code: 'E_INVALID_SOURCE' })]);
      expect(await fsp.readdir(target)).toEqual(['file']);
    } finally {
      server.close();
    }
  });

  it('with one-file-system, records a mount point as an empty directory and does not descend', async () => {
    requireRoot('mount a tmpfs');
    const source = path.join(work, 'src');
    const mountPoint = path.join(source, 'mnt');
    await fsp.mkdir(mountPoint, { recursive: true });
    await fsp.writeFile(path.join(source, 'local'), 'l');
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint], { stdio: 'pipe' });
    } catch (err) {
      throw new Error(`this test mounts a tmpfs (needs root with CAP_SYS_ADMIN): ${(err as Error).message}`);
    }
    try {
      await fsp.writeFile(path.join(mountPoint, 'elsewhere'), 'e');
      const repo = testRepository();
      const crossing = await backupOk(repo, { source });
      const confined = await backupOk(repo, { source, options: { 'one-file-system': true } });
      const mnt = (tree: string): string[] => {
        const entry = decodeTree(repo.get(tree)!).entries.find((e) => e.name === 'mnt')!;
        expect(entry.kind).toBe('dir');
        return decodeTree(repo.get(entry.subtree!)!).entries.map((e) => e.name);
      };
      expect(mnt(crossing.tree)).toEqual(['elsewhere']);
      expect(mnt(confined.tree)).toEqual([]);
      expect(decodeTree(repo.get(confined.tree)!).entries.map((e) => e.name)).toEqual(['local', 'mnt']);
    } finally {
      execFileSync('umount', [mountPoint]);
    }
  });
});
