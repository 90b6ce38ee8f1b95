/** A fresh directory under os.tmpdir() per test, removed afterwards. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'node:test';

/** Registers hooks; read `.path` inside a test. `closers` run before the directory goes. */
export function useTempDir(prefix: string): { readonly path: string; closers: (() => Promise<unknown>)[] } {
  const state = { path: '', closers: [] as (() => Promise<unknown>)[] };
  beforeEach(async () => {
    state.path = await mkdtemp(path.join(os.tmpdir(), `sb-${prefix}-`));
  });
  afterEach(async () => {
    for (const close of state.closers.splice(0)) await close().catch(() => {});
    await rm(state.path, { recursive: true, force: true });
  });
  return state;
}
