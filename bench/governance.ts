import { type GovernanceResult, pairRatios, startPart, summarizeSlices } from './cluster-results.ts';
import { BenchChild } from './processes.ts';
import { firstLine } from './throughput.ts';

/**
 * The governance part: what calling by name through the whole governance chain costs over a
 * direct call to the same server, in req/s of a closed loop on the native transport.
 */

export interface GovernanceSettings {
  host: string;
  command: string;
  concurrency: number;
  warmupMs: number;
  sliceMs: number;
  pairs: number;
}

export async function measureGovernance(settings: GovernanceSettings): Promise<GovernanceResult> {
  const finish = startPart(settings.command);
  const base = {
    settings: {
      concurrency: settings.concurrency,
      warmupS: settings.warmupMs / 1000,
      sliceS: settings.sliceMs / 1000,
      pairs: settings.pairs,
    },
  };
  const server = new BenchChild({ role: 'fleet', host: settings.host, count: 1, delaysMs: [0] });
  let client: BenchChild | undefined;
  try {
    const { ports } = await server.next('fleet-ready', 60_000);
    client = new BenchChild({
      role: 'governance-client',
      host: settings.host,
      port: ports[0]!,
      concurrency: settings.concurrency,
      warmupMs: settings.warmupMs,
      sliceMs: settings.sliceMs,
      pairs: settings.pairs,
    });
    const budget = settings.warmupMs + settings.pairs * 2 * (settings.sliceMs + 6000) + 60_000;
    const { slices } = await client.next('governance-result', budget);
    const direct = summarizeSlices(slices, 'direct');
    const cluster = summarizeSlices(slices, 'cluster');
    const errors = direct.errors + cluster.errors;
    const firstError = slices.find((s) => s.result.firstError)?.result.firstError;
    return {
      run: finish(),
      ...base,
      status: direct.rps && cluster.rps ? 'ok' : 'failed',
      note: errors > 0 ? `${errors} errors, first: ${firstError}` : undefined,
      direct,
      cluster,
      ratios: pairRatios(slices),
      slices,
    };
  } catch (err) {
    return {
      run: finish(),
      ...base,
      status: 'failed',
      note: `failed: ${firstLine(err)}`,
      ratios: [],
      slices: [],
    };
  } finally {
    await client?.stop();
    await server.stop();
  }
}
