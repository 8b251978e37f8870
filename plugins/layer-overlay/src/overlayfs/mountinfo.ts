import { promises as fsp } from 'node:fs';

/** The directories of an overlay mount, as its super options name them. */
export interface OverlayDirs {
  /** Uppermost first, as in `lowerdir=top:…:bottom`. */
  readonly lower: readonly string[];
  readonly upper?: string;
  /** Data-only lower layers (`lowerdir=a::data`, `datadir+=`). */
  readonly dataOnly: readonly string[];
  /** Every super option, e.g. metacopy=on, redirect_dir=on, userxattr. */
  readonly options: readonly string[];
}

export interface MountRecord {
  readonly mountPoint: string;
  readonly fsType: string;
  readonly superOptions: string;
}

/** Parses /proc/self/mountinfo (proc(5)): fields are space-separated, with octal escapes (\040) for spaces and the like. */
export function parseMountInfo(text: string): MountRecord[] {
  const out: MountRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 6 || fields.length < dash + 4) continue;
    out.push({ mountPoint: unescapeOctal(fields[4]!), fsType: fields[dash + 1]!, superOptions: unescapeOctal(fields[dash + 3]!) });
  }
  return out;
}

export async function readMountInfo(): Promise<MountRecord[]> {
  return parseMountInfo(await fsp.readFile('/proc/self/mountinfo', 'utf8'));
}

/**
 * The overlay directories from super options: `lowerdir=a:b` (a backslash
 * escapes ':' and ','; '::' starts data-only layers), or the newer repeated
 * `lowerdir+=a`, `datadir+=d` forms, and `upperdir=u`.
 */
export function overlayDirs(superOptions: string): OverlayDirs {
  const lower: string[] = [];
  const dataOnly: string[] = [];
  let upper: string | undefined;
  const options = splitUnescaped(superOptions, ',');
  for (const opt of options) {
    const eq = opt.indexOf('=');
    const key = eq < 0 ? opt : opt.slice(0, eq);
    const value = eq < 0 ? '' : opt.slice(eq + 1);
    if (key === 'lowerdir') {
      const [normal, data] = splitDataOnly(value);
      lower.push(...splitUnescaped(normal, ':').map(unescapeBackslash));
      dataOnly.push(...splitUnescaped(data, ':').map(unescapeBackslash));
    } else if (key === 'lowerdir+') {
      lower.push(unescapeBackslash(value));
    } else if (key === 'datadir+') {
      dataOnly.push(unescapeBackslash(value));
    } else if (key === 'upperdir') {
      upper = unescapeBackslash(value);
    }
  }
  return { lower: lower.filter((d) => d !== ''), ...(upper !== undefined ? { upper } : {}), dataOnly: dataOnly.filter((d) => d !== ''), options };
}

function splitDataOnly(value: string): [string, string] {
  for (let i = 0; i < value.length - 1; i++) {
    if (value[i] === '\\') i++;
    else if (value[i] === ':' && value[i + 1] === ':') return [value.slice(0, i), value.slice(i + 2)];
  }
  return [value, ''];
}

function splitUnescaped(value: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < value.length; i++) {
    if (value[i] === '\\' && i + 1 < value.length) {
      cur += value[i]! + value[i + 1]!;
      i++;
    } else if (value[i] === sep) {
      parts.push(cur);
      cur = '';
    } else cur += value[i];
  }
  parts.push(cur);
  return parts;
}

function unescapeBackslash(value: string): string {
  return value.replace(/\\(.)/g, '$1');
}

function unescapeOctal(value: string): string {
  return value.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
