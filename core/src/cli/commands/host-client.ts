import { EbmError, isErrorCode } from '@ebm/sdk';

/**
 * The CLI's client of a running host's HTTP API (`ebm jobs`, `ebm run`):
 * address from --host-url or EBM_HOST_URL (default http://127.0.0.1:8950),
 * token from EBM_API_TOKEN. API errors come back as the host's EbmError.
 */
export async function hostRequest<T>(method: string, path: string, options: { url?: string; body?: unknown } = {}): Promise<{ status: number; body: T }> {
  const base = (options.url ?? process.env.EBM_HOST_URL ?? 'http://127.0.0.1:8950').replace(/\/+$/, '');
  const token = process.env.EBM_API_TOKEN;
  if (!token) throw new EbmError('E_UNAUTHORIZED', 'set EBM_API_TOKEN to the token of the running host');
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
  } catch (err) {
    throw new EbmError('E_STORAGE_IO', `cannot reach the ebm host at ${base}: ${(err as Error).message} (is \`ebm serve\` running? see --host-url)`, { retryable: true });
  }
  const text = await res.text();
  const body = text ? (JSON.parse(text) as T & { error?: { code: string; message: string } }) : ({} as T & { error?: { code: string; message: string } });
  if (res.status >= 400) {
    const e = body.error;
    throw new EbmError(e && isErrorCode(e.code) ? e.code : 'E_INTERNAL', e?.message ?? `HTTP ${res.status} from ${base}${path}`);
  }
  return { status: res.status, body };
}
