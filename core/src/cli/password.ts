import * as fs from 'node:fs';
import { EbmError } from '@ebm/sdk';

/**
 * Where the repository password comes from, in order: --password-file,
 * EBM_PASSWORD, EBM_PASSWORD_FILE, then a prompt when stdin is a terminal.
 * Without any of these the command fails with E_NO_PASSWORD (never hangs).
 */
export async function resolvePassword(opts: { passwordFile?: string; confirm?: boolean; prompt?: string }): Promise<string> {
  const file = opts.passwordFile ?? process.env.EBM_PASSWORD_FILE;
  if (opts.passwordFile) return readPasswordFile(opts.passwordFile);
  if (process.env.EBM_PASSWORD !== undefined && process.env.EBM_PASSWORD !== '') return process.env.EBM_PASSWORD;
  if (file) return readPasswordFile(file);
  if (!process.stdin.isTTY) {
    throw new EbmError('E_NO_PASSWORD', 'no password given: set EBM_PASSWORD, pass --password-file FILE, or run on a terminal to be asked');
  }
  const first = await promptHidden(opts.prompt ?? 'repository password: ');
  if (opts.confirm) {
    const again = await promptHidden('enter the password again: ');
    if (again !== first) throw new EbmError('E_USAGE', 'the passwords do not match');
  }
  if (first === '') throw new EbmError('E_USAGE', 'an empty password is not allowed');
  return first;
}

function readPasswordFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new EbmError('E_USAGE', `cannot read password file ${file}: ${(err as Error).message}`, { subject: file });
  }
}

/** Reads one line from the terminal without echoing it. */
export function promptHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    // Echo off before the prompt appears: a person starts typing when they see it.
    stdin.setRawMode?.(true);
    process.stderr.write(question);
    let value = '';
    stdin.resume();
    stdin.setEncoding('utf8');
    const finish = (err?: Error) => {
      stdin.setRawMode?.(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish();
        if (ch === '\u0003') return finish(new EbmError('E_CANCELLED', 'password prompt interrupted'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}
