import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { TEST_PASSWORD } from '../repository/test-repository';
import { localRepository, snapshotOf, tempDir } from './catalog.test-support';

const run = promisify(execFile);

/** The real CLI, as installed: `node core/dist/cli/main.js` (main.ts registers every command). */
const MAIN = path.resolve(__dirname, '../cli/main.js');

describe('ebm find, ebm catalog and ebm ls --catalog', () => {
  it('find and browse through the catalog, and survive a corrupt catalog file', async () => {
    const dir = tempDir();
    try {
      const repo = await localRepository(dir);
      const snap = await snapshotOf(repo, { 'docs/report.pdf': 'pdf', 'docs/a.txt': 'a', 'b.txt': 'b' }, { dataset: 'alice', time: '2025-01-01T00:00:00.000Z' });
      const env = { ...process.env, EBM_REPOSITORY: path.join(dir, 'repo'), EBM_PASSWORD: TEST_PASSWORD, XDG_CACHE_HOME: path.join(dir, 'cache') };
      const ebm = async (...args: string[]) => {
        try {
          const { stdout, stderr } = await run(process.execPath, [MAIN, ...args], { env });
          return { code: 0, stdout, stderr };
        } catch (err) {
          const e = err as { code: number; stdout: string; stderr: string };
          return { code: e.code, stdout: e.stdout, stderr: e.stderr };
        }
      };
      const json = (stdout: string) => stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.type !== 'progress');

      const found = await ebm('find', '*.pdf', '--json');
      expect(found.code).toBe(0);
      expect(json(found.stdout)).toEqual([
        expect.objectContaining({ type: 'result', op: 'find', snapshotId: snap.id, dataset: 'alice', path: 'docs/report.pdf', kind: 'file', size: 3 }),
        { type: 'summary', op: 'find', pattern: '*.pdf', matches: 1, truncated: false },
      ]);
      const file = path.join(dir, 'cache', 'ebm', `catalog-${repo.config.id}.sqlite`);
      expect(fs.existsSync(file)).toBe(true);

      const listed = await ebm('ls', '--catalog', 'latest', 'docs');
      expect(listed).toMatchObject({ code: 0, stdout: 'docs/a.txt\ndocs/report.pdf\n' });
      expect((await ebm('ls', 'latest', 'docs')).stdout).toBe(listed.stdout);

      fs.writeFileSync(file, Buffer.alloc(8192, 0x5a));
      const again = await ebm('find', 'docs/*');
      expect(again.code).toBe(0);
      expect(again.stderr).toMatch(/catalog .* was unreadable .*; moved it to .*corrupt.* and rebuilding it from the repository/);
      expect(again.stdout).toMatch(/alice +file .* docs\/a\.txt\n.*docs\/report\.pdf\n$/);

      const status = await ebm('catalog', 'status', '--json');
      expect(json(status.stdout)[0]).toMatchObject({ type: 'result', op: 'catalog-status', file, snapshotsIndexed: 1, snapshotsInRepository: 1 });
      const rebuilt = await ebm('catalog', 'rebuild', '--json');
      expect(json(rebuilt.stdout).pop()).toMatchObject({ type: 'summary', op: 'catalog-rebuild', snapshots: 1, failed: 0, entries: 4 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
