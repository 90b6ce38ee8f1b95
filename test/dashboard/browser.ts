/**
 * Real Chromium for the dashboard tests, driven by playwright-core. Under CI=true a missing
 * browser fails the test; elsewhere the test is skipped with a message saying what is missing.
 */
import { accessSync, constants, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';

/** The browser binary: $CHROMIUM_PATH, else the distribution's chromium. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Screenshots go here (test/artifacts/ is ignored by git). */
export const ARTIFACTS_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../artifacts/dashboard',
);

/** `false` when Chromium is installed; otherwise a skip message. Throws under CI=true. */
export function chromiumMissing(): string | false {
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK);
    return false;
  } catch {
    const message = `no Chromium at ${CHROMIUM_PATH}: install it (apt-get install chromium) or set CHROMIUM_PATH`;
    if (process.env.CI === 'true') throw new Error(`${message} (CI=true: a missing browser is a failure)`);
    return message;
  }
}

export async function launchChromium(): Promise<Browser> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    timeout: 30_000,
    // Containers often have a tiny /dev/shm; Chromium then crashes on larger pages.
    args: ['--disable-dev-shm-usage'],
  });
}

export function artifact(name: string): string {
  return path.join(ARTIFACTS_DIR, name);
}
