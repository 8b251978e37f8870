import { isEbmError } from '@ebm/sdk';
import { validateRequest } from './validate-request';

/** The E_USAGE message validateRequest gives for `input`; fails the test when the request is accepted or fails otherwise. */
export function rejection(input: unknown, context: Parameters<typeof validateRequest>[1]): string {
  try {
    validateRequest(input, context);
  } catch (err) {
    expect(isEbmError(err) && err.code).toBe('E_USAGE');
    return (err as Error).message;
  }
  throw new Error('expected the request to be rejected');
}
