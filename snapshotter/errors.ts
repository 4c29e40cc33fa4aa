/** Error classes of the snapshotter; each has a stable `code`. */

/** A layer entry would create or change something outside its snapshot; the whole layer is refused. */
export class LayerSecurityError extends Error {
  readonly code = 'LAYER_UNSAFE';
  /** The offending entry's path as written in the tar. */
  readonly entry: string;
  constructor(entry: string, reason: string) {
    super(`refusing layer: entry ${JSON.stringify(entry)} ${reason}`);
    this.name = 'LayerSecurityError';
    this.entry = entry;
  }
}

/** The uncompressed bytes of a layer did not hash to its diff ID. */
export class DiffIdMismatchError extends Error {
  readonly code = 'DIFF_ID_MISMATCH';
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`layer content is ${actual}, expected diff ID ${expected}`);
    this.name = 'DiffIdMismatchError';
  }
}

/** A layer's media type (or its bytes) cannot be decompressed here. */
export class UnsupportedMediaTypeError extends Error {
  readonly code = 'UNSUPPORTED_MEDIA_TYPE';
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedMediaTypeError';
  }
}

/** A snapshot, key or driver problem (missing parent, key in use, driver unavailable). */
export class SnapshotError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SnapshotError';
  }
}
