/**
 * A hub and Greeter servers in this process, registered with it as a Switchboard service
 * registers: what `switchboard ls` and `call --hub` are tested against.
 */
import { GREETER_PROTO, type GreeterService, greeter } from '../../examples/greeter/greeter.ts';
import { Server } from '../../src/app/index.ts';
import { loadContract } from '../../src/contract/index.ts';
import { HubRegistry } from '../../src/discovery/index.ts';
import { HubServer } from '../../src/hub/server.ts';

export interface GreeterInstance {
  server: Server;
  /** The id it registered under. */
  id: string;
  /** Calls it served, by transport ("grpc", "native", "http"). */
  served: Record<string, number>;
}

export interface GreeterCluster {
  hubUrl: string;
  greeters: GreeterInstance[];
  close(): Promise<void>;
}

export async function startGreeterCluster(count: number): Promise<GreeterCluster> {
  const hub = new HubServer({ port: 0 });
  const { port } = await hub.listen();
  const hubUrl = `http://127.0.0.1:${port}`;
  const service = (await loadContract(GREETER_PROTO)).service('greet.Greeter');
  const registries: HubRegistry[] = [];
  const greeters: GreeterInstance[] = [];
  for (let i = 0; i < count; i++) {
    const served: Record<string, number> = {};
    const server = new Server({
      grpc: { port: 0 },
      http: { port: 0 },
      native: { port: 0 },
    }).add<GreeterService>(service, {
      // The example's implementation, counting who served each call.
      sayHello(req, ctx) {
        served[ctx.transport] = (served[ctx.transport] ?? 0) + 1;
        return greeter.sayHello!(req, ctx);
      },
    });
    await server.listen();
    const registry = new HubRegistry({ url: hubUrl });
    registries.push(registry);
    await server.register({
      registry,
      version: '1.2.0',
      zone: `zone-${i}`,
      metadata: { team: 'greeters' },
      deregisterDelayMs: 0,
    });
    greeters.push({ server, id: server.leases[0]?.instance.id ?? '', served });
  }
  return {
    hubUrl,
    greeters,
    async close() {
      await Promise.all(greeters.map((g) => g.server.close(0)));
      await Promise.all(registries.map((r) => r.close()));
      await hub.close();
    },
  };
}
