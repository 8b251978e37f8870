import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { defineTranslator, RestoreContext } from '@ebm/sdk';
import { backupOk, removeAll, tempDir, testRepository } from '../testing/harness';
import { restoreFilesystem } from './restore';
import translator from '../index';

/**
 * The restore makes every directory before it creates any file (see
 * restoreFilesystem: ext4 without a journal creates files far faster that
 * way after a large deletion). Observed from the outside: whenever the
 * restore asks for a file's content, which it does right before creating
 * that file, every directory of the snapshot already exists in the target.
 */
describe('restore makes the directory skeleton first', () => {
  const dirs = ['a', 'a/b', 'a/b/c', 'd', 'd/e', 'f'];
  const files = ['top.txt', 'a/1.txt', 'a/b/2.txt', 'a/b/c/3.txt', 'd/4.txt', 'd/e/5.txt', 'f/6.txt'];
  let work: string;
  afterEach(() => removeAll(work));

  /** Backs up a small tree, restores it with `adapt` applied to the context, and reports which directories were missing as each file was asked for. */
  async function restoreObserved(adapt: (ctx: RestoreContext) => RestoreContext): Promise<{ target: string; missingAtEachFile: string[][] }> {
    work = await tempDir('skeleton');
    const source = path.join(work, 'source');
    for (const dir of dirs) await fsp.mkdir(path.join(source, dir), { recursive: true });
    for (const file of files) await fsp.writeFile(path.join(source, file), `content of ${file}`);
    const repo = testRepository();
    const backup = await backupOk(repo, { source });
    const target = path.join(work, 'target');
    await fsp.mkdir(target);

    const missingAtEachFile: string[][] = [];
    const observing = defineTranslator({
      backup: translator.backup,
      restore: (ctx: RestoreContext) =>
        restoreFilesystem({
          ...adapt(ctx),
          readContent: (entry, options) => {
            missingAtEachFile.push(dirs.filter((dir) => !existsSync(path.join(target, dir))));
            return ctx.readContent(entry, options);
          },
        }),
    });
    const outcome = await repo.restore(observing, { tree: backup.tree, target });
    expect(outcome.result).toMatchObject({ ok: true, result: { files: files.length, dirs: dirs.length } });
    expect(missingAtEachFile).toHaveLength(files.length);
    for (const file of files) expect(await fsp.readFile(path.join(target, file), 'utf8')).toBe(`content of ${file}`);
    return { target, missingAtEachFile };
  }

  it('every directory exists before the first file is written, and the tree still restores byte for byte', async () => {
    const { missingAtEachFile } = await restoreObserved((ctx) => ctx);
    expect(missingAtEachFile.every((missing) => missing.length === 0)).toBe(true);
  });

  it('on a host without directories() (older than the method), makes each directory as the walk reaches it and restores the same tree', async () => {
    const { missingAtEachFile } = await restoreObserved((ctx) => ({ ...ctx, directories: undefined }));
    expect(missingAtEachFile[0]!.length).toBeGreaterThan(0);
  });
});
