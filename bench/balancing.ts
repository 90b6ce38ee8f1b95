import os from 'node:os';
import type { BalancerName } from '../src/governance/balancer.ts';
import { type BalancingResult, type BalancingRun, type ScenarioId, startPart } from './cluster-results.ts';
import { BenchChild } from './processes.ts';
import { roundOrder } from './rounds.ts';
import { firstLine } from './throughput.ts';

/**
 * The balancing part: a fleet of Greeter instances (one process), one of them 10× slower, called
 * by name at a fixed rate from another process through ClusterTransport with each balancer. The
 * scenarios run once per round, in an order that changes each round, so that a busy moment of
 * the machine does not always fall on the same one.
 */

export interface BalancingSettings {
  host: string;
  command: string;
  instances: number;
  healthyMs: number;
  slowMs: number;
  ratePerS: number;
  warmupMs: number;
  durationMs: number;
  rounds: number;
}

export const SCENARIOS: readonly { id: ScenarioId; label: string; balancer: BalancerName; slow: boolean }[] =
  [
    { id: 'healthy', label: 'all healthy, p2c_peak_ewma', balancer: 'p2c_peak_ewma', slow: false },
    { id: 'round_robin', label: 'one slow, round_robin', balancer: 'round_robin', slow: true },
    {
      id: 'p2c_peak_ewma',
      label: 'one slow, p2c_peak_ewma (default)',
      balancer: 'p2c_peak_ewma',
      slow: true,
    },
    {
      id: 'least_outstanding',
      label: 'one slow, least_outstanding',
      balancer: 'least_outstanding',
      slow: true,
    },
  ];

export async function measureBalancing(
  settings: BalancingSettings,
  log: (message: string) => void,
): Promise<BalancingResult> {
  const finish = startPart(settings.command);
  const slow = settings.instances - 1;
  const delays = (withSlow: boolean) =>
    Array.from({ length: settings.instances }, (_, i) =>
      withSlow && i === slow ? settings.slowMs : settings.healthyMs,
    );
  const base = {
    settings: {
      instances: settings.instances,
      healthyMs: settings.healthyMs,
      slowMs: settings.slowMs,
      ratePerS: settings.ratePerS,
      warmupS: settings.warmupMs / 1000,
      durationS: settings.durationMs / 1000,
      rounds: settings.rounds,
    },
  };
  const runs: BalancingRun[] = [];
  const orders: ScenarioId[][] = [];
  const fleet = new BenchChild({
    role: 'fleet',
    host: settings.host,
    count: settings.instances,
    delaysMs: delays(false),
  });
  let client: BenchChild | undefined;
  try {
    const { ports } = await fleet.next('fleet-ready', 60_000);
    client = new BenchChild({ role: 'balance-client', host: settings.host, ports });
    await client.next('warm', 60_000);
    for (let round = 0; round < settings.rounds; round++) {
      const order = roundOrder(SCENARIOS, round);
      orders.push(order.map((s) => s.id));
      for (const [position, scenario] of order.entries()) {
        const loadAverage = os.loadavg()[0]!;
        const where = { scenario: scenario.id, round, position, loadAverage };
        log(
          `balancing, round ${round + 1}/${settings.rounds}: ${scenario.label}, ${settings.ratePerS} calls/s…`,
        );
        try {
          const run = await runScenario(fleet, client, settings, scenario, delays(scenario.slow), slow);
          runs.push({ ...where, ...run });
          const r = run.result;
          log(
            `  p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, ${Math.round(r.rps)} calls/s, send lag p99 ${r.lagP99Ms.toFixed(2)} ms` +
              (run.slowShare === undefined ? '' : `, ${(100 * run.slowShare).toFixed(2)}% to the slow one`),
          );
        } catch (err) {
          runs.push({ ...where, status: 'failed', note: `failed: ${firstLine(err)}` });
          log(`  failed: ${firstLine(err)}`);
        }
      }
    }
    const failed = runs.filter((r) => r.status !== 'ok').length;
    return {
      run: finish(),
      ...base,
      status: failed === runs.length ? 'failed' : 'ok',
      note: failed ? `${failed} of ${runs.length} scenario runs failed` : undefined,
      orders,
      runs,
    };
  } catch (err) {
    return { run: finish(), ...base, status: 'failed', note: `failed: ${firstLine(err)}`, orders, runs };
  } finally {
    await client?.stop();
    await fleet.stop();
  }
}

async function runScenario(
  fleet: BenchChild,
  client: BenchChild,
  settings: BalancingSettings,
  scenario: (typeof SCENARIOS)[number],
  delaysMs: number[],
  slow: number,
) {
  fleet.send({ cmd: 'delays', delaysMs });
  await fleet.next('delays-set', 10_000);
  const before = await counts(fleet);
  client.send({
    cmd: 'scenario',
    balancer: scenario.balancer,
    ratePerS: settings.ratePerS,
    warmupMs: settings.warmupMs,
    durationMs: settings.durationMs,
  });
  const { result } = await client.next('scenario-result', settings.warmupMs + settings.durationMs + 60_000);
  const after = await counts(fleet);
  const calls = after.map((n, i) => n - (before[i] ?? 0));
  const total = calls.reduce((a, b) => a + b, 0);
  return {
    status: result.requests > 0 ? ('ok' as const) : ('failed' as const),
    note: result.errors > 0 ? `${result.errors} errors, first: ${result.firstError}` : undefined,
    result,
    slowShare: scenario.slow && total > 0 ? calls[slow]! / total : undefined,
  };
}

async function counts(fleet: BenchChild): Promise<number[]> {
  fleet.send({ cmd: 'counts' });
  return (await fleet.next('counts', 10_000)).counts;
}
