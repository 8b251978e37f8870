import { EbmError } from '@ebm/sdk';
import { HttpError, toErrorResponse } from './http-errors';

/** The status and body a handler's error becomes (docs/runtime.md, "Errors"). */
describe('toErrorResponse', () => {
  it.each<[EbmError, number]>([
    [new EbmError('E_HOST_SHUTTING_DOWN', 'the host is stopping and admits no new jobs'), 503],
    [new EbmError('E_JOB_REJECTED', 'backup of dataset "x" rejected: the queue is full'), 503],
    [new EbmError('E_USAGE', 'priority: must be an integer between -100 and 100, got 500'), 400],
    [new EbmError('E_INVALID_REQUEST', 'tags: must be a list'), 400],
    [new EbmError('E_REPOSITORY_LOCKED', 'locked'), 409],
    [new EbmError('E_SNAPSHOT_NOT_FOUND', 'no snapshot abc'), 404],
    [new EbmError('E_STORAGE_IO', 'disk went away'), 500],
  ])('%s → %i with its code, message and the catalogue hint', (err, status) => {
    const res = toErrorResponse(err);
    expect(res.status).toBe(status);
    expect(res.body).toEqual({ error: { code: err.code, message: err.message, hint: err.hint } });
    expect(res.internal).toBe(status === 500);
  });

  it('a shutting-down host is not an internal error: 503, not logged with a stack', () => {
    expect(toErrorResponse(new EbmError('E_HOST_SHUTTING_DOWN', 'stopping'))).toMatchObject({ status: 503, internal: false, body: { error: { code: 'E_HOST_SHUTTING_DOWN' } } });
  });

  it('keeps an HttpError as raised, and hides anything else behind E_INTERNAL', () => {
    expect(toErrorResponse(new HttpError(405, 'E_USAGE', 'method not allowed', { Allow: 'GET' }))).toMatchObject({ status: 405, headers: { Allow: 'GET' }, internal: false });
    expect(toErrorResponse(new Error('bug: x is undefined'))).toEqual({ status: 500, headers: {}, internal: true, body: { error: { code: 'E_INTERNAL', message: 'internal error in the ebm host; the host log has the details', hint: expect.any(String) } } });
  });
});
