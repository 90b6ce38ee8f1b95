import { setTimeout as sleep } from 'node:timers/promises';
import type { Command, MemorySample, Report } from './protocol.ts';

/** How a benchmark process talks to the harness (over the IPC channel), and what it measures of itself. */

export function report(message: Report): void {
  process.send?.(message);
}

export function onCommand(handler: (command: Command) => void): void {
  process.on('message', (message) => handler(message as Command));
}

/** After a forced collection: what a server holds, with garbage out of the way. */
export async function memorySample(): Promise<MemorySample> {
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.();
    await sleep(50);
  }
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapUsed, external, arrayBuffers };
}
