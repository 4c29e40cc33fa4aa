import { describe, expect, it } from 'vitest';
import { oneLine, RegistryError } from './errors.js';

describe('RegistryError messages', () => {
  it('reduce an OpenSSL error to its reason and keep to one line', () => {
    const ssl = 'ERR_SSL_WRONG_VERSION_NUMBER: 80FC4BEAB37F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n';
    expect(oneLine(ssl)).toBe('ERR_SSL_WRONG_VERSION_NUMBER: wrong version number');
    const e = new RegistryError({ code: 'NETWORK', action: 'pulling 192.0.2.2:5000/a:1', registry: '192.0.2.2:5000', detail: ssl, retries: 2 });
    expect(e.message).toBe('pulling 192.0.2.2:5000/a:1: ERR_SSL_WRONG_VERSION_NUMBER: wrong version number from 192.0.2.2:5000 (retried 2 times)');
  });
  it('leave ordinary details alone', () => {
    expect(oneLine('404 Not Found (manifest unknown)')).toBe('404 Not Found (manifest unknown)');
    expect(oneLine('ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1')).toBe('ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1');
  });
});
