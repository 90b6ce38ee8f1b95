/** Whether the processes a test started are really gone (Linux /proc). */
import { readdirSync, readFileSync } from 'node:fs';

/**
 * True while a process, or any process of its process group, runs. Zombies do not count: a
 * killed grandchild (tsx's esbuild) is re-parented to PID 1, which in some containers never
 * reaps it, yet it is dead.
 */
export function processOrGroupAlive(pid: number): boolean {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const [state, , group] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (state !== 'Z' && (Number(entry) === pid || Number(group) === pid)) return true;
  }
  return false;
}

/** SIGKILLs the process group `pid` leads, if any is left. */
export function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Gone already, as it should be.
  }
}
