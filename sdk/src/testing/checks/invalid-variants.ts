import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { CaseDirs } from '../case-dirs';
import type { ExpectedSource } from '../file-equality';
import { regularFiles } from '../file-listing';

/**
 * Invalid inputs the harness derives from any fixture. Only a missing source
 * must fail; the others may still be valid for some formats (a truncated
 * file is still a file to a filesystem translator), so they must either
 * succeed or fail with a typed error — never hang, crash or throw untyped.
 */
export interface DerivedInvalidInput {
  readonly name: string;
  readonly mustFail: boolean;
  /** Damages the built source (or makes a new one) and returns the source to back up. */
  make(built: ExpectedSource, dirs: CaseDirs): Promise<string>;
}

export const DERIVED_INVALID_INPUTS: readonly DerivedInvalidInput[] = Object.freeze([
  { name: 'missing source', mustFail: true, make: async (_built: ExpectedSource, dirs: CaseDirs) => dirs.missing('source') },
  {
    name: 'truncated files',
    mustFail: false,
    make: (built: ExpectedSource) => eachFile(built, async (file, size) => fsp.truncate(file, Math.floor(size / 2))),
  },
  {
    name: 'corrupted files',
    mustFail: false,
    make: (built: ExpectedSource) => eachFile(built, async (file, size) => {
      // Damage the header (where formats keep magic numbers and page sizes) and a band in the middle.
      const fh = await fsp.open(file, 'r+');
      try {
        for (const [offset, length] of [[0, Math.min(size, 32)], [Math.floor(size / 2), Math.min(64, size - Math.floor(size / 2))]] as const) {
          const buf = Buffer.alloc(length);
          await fh.read(buf, 0, length, offset);
          for (let i = 0; i < length; i++) buf[i] = buf[i]! ^ 0x5a;
          await fh.write(buf, 0, length, offset);
        }
      } finally {
        await fh.close();
      }
    }),
  },
  { name: 'emptied files', mustFail: false, make: (built: ExpectedSource) => eachFile(built, async (file) => fsp.truncate(file, 0)) },
  {
    name: 'the other kind of source',
    mustFail: false,
    make: async (built: ExpectedSource, dirs: CaseDirs) => {
      // A directory where the fixture gives a file, a file of text where it gives a directory.
      const isDir = (await fsp.stat(built.source).catch(() => undefined))?.isDirectory() ?? true;
      const dir = await dirs.make('other-kind');
      if (!isDir) return dir;
      const file = path.join(dir, 'not-a-directory.txt');
      await fsp.writeFile(file, 'this is a plain text file, not the kind of source the fixture gives\n');
      return file;
    },
  },
]);

async function eachFile(built: ExpectedSource, damage: (file: string, size: number) => Promise<void>): Promise<string> {
  for (const file of await regularFiles(built.dir)) await damage(file, (await fsp.stat(file)).size);
  return built.source;
}
