/**
 * `serveCommands(server, broker)`: the services of a server (or a bare ServiceHost) also take
 * their unary methods as commands from the broker, one subscription per service's command
 * topic, every call dispatched through the same host as network calls.
 */
import type { ServiceDescriptor } from '../../contract/descriptors.ts';
import { ServiceHost } from '../../core/host.ts';
import type { Broker, SubscribeOptions, Subscription } from '../../messaging/broker.ts';
import { ReplySender } from './command-reply.ts';
import { CommandRunner } from './command-runner.ts';
import { commandTopic } from './command-topic.ts';
import { type IdempotencyStore, MemoryIdempotencyStore } from './idempotency-store.ts';
import { resolveEnvelope } from './outgoing.ts';

export interface ServeCommandsOptions extends Partial<Omit<SubscribeOptions, 'group'>> {
  /** The consumer group: every instance of a service shares its commands. The service's full name unless set. */
  group?: string;
  /** Which services take commands: every one the host serves but grpc.* (health, reflection) unless set. */
  services?: readonly ServiceDescriptor[];
  /** The topic of a service's commands; `<package.Service>.commands` unless set. */
  topic?: (service: ServiceDescriptor) => string;
  /** Where completed commands are remembered. An in-memory LRU (10,000 keys, 1 hour) unless set. */
  store?: IdempotencyStore;
  /** Deadline of a command that carries none or a later one, from when it starts. 30 s. */
  handlerTimeoutMs?: number;
  /** How long a duplicate waits while the first delivery of its key runs. 1 s. */
  duplicateDelayMs?: number;
  /** CloudEvents source of replies. `/switchboard/<hostname>` unless set. */
  source?: string;
}

export interface CommandServer {
  /** Stops taking commands; running ones finish (within the broker's drain bound). */
  close(): Promise<void>;
}

/** The default delivery attempts of SubscribeOptions: the runner must know when one is the last. */
const DEFAULT_MAX_ATTEMPTS = 5;

export async function serveCommands(
  target: ServiceHost | { readonly host: ServiceHost },
  broker: Broker,
  options: ServeCommandsOptions = {},
): Promise<CommandServer> {
  const host = target instanceof ServiceHost ? target : target.host;
  const {
    group,
    services = host.services.filter((s) => !s.fullName.startsWith('grpc.')),
    topic = commandTopic,
    store = new MemoryIdempotencyStore(),
    handlerTimeoutMs = 30_000,
    duplicateDelayMs = 1000,
    source,
    ...subscribe
  } = options;
  const maxAttempts = subscribe.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const replies = new ReplySender(broker, resolveEnvelope({ source }).source);
  if (services.length === 0)
    throw new Error('serveCommands: the host serves no service to take commands for');
  const served = new Set(host.services.map((s) => s.fullName));
  for (const service of services) {
    if (!served.has(service.fullName)) throw new Error(`${service.fullName} is not served by this host`);
  }
  const subscriptions: Subscription[] = [];
  try {
    for (const service of services) {
      const name = topic(service);
      const runner = new CommandRunner({
        host,
        service,
        group: group ?? service.fullName,
        store,
        replies,
        maxAttempts,
        handlerTimeoutMs,
        duplicateDelayMs,
        peer: `${broker.kind}:${name}`,
      });
      const handle = (delivery: Parameters<CommandRunner['handle']>[0]) => runner.handle(delivery);
      subscriptions.push(
        await broker.subscribe(name, handle, { ...subscribe, maxAttempts, group: group ?? service.fullName }),
      );
    }
  } catch (err) {
    await Promise.allSettled(subscriptions.map((s) => s.close()));
    throw err;
  }
  return { close: async () => void (await Promise.all(subscriptions.map((s) => s.close()))) };
}
