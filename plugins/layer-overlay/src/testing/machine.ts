import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { writeTree } from './overlay-mount';

/** The layer map of the tests: /usr and /etc are the OS, /opt the applications, /home user data. */
export const MAP = JSON.stringify({
  layers: [
    { id: 'os', kind: 'os', patterns: ['/usr/**', '/etc/**'] },
    { id: 'apps', kind: 'apps', patterns: ['/opt/**'] },
    { id: 'user-data', kind: 'user-data', patterns: ['/home/**'] },
  ],
});

/**
 * A machine without overlay and the base image it was deployed from: since
 * deployment an OS file changed, one was deleted, an application was added
 * and users wrote files; `var/` matches no pattern (it goes to user-data).
 */
export async function buildMachine(dir: string, base = path.join(dir, 'base')): Promise<{ root: string; base: string }> {
  await fsp.rm(base, { recursive: true, force: true });
  const root = path.join(dir, 'machine');
  const image = { 'usr/bin/ls': 'ls', 'usr/lib/libc.so': 'libc', 'etc/hosts': 'hosts', 'etc/old.conf': 'old', 'opt': null, 'home': null, 'var/log/boot.log': 'boot' };
  await writeTree(base, image);
  // `cp -a`, as a real deployment: nanosecond mtimes kept (Node's fs.cp keeps them only roughly).
  execFileSync('cp', ['-a', base, root]);
  await fsp.writeFile(path.join(root, 'etc', 'hosts'), 'hosts edited');
  await fsp.rm(path.join(root, 'etc', 'old.conf'));
  await fsp.chmod(path.join(root, 'usr', 'bin', 'ls'), 0o700);
  await writeTree(root, { 'opt/tool/bin/tool': 'tool', 'home/ann/notes.txt': 'notes', 'var/log/app.log': 'app log' });
  return { root, base };
}
