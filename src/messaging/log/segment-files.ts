/** Where a log's files live and how they are named, listed and made durable in their directory. */
import { mkdir, open, readdir } from 'node:fs/promises';
import path from 'node:path';

export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const TEMP_SUFFIX = '.tmp';
const SEGMENT_NAME = /^(\d{20})\.log$/;

/** `00000000000000001234`: 20 digits hold any offset below 2^64, and names sort as offsets do. */
export function segmentStem(baseOffset: number): string {
  return String(baseOffset).padStart(20, '0');
}

export function segmentPaths(dir: string, baseOffset: number): { log: string; index: string } {
  const stem = path.join(dir, segmentStem(baseOffset));
  return { log: stem + LOG_SUFFIX, index: stem + INDEX_SUFFIX };
}

export interface LogDirectoryListing {
  /** Base offsets of the segment files, ascending. */
  segments: number[];
  /** Leftovers to remove: temporary files, indexes whose segment is gone. */
  strays: string[];
}

export async function listLogDirectory(dir: string): Promise<LogDirectoryListing> {
  const names = await readdir(dir);
  const segments: number[] = [];
  for (const name of names) {
    const match = SEGMENT_NAME.exec(name);
    if (match) {
      const base = Number(match[1]);
      if (Number.isSafeInteger(base)) segments.push(base);
    }
  }
  segments.sort((a, b) => a - b);
  const stems = new Set(segments.map(segmentStem));
  const strays = names.filter(
    (name) =>
      name.endsWith(TEMP_SUFFIX) ||
      (name.endsWith(INDEX_SUFFIX) && !stems.has(name.slice(0, -INDEX_SUFFIX.length))),
  );
  return { segments, strays: strays.map((name) => path.join(dir, name)) };
}

/**
 * fsync of a directory: makes a created, renamed or deleted entry in it durable. Without it
 * a crash may forget a new segment file whose records were fsynced and acknowledged.
 */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(dir, 'r');
  } catch (err) {
    // Windows cannot open a directory; its file system orders these operations itself.
    if (process.platform === 'win32') return;
    throw err;
  }
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** mkdir -p that makes each directory it creates durable in its parent. */
export async function ensureDirectory(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return;
  let created = path.resolve(dir);
  const top = path.resolve(first);
  for (;;) {
    await syncDirectory(path.dirname(created));
    if (created === top) return;
    created = path.dirname(created);
  }
}
