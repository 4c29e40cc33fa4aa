/** Errors reading or writing image archives. */

/** An archive problem with a stable code: `INVALID_ARCHIVE`, `DIGEST_MISMATCH`, `UNSUPPORTED_LAYER`, `MISSING_BLOB`. */
export class ArchiveError extends Error {
  override name = 'ArchiveError';
  /** Stable machine-readable reason. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
