/** Errors of the local image store. */

/**
 * A store failure with a stable code: `BLOB_UNKNOWN`, `DIGEST_MISMATCH`, `SIZE_MISMATCH`,
 * `INVALID_DIGEST`, `LOCK_TIMEOUT`, `IMAGE_UNKNOWN`, `INVALID_NAME`, `INVALID_ARCHIVE`, `PLATFORM_UNKNOWN`.
 */
export class StoreError extends Error {
  override name = 'StoreError';
  /** Stable machine-readable reason. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
