import { existsSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './greeter.ts';
import type { LoadResult } from './load.ts';
import { BenchChild } from './processes.ts';
import type { StackInfo } from './stacks/index.ts';

/** One stack's unary SayHello run: server and client in separate processes on loopback. */

export interface ThroughputSettings {
  host: string;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** Connections of the pooled HTTP/1.1 clients. */
  httpConnections: number;
}

export interface ThroughputRow {
  id: StackInfo['id'];
  label: string;
  status: 'ok' | 'skipped' | 'failed';
  note?: string;
  /** Node versions of the server and client processes. */
  node?: string;
  connections?: number;
  result?: LoadResult;
  /** The machine's 1-minute load average when the run started. */
  loadAverage?: number;
}

/** Why the stack cannot run yet, if it cannot. */
export function missingModule(info: StackInfo): string | undefined {
  if (info.requires && !existsSync(path.join(REPO_ROOT, info.requires)))
    return `${info.requires} not present yet`;
  return undefined;
}

export async function measureThroughput(
  info: StackInfo,
  settings: ThroughputSettings,
  execPath = process.execPath,
): Promise<ThroughputRow> {
  const base = { id: info.id, label: info.label };
  const missing = missingModule(info);
  if (missing) return { ...base, status: 'skipped', note: `skipped: ${missing}` };
  const connections = info.pooled ? settings.httpConnections : 1;
  const server = new BenchChild({ role: 'server', stack: info.id, host: settings.host, port: 0 }, execPath);
  let client: BenchChild | undefined;
  try {
    const ready = await server.next('ready', 60_000);
    client = new BenchChild(
      {
        role: 'load',
        stack: info.id,
        host: settings.host,
        port: ready.port,
        connections,
        concurrency: settings.concurrency,
        warmupMs: settings.warmupMs,
        durationMs: settings.durationMs,
      },
      execPath,
    );
    const { result, node } = await client.next('result', settings.warmupMs + settings.durationMs + 60_000);
    const errors = result.errors > 0 ? `${result.errors} errors, first: ${result.firstError}` : undefined;
    return {
      ...base,
      status: result.requests > 0 ? 'ok' : 'failed',
      node: ready.node === node ? node : `${ready.node} / ${node}`,
      connections,
      result,
      note: errors,
    };
  } catch (err) {
    return { ...base, status: 'failed', note: `failed: ${firstLine(err)}` };
  } finally {
    await client?.stop();
    await server.stop();
  }
}

export function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0] ?? text;
}
