import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { removeAttributeSync, setAttributeSync } from '@napi-rs/xattr';

/**
 * A fresh temporary directory on a filesystem that supports user.* xattrs:
 * os.tmpdir() first, then /dev/shm (tmpfs supports them on Linux ≥ 6.6),
 * then /var/tmp. Throws a clear error if none does, so the test fails
 * loudly rather than silently skipping the xattr assertions.
 */
export async function makeXattrCapableTempDir(prefix: string): Promise<string> {
  const candidates = [os.tmpdir(), '/dev/shm', '/var/tmp'];
  const tried: string[] = [];
  for (const base of candidates) {
    let dir: string;
    try {
      dir = await fsp.mkdtemp(path.join(base, prefix));
    } catch (err) {
      tried.push(`${base}: ${(err as Error).message}`);
      continue;
    }
    const probe = path.join(dir, '.xattr-probe');
    try {
      await fsp.writeFile(probe, '');
      setAttributeSync(probe, 'user.ebm-probe', 'x');
      removeAttributeSync(probe, 'user.ebm-probe');
      await fsp.rm(probe);
      return dir;
    } catch (err) {
      tried.push(`${base}: ${(err as Error).message}`);
      await fsp.rm(dir, { recursive: true, force: true });
    }
  }
  throw new Error(`no temporary directory supports user.* extended attributes (tried ${tried.join('; ')}); mount a tmpfs or ext4 with xattr support for the tests`);
}
