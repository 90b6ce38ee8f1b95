import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type TransportKind } from '../src/app/connect.ts';
import { Server } from '../src/app/server.ts';
import { loadContract } from '../src/contract/index.ts';
import { StaticRegistry } from '../src/discovery/index.ts';
import { HubServer } from '../src/hub/server.ts';
import { memorySample, onCommand, report } from './child-io.ts';
import type { ClusterSpec, GovernanceSlice } from './cluster-protocol.ts';
import { type GreeterService, governanceClients } from './governance-clients.ts';
import { EXPECTED_MESSAGE, GREETER_PROTO, GREETER_SERVICE, greet, REQUEST_NAME } from './greeter.ts';
import { HubBenchClient } from './hub-client.ts';
import { runClosedLoop } from './load.ts';
import { runOpenLoop } from './open-loop.ts';

/**
 * The processes of the cluster parts: a fleet of Greeter servers, the clients that call it by
 * name (balancing, governance overhead), a hub, and the hub's registering and watching clients.
 * Every part uses the public API an application would: Server, connect(), HubServer.
 */

async function greeterService() {
  return (await loadContract(GREETER_PROTO)).service(GREETER_SERVICE);
}

function exitOnStop(close: () => Promise<unknown>): void {
  onCommand((command) => {
    if (command.cmd === 'stop') void close().finally(() => process.exit(0));
  });
}

/**
 * `count` Servers in this one process, each on `spec.transports` (native unless set). A delay is
 * a timer, not work, so the instances do not slow each other down, and one process leaves the
 * other core to the client.
 */
async function runFleet(spec: Extract<ClusterSpec, { role: 'fleet' }>): Promise<void> {
  const service = await greeterService();
  const kinds: TransportKind[] = spec.transports?.length ? spec.transports : ['native'];
  const listenOn = Object.fromEntries(kinds.map((kind) => [kind, { host: spec.host, port: 0 }]));
  let delays = [...spec.delaysMs];
  const counts = new Array<number>(spec.count).fill(0);
  const servers: Server[] = [];
  const ports: Partial<Record<TransportKind, number>>[] = [];
  for (let i = 0; i < spec.count; i++) {
    const server = new Server(listenOn).add<GreeterService>(service, {
      sayHello: (request) => {
        counts[i]!++;
        const delay = delays[i] ?? 0;
        const answer = { message: greet(request.name) };
        return delay > 0 ? sleep(delay).then(() => answer) : answer;
      },
    });
    const addresses = await server.listen();
    servers.push(server);
    ports.push(Object.fromEntries(kinds.map((kind) => [kind, addresses[kind]!.port])));
  }
  onCommand((command) => {
    if (command.cmd === 'delays') {
      delays = [...command.delaysMs];
      report({ type: 'delays-set' });
    } else if (command.cmd === 'counts') report({ type: 'counts', counts: [...counts] });
  });
  exitOnStop(() => Promise.all(servers.map((s) => s.close(0))));
  report({
    type: 'fleet-ready',
    ports: ports.map((p) => p[kinds[0]!]!),
    servers: ports,
    node: process.version,
  });
}

/** One client per scenario, fresh, so no balancer starts with what the previous one learned. */
async function runBalanceClient(spec: Extract<ClusterSpec, { role: 'balance-client' }>): Promise<void> {
  const service = await greeterService();
  const registry = new StaticRegistry([
    { service: GREETER_SERVICE, instances: spec.ports.map((port) => `native://${spec.host}:${port}`) },
  ]);
  onCommand((command) => {
    if (command.cmd !== 'scenario') return;
    void (async () => {
      const client = connect<GreeterService>(service, {
        registry,
        balancer: command.balancer,
        transports: ['native'],
      });
      try {
        const result = await runOpenLoop(
          () => client.sayHello({ name: REQUEST_NAME }).then((r) => r.message),
          { ratePerS: command.ratePerS, warmupMs: command.warmupMs, durationMs: command.durationMs },
          (message) => message === EXPECTED_MESSAGE,
        );
        report({ type: 'scenario-result', result, node: process.version });
      } finally {
        await client.close();
      }
    })().catch((err: unknown) => report({ type: 'error', message: String(err) }));
  });
  exitOnStop(() => registry.close());
  report({ type: 'warm' });
}

/**
 * The same server called directly (`connect({ target })`) and by name through the whole
 * governance chain (`connect({ registry })`: ClusterTransport, p2c_peak_ewma, retry budget,
 * outlier detection), in alternating slices of a closed loop, on each transport in turn (see
 * governance-clients.ts for HTTP). Both clients live in this process and both are warm, so a
 * slice compares the two paths under the same conditions of the moment.
 */
