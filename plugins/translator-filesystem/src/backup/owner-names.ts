import { readFileSync } from 'node:fs';

/**
 * Maps uids and gids to user and group names from /etc/passwd and /etc/group.
 * One instance per job (no state shared between jobs); the files are read
 * once, lazily. Names are informational: restore uses the numeric ids.
 */
export class OwnerNames {
  #users: Map<number, string> | undefined;
  #groups: Map<number, string> | undefined;

  constructor(
    private readonly passwdPath = '/etc/passwd',
    private readonly groupPath = '/etc/group',
  ) {}

  user(uid: number): string | undefined {
    this.#users ??= parseIdFile(this.passwdPath);
    return this.#users.get(uid);
  }

  group(gid: number): string | undefined {
    this.#groups ??= parseIdFile(this.groupPath);
    return this.#groups.get(gid);
  }
}

/** Parses `name:x:id:…` lines; a missing or unreadable file gives an empty map. */
function parseIdFile(path: string): Map<number, string> {
  const map = new Map<number, string>();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return map;
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length < 3 || fields[0] === '' || line.startsWith('#')) continue;
    const id = Number(fields[2]);
    if (Number.isInteger(id) && !map.has(id)) map.set(id, fields[0]!);
  }
  return map;
}
