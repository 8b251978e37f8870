import * as fs from 'node:fs';
import { EbmError } from '@ebm/sdk';
import type { RegisterCommand } from '../command-types';
import type { CliContext } from '../cli-context';
import { loadHostConfig } from '../../config/load-config';
import type { HostConfiguration } from '../../config/config-types';
import { fileSink, Logger, streamSink } from '../../logging/logger';
import { HostRuntime } from '../../runtime/host-runtime';
import { createApiServer } from '../../api/api-server';
import type { ApiServer } from '../../api/api-server';

interface ServeOptions { config: string; listen?: string }

/**
 * `ebm serve`: the host process. Runs until SIGTERM or SIGINT, then stops
 * admitting jobs (503 E_HOST_SHUTTING_DOWN), lets running ones finish within
 * `shutdown.grace` (cancels them after) while the API keeps answering, then
 * closes the API and exits 0. A second signal exits at once (exit code 130).
 */
export const registerServe: RegisterCommand = (program, run) => {
  program
    .command('serve')
    .description('run the host process: scheduled and requested jobs through the resource-aware queue, and the HTTP API')
    .requiredOption('-c, --config <file>', 'host configuration (YAML or JSON; see examples/ebm.config.yaml)')
    .option('--listen <host:port>', 'HTTP API address (overrides api.listen; default 127.0.0.1:8950)')
    .action(
      run(async (ctx: CliContext, opts: ServeOptions) => {
        const config = loadHostConfig(opts.config);
        const file = config.log.file ? fileSink(config.log.file) : undefined;
        const logger = new Logger(file ?? streamSink(process.stderr), config.log.level);
        const runtime = HostRuntime.create(config, { logger });
        const token = apiToken(config);
        const { host, port } = listenAddress(opts.listen ?? config.api.listen);
        let api: ApiServer | undefined;
        try {
          await runtime.start();
          api = createApiServer(runtime, { token, logger: logger.child({ component: 'api' }) });
          const address = await api.listen(host, port);
          logger.info('api listening', { host: address.host, port: address.port });
          ctx.output.info(`ebm host running: API on http://${address.host}:${address.port}/api/v1/ (Ctrl-C or SIGTERM to stop)`);
          ctx.output.line({ type: 'result', op: 'serve', host: address.host, port: address.port, pid: process.pid });
          if (!ctx.signal.aborted) await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
          // Shutdown order: stop admitting and drain the running jobs (the grace period) while the
          // API still answers status, jobs, cancel and events (new jobs get 503 E_HOST_SHUTTING_DOWN);
          // then close the API (event streams end), then everything else.
          ctx.output.info(`ebm host stopping: no new jobs; running jobs get ${config.shutdown.graceMs} ms to finish`);
          await runtime.drain();
        } finally {
          await api?.close();
          await runtime.stop();
          file?.close();
        }
        ctx.output.info('ebm host stopped');
      }),
    );
};

function apiToken(config: HostConfiguration): string {
  if (config.api.tokenFile) {
    try {
      return fs.readFileSync(config.api.tokenFile, 'utf8').split('\n')[0]!.trim();
    } catch (err) {
      throw new EbmError('E_CONFIG', `cannot read the API token file ${config.api.tokenFile} (api.tokenFile): ${(err as Error).message}`);
    }
  }
  const env = config.api.tokenEnv ?? 'EBM_API_TOKEN';
  const token = process.env[env];
  if (!token) throw new EbmError('E_CONFIG', `no API token: set ${env} (api.tokenEnv) or api.tokenFile; the HTTP API never runs without one`);
  return token;
}

export function listenAddress(listen: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(listen);
  if (!m || Number(m[2]) > 65535) throw new EbmError('E_USAGE', `--listen ${listen}: expected HOST:PORT, e.g. 127.0.0.1:8950`);
  return { host: m[1]!, port: Number(m[2]) };
}
