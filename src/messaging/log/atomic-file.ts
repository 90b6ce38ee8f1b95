/** Replacing a small file so that a crash at any instant leaves the old content or the new, whole. */
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { syncDirectory, TEMP_SUFFIX } from './segment-files.ts';

/**
 * Write to `<file>.tmp`, fsync it, rename over `file`, fsync the directory. The rename is
 * atomic; the first fsync keeps a crash from publishing a name that points at unwritten
 * blocks, the second makes the rename itself survive, so the caller may report success.
 */
export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  options: { sync?: boolean } = {},
): Promise<void> {
  const sync = options.sync ?? true;
  const temp = file + TEMP_SUFFIX;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(data);
    if (sync) await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  if (sync) await syncDirectory(path.dirname(file));
}
