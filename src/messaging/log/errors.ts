/** The errors a log answers with; each carries what a caller needs to act on it. */

/**
 * A read below the log's start (retention deleted it) or beyond its end. A consumer resets
 * to `startOffset` or `endOffset`, as its policy says.
 */
export class OffsetOutOfRangeError extends RangeError {
  readonly code = 'OFFSET_OUT_OF_RANGE';

  constructor(
    readonly offset: number,
    readonly startOffset: number,
    readonly endOffset: number,
  ) {
    super(`offset ${offset} is out of range: the log holds [${startOffset}, ${endOffset})`);
    this.name = 'OffsetOutOfRangeError';
  }
}

/** Damage in a log's files that recovery may not repair on its own. */
export class CorruptLogError extends Error {
  readonly code: string = 'CORRUPT_LOG';

  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'CorruptLogError';
  }
}

/**
 * A record that fails its checksum or structure where data must be whole: a read, or the
 * middle of a segment at open. Never skipped silently.
 */
export class CorruptRecordError extends CorruptLogError {
  override readonly code = 'CORRUPT_RECORD';

  constructor(
    file: string,
    readonly position: number,
    /** The offset the record should have had. */
    readonly offset: number,
    readonly reason: string,
    hint = '',
  ) {
    super(file, `corrupt record at byte ${position} (offset ${offset}): ${reason}${hint}`);
    this.name = 'CorruptRecordError';
  }
}

export class LogClosedError extends Error {
  readonly code = 'LOG_CLOSED';

  constructor(what = 'log') {
    super(`the ${what} is closed`);
    this.name = 'LogClosedError';
  }
}

/**
 * A write or fsync failed. After a failed fsync the kernel may have dropped the dirty pages
 * and a retry would report success for data that is gone (PostgreSQL's "fsyncgate"), so the
 * log accepts nothing more; reopening it recovers from what is really on disk.
 */
export class LogFailedError extends Error {
  readonly code = 'LOG_FAILED';

  constructor(cause: unknown) {
    super(`the log failed and accepts no more appends: ${(cause as Error)?.message ?? String(cause)}`, {
      cause,
    });
    this.name = 'LogFailedError';
  }
}
