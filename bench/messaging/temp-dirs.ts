/**
 * Temporary directories of the messaging part (a hub's data, a million retained messages: a
 * gigabyte), removed when done and, should the harness exit first (Ctrl-C, an error), on exit.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const live = new Set<string>();
let exitHook = false;

/** A fresh directory under os.tmpdir(), named `<prefix>…`. */
export async function makeTempDir(prefix: string): Promise<string> {
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const dir of live) rmSync(dir, { recursive: true, force: true });
    });
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  live.add(dir);
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  live.delete(dir);
}
