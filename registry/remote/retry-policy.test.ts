import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_RETRY, isRetryableError, parseRetryAfter, RETRYABLE_STATUS } from './retry-policy.js';

describe('retry policy', () => {
  it('retries transient statuses only', () => {
    for (const s of [408, 429, 500, 502, 503, 504]) expect(RETRYABLE_STATUS.has(s)).toBe(true);
    for (const s of [400, 401, 403, 404, 501, 505]) expect(RETRYABLE_STATUS.has(s)).toBe(false);
  });
  it('retries connection failures, found in causes too', () => {
    expect(isRetryableError(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isRetryableError(new Error('x', { cause: Object.assign(new Error('y'), { code: 'UND_ERR_SOCKET' }) }))).toBe(true);
    expect(isRetryableError(Object.assign(new Error('x'), { code: 'ENOTFOUND' }))).toBe(false);
    expect(isRetryableError(new Error('plain'))).toBe(false);
  });
  it('reads Retry-After in seconds and as a date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
  it('backs off exponentially with jitter, capped, honouring Retry-After', () => {
    const o = DEFAULT_RETRY;
    expect(backoffDelay(0, o, undefined, () => 0)).toBe(100);
    expect(backoffDelay(0, o, undefined, () => 1)).toBe(200);
    expect(backoffDelay(3, o, undefined, () => 1)).toBe(1600);
    expect(backoffDelay(30, o, undefined, () => 1)).toBe(o.maxDelayMs);
    expect(backoffDelay(0, o, 5000)).toBe(5000);
    expect(backoffDelay(0, o, 10 ** 9)).toBe(o.maxDelayMs);
  });
});
