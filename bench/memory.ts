import { setTimeout as sleep } from 'node:timers/promises';
import { BenchChild } from './processes.ts';
import type { MemorySample } from './protocol.ts';
import { type StackId, stackInfo } from './stacks/index.ts';
import { firstLine, missingModule } from './throughput.ts';

/**
 * Server memory (a) per idle connection and (b) per call in flight. The server runs with
 * --expose-gc and is sampled after forced collections, before and after the clients (another
 * process) open their connections or park their calls. heap = heapUsed + external (what the
 * JavaScript side holds, buffers included); rss also counts what V8 and libuv keep reserved.
 */

export const IDLE_STACKS: readonly StackId[] = ['native', 'grpc', 'http', 'grpcjs', 'fastify'];
/** HTTP/1.1 carries one call per connection, so only multiplexed transports can park 10,000 calls. */
export const INFLIGHT_STACKS: readonly StackId[] = ['native', 'grpc', 'grpcjs'];

export interface MemorySettings {
  host: string;
  idleConnections: number;
  inflightCalls: number;
  inflightConnections: number;
}

export interface MemoryRow {
  stack: StackId;
  label: string;
  status: 'ok' | 'skipped' | 'failed';
  note?: string;
  /** Connections opened, or calls parked. */
  count?: number;
  heapBytesEach?: number;
  externalBytesEach?: number;
  rssBytesEach?: number;
  before?: MemorySample;
  after?: MemorySample;
}

function perItem(before: MemorySample, after: MemorySample, count: number) {
  return {
    heapBytesEach: (after.heapUsed - before.heapUsed) / count,
    externalBytesEach: (after.external - before.external) / count,
    rssBytesEach: (after.rss - before.rss) / count,
  };
}

async function sample(server: BenchChild): Promise<MemorySample> {
  server.send({ cmd: 'memory' });
  return (await server.next('memory', 30_000)).sample;
}

async function withServer(
  stack: StackId,
  settings: MemorySettings,
  body: (server: BenchChild, port: number) => Promise<MemoryRow>,
): Promise<MemoryRow> {
  const info = stackInfo(stack);
  const missing = missingModule(info);
  if (missing) return { stack, label: info.label, status: 'skipped', note: `skipped: ${missing}` };
  const server = new BenchChild({ role: 'server', stack, host: settings.host, port: 0 });
  try {
    const { port } = await server.next('ready', 60_000);
    return await body(server, port);
  } catch (err) {
    return { stack, label: info.label, status: 'failed', note: `failed: ${firstLine(err)}` };
  } finally {
    await server.stop();
  }
}

export function measureIdle(stack: StackId, settings: MemorySettings): Promise<MemoryRow> {
  return withServer(stack, settings, async (server, port) => {
    const client = new BenchChild({ role: 'idle', stack, host: settings.host, port });
    try {
      await client.next('warm', 60_000);
      const before = await sample(server);
      client.send({ cmd: 'open', count: settings.idleConnections });
      await client.next('opened', 180_000);
      await sleep(500);
      const after = await sample(server);
      const count = settings.idleConnections;
      return {
        stack,
        label: stackInfo(stack).label,
        status: 'ok',
        count,
        before,
        after,
        ...perItem(before, after, count),
      };
    } finally {
      await client.stop();
    }
  });
}

/** Polls the server until `target` calls wait in its handler, or none arrived for `stallMs`. */
async function parked(server: BenchChild, target: number, stallMs: number): Promise<number> {
  let count = 0;
  let lastChange = Date.now();
  while (count < target && Date.now() - lastChange < stallMs) {
    await sleep(200);
    server.send({ cmd: 'pending' });
    const now = (await server.next('pending', 10_000)).count;
    if (now !== count) lastChange = Date.now();
    count = now;
  }
  return count;
}

export function measureInflight(stack: StackId, settings: MemorySettings): Promise<MemoryRow> {
  return withServer(stack, settings, async (server, port) => {
    const client = new BenchChild({
      role: 'inflight',
      stack,
      host: settings.host,
      port,
      connections: settings.inflightConnections,
    });
    try {
      await client.next('warm', 60_000);
      const before = await sample(server);
      server.send({ cmd: 'hold' });
      client.send({ cmd: 'fire', count: settings.inflightCalls });
      await client.next('fired', 60_000);
      const count = await parked(server, settings.inflightCalls, 5000);
      const after = await sample(server);
      server.send({ cmd: 'release' });
      const settled = await client.next('settled', 60_000);
      const notes: string[] = [];
      if (count < settings.inflightCalls)
        notes.push(`only ${count} of ${settings.inflightCalls} calls reached the handler`);
      if (settled.errors > 0) notes.push(`${settled.errors} calls failed, first: ${settled.firstError}`);
      if (count === 0)
        return { stack, label: stackInfo(stack).label, status: 'failed', note: notes.join('; ') };
      return {
        stack,
        label: stackInfo(stack).label,
        status: 'ok',
        note: notes.join('; ') || undefined,
        count,
        before,
        after,
        ...perItem(before, after, count),
      };
    } finally {
      await client.stop();
    }
  });
}