async function runGovernanceClient(spec: Extract<ClusterSpec, { role: 'governance-client' }>): Promise<void> {
  exitOnStop(async () => {});
  const service = await greeterService();
  // One instance with an endpoint per transport; each cluster client may use only its own.
  const endpoints = spec.transports.map((kind) => `${kind}://${spec.host}:${spec.ports[kind]}`);
  const registry = new StaticRegistry([{ service: GREETER_SERVICE, instances: [endpoints.join(' ')] }]);
  const slices: GovernanceSlice[] = [];
  const failures: { transport: TransportKind; message: string }[] = [];
  for (const transport of spec.transports) {
    try {
      const port = spec.ports[transport];
      if (port === undefined) throw new Error(`the server reported no ${transport} port`);
      slices.push(...(await measureTransport(spec, service, registry, transport, port)));
    } catch (err) {
      failures.push({ transport, message: err instanceof Error ? err.message : String(err) });
    }
  }
  report({ type: 'governance-result', slices, failures, node: process.version });
  await registry.close();
}

async function measureTransport(
  spec: Extract<ClusterSpec, { role: 'governance-client' }>,
  service: Awaited<ReturnType<typeof greeterService>>,
  registry: StaticRegistry,
  transport: TransportKind,
  port: number,
): Promise<GovernanceSlice[]> {
  const { httpConnections, host } = spec;
  const clients = governanceClients({ service, registry, transport, host, port, httpConnections });
  let completed = 0;
  const run = (client: 'direct' | 'cluster', warmupMs: number, durationMs: number) =>
    runClosedLoop(
      () =>
        clients[client].sayHello({ name: REQUEST_NAME }).then((r) => {
          completed++;
          return r.message;
        }),
      { concurrency: spec.concurrency, warmupMs, durationMs },
      (message) => message === EXPECTED_MESSAGE,
    );
  try {
    // Warm both paths (JIT, connections, the balancer's first sample) in short alternating
    // slices, so that the call sites both go through have seen both before anything is measured.
    for (let i = 0; i < 8; i++) await run(i % 2 ? 'cluster' : 'direct', 0, spec.warmupMs / 8);
    const slices: GovernanceSlice[] = [];
    for (let pair = 0; pair < spec.pairs; pair++) {
      const order = pair % 2 === 0 ? (['direct', 'cluster'] as const) : (['cluster', 'direct'] as const);
      for (const client of order) {
        const calls = completed;
        const cpu = process.cpuUsage();
        // A short ramp inside each slice: the loop's first calls all start at once.
        const result = await run(client, 100, spec.sliceMs);
        const used = process.cpuUsage(cpu);
        const cpuUsPerCall = (used.user + used.system) / (completed - calls);
        slices.push({ transport, client, pair, result, cpuUsPerCall });
      }
    }
    return slices;
  } finally {
    await clients.close();
  }
}

async function runHub(spec: Extract<ClusterSpec, { role: 'hub' }>): Promise<void> {
  const hub = new HubServer({ host: spec.host, port: 0 });
  const address = await hub.listen();
  onCommand((command) => {
    if (command.cmd === 'memory') void memorySample().then((sample) => report({ type: 'memory', sample }));
    else if (command.cmd === 'hub-stats') report({ type: 'hub-stats', stats: hub.stats() });
  });
  exitOnStop(() => hub.close());
  report({ type: 'ready', port: address.port, node: process.version });
}

async function runHubClient(spec: Extract<ClusterSpec, { role: 'hub-client' }>): Promise<void> {
  const client = new HubBenchClient(spec.url);
  const answer = (work: () => Promise<void>) =>
    void work().catch((err: unknown) =>
      report({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  onCommand((command) => {
    switch (command.cmd) {
      case 'register':
        return answer(async () => report({ type: 'registered', ...(await client.register(command)) }));
      case 'watch':
        return answer(async () => report({ type: 'watching', ...(await client.watch(command.services)) }));
      case 'unwatch':
        client.unwatch();
        return report({ type: 'unwatched' });
      case 'change':
        return answer(async () => report({ type: 'changed', ...(await client.change(command)) }));
      case 'arrivals':
        return answer(async () =>
          report({
            type: 'arrivals',
            ...(await client.arrivals(command.service, command.index, command.timeoutMs)),
          }),
        );
    }
  });
  // Leases are left to expire with the hub: deregistering 10,000 of them would only slow the stop.
  exitOnStop(async () => client.unwatch());
  report({ type: 'warm' });
}

export function runClusterChild(spec: ClusterSpec): Promise<void> {
  switch (spec.role) {
    case 'fleet':
      return runFleet(spec);
    case 'balance-client':
      return runBalanceClient(spec);
    case 'governance-client':
      return runGovernanceClient(spec);
    case 'hub':
      return runHub(spec);
    case 'hub-client':
      return runHubClient(spec);
  }
}
