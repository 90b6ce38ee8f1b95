import type { TransportKind } from '../src/app/connect.ts';
import { type GovernanceResult, startPart, summarizeTransport } from './cluster-results.ts';
import { BenchChild } from './processes.ts';
import { firstLine } from './throughput.ts';

/**
 * The governance part: what calling by name through the whole governance chain costs over a
 * direct call to the same server, in req/s of a closed loop, on each transport in turn.
 */

/** The transports measured, in this order: native (the one the other cluster parts use) first. */
export const GOVERNANCE_TRANSPORTS: readonly TransportKind[] = ['native', 'grpc', 'http'];

export interface GovernanceSettings {
  host: string;
  command: string;
  concurrency: number;
  warmupMs: number;
  sliceMs: number;
  /** Pairs per transport. */
  pairs: number;
  transports: TransportKind[];
  /** Keep-alive connections of each HTTP client's pool (direct and by name alike). */
  httpConnections: number;
}

export async function measureGovernance(settings: GovernanceSettings): Promise<GovernanceResult> {
  const finish = startPart(settings.command);
  const base = {
    settings: {
      concurrency: settings.concurrency,
      warmupS: settings.warmupMs / 1000,
      sliceS: settings.sliceMs / 1000,
      pairs: settings.pairs,
      transports: settings.transports,
      httpConnections: settings.httpConnections,
    },
  };
  // One server process serving every transport, so each transport's pairs call the same process.
  const server = new BenchChild({
    role: 'fleet',
    host: settings.host,
    count: 1,
    delaysMs: [0],
    transports: settings.transports,
  });
  let client: BenchChild | undefined;
  try {
    const { servers } = await server.next('fleet-ready', 60_000);
    client = new BenchChild({
      role: 'governance-client',
      host: settings.host,
      ports: servers[0]!,
      transports: settings.transports,
      httpConnections: settings.httpConnections,
      concurrency: settings.concurrency,
      warmupMs: settings.warmupMs,
      sliceMs: settings.sliceMs,
      pairs: settings.pairs,
    });
    const perTransport = settings.warmupMs + settings.pairs * 2 * (settings.sliceMs + 6000);
    const { slices, failures } = await client.next(
      'governance-result',
      settings.transports.length * perTransport + 60_000,
    );
    const transports = settings.transports.map((kind) => {
      const summary = summarizeTransport(
        slices,
        kind,
        kind === 'http' ? settings.httpConnections : undefined,
      );
      const failure = failures.find((f) => f.transport === kind);
      return failure
        ? { ...summary, status: 'failed' as const, note: `failed: ${failure.message}` }
        : summary;
    });
    const failed = transports.filter((t) => t.status !== 'ok');
    return {
      run: finish(),
      ...base,
      status: failed.length ? 'failed' : 'ok',
      note: failed.length ? failed.map((t) => `${t.transport}: ${t.note ?? t.status}`).join('; ') : undefined,
      transports,
      slices,
    };
  } catch (err) {
    return {
      run: finish(),
      ...base,
      status: 'failed',
      note: `failed: ${firstLine(err)}`,
      transports: [],
      slices: [],
    };
  } finally {
    await client?.stop();
    await server.stop();
  }
}
