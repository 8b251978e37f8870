import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * A private PostgreSQL server for one test file: a fresh cluster in a
 * temporary directory (initdb), listening only on a unix socket in that
 * directory (no TCP port, so parallel test files never collide), trust
 * authentication, stopped and removed by `stop()`.
 *
 * Needs Debian's `postgresql` package (initdb and pg_ctl live in
 * /usr/lib/postgresql/<version>/bin). PostgreSQL refuses to run as root, so
 * when the tests run as root the server runs as the `postgres` user
 * (`runuser -u postgres --`); clients connect as role postgres either way.
 */
export class PostgresServer {
  private constructor(
    /** Directory holding the cluster, the socket and the log. */
    readonly dir: string,
    readonly bin: string,
  ) {}

  /** The socket directory, for `-h`. */
  get host(): string {
    return this.dir;
  }

  /** Client argv prefix for a tool of this server's version, e.g. tool('pg_dump') → [/usr/lib/postgresql/15/bin/pg_dump, -h, dir, -U, postgres]. */
  tool(name: 'pg_dump' | 'psql' | 'createdb' | 'dropdb'): string[] {
    return [path.join(this.bin, name), '-h', this.dir, '-U', 'postgres'];
  }

  /** Runs SQL in `db` with psql (ON_ERROR_STOP) and returns its unaligned, tuples-only output. */
  sql(db: string, sql: string): string {
    const [cmd, ...args] = this.tool('psql');
    return execFileSync(cmd!, [...args, '-d', db, '-v', 'ON_ERROR_STOP=1', '-X', '-q', '-A', '-t', '-c', sql], { encoding: 'utf8' }).trim();
  }

  createDb(name: string): void {
    const [cmd, ...args] = this.tool('createdb');
    execFileSync(cmd!, [...args, name]);
  }

  static binDir(): string | undefined {
    const root = '/usr/lib/postgresql';
    if (!fs.existsSync(root)) return undefined;
    const versions = fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
    return versions.length > 0 ? path.join(root, versions[0]!, 'bin') : undefined;
  }

  /** Creates and starts a cluster; throws with the install command when PostgreSQL is missing. */
  static start(): PostgresServer {
    const bin = PostgresServer.binDir();
    if (bin === undefined) throw new Error('PostgreSQL is not installed: apt-get install -y postgresql (initdb and pg_ctl are needed in /usr/lib/postgresql/*/bin)');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ebm-pg-'));
    const asRoot = process.getuid?.() === 0;
    if (asRoot) execFileSync('chown', ['postgres:postgres', dir]);
    const server = new PostgresServer(dir, bin);
    server.runAsOwner('initdb', ['-D', path.join(dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    server.runAsOwner('pg_ctl', [
      '-D', path.join(dir, 'data'), '-l', path.join(dir, 'server.log'), '-w', '-t', '60',
      '-o', `-k ${dir} -c listen_addresses= -c fsync=off -c full_page_writes=off`, 'start',
    ]);
    return server;
  }

  stop(): void {
    try {
      this.runAsOwner('pg_ctl', ['-D', path.join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop']);
    } finally {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }

  private runAsOwner(tool: string, args: string[]): void {
    const full = path.join(this.bin, tool);
    const asRoot = process.getuid?.() === 0;
    const res = asRoot ? spawnSync('runuser', ['-u', 'postgres', '--', full, ...args], { encoding: 'utf8' }) : spawnSync(full, args, { encoding: 'utf8' });
    if (res.status !== 0) {
      const log = path.join(this.dir, 'server.log');
      const tail = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').slice(-2000) : '';
      throw new Error(`${tool} ${args.join(' ')} failed (${res.status ?? res.signal}): ${res.stderr}${res.stdout}\n${tail}`);
    }
  }
}
