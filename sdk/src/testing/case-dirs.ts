import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * The directories of one conformance case, all under one temporary root that
 * is removed when the case ends (pass or fail): fixture sources, restore
 * targets. Their paths are also where the leak check looks for files the
 * plugin left open.
 */
export class CaseDirs {
  readonly #root: string;
  #next = 0;

  private constructor(root: string) {
    this.#root = root;
  }

  static async create(): Promise<CaseDirs> {
    return new CaseDirs(await fsp.mkdtemp(path.join(os.tmpdir(), 'ebm-conformance-')));
  }

  get root(): string {
    return this.#root;
  }

  /** A new, empty directory named after `label`. */
  async make(label: string): Promise<string> {
    const dir = path.join(this.#root, `${String(++this.#next).padStart(2, '0')}-${label.replace(/[^a-zA-Z0-9_-]+/g, '_').slice(0, 40)}`);
    await fsp.mkdir(dir);
    return dir;
  }

  /** A path under the root that does not exist. */
  missing(label: string): string {
    return path.join(this.#root, `does-not-exist-${label}`);
  }

  async remove(): Promise<void> {
    await makeRemovable(this.#root);
    await fsp.rm(this.#root, { recursive: true, force: true });
  }
}

/** A fixture may leave read-only directories behind; give the owner write access so rm can proceed. */
async function makeRemovable(dir: string): Promise<void> {
  let entries: import('node:fs').Dirent[];
  try {
    await fsp.chmod(dir, 0o700);
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) await makeRemovable(path.join(dir, e.name));
}
