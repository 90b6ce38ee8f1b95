/**
 * The brokers the messaging part measures, and how each side of a comparison reaches them: the
 * Switchboard adapter (through SwitchboardDriver) and the broker's own client used directly
 * (bench/messaging/bare-*.ts). Drivers are imported when made, so a process loads one client
 * library only. To add a bare driver: one line in BARE.
 */
import type { Broker } from '../../src/messaging/broker.ts';
import type { MessagingDriver } from './driver.ts';
import { DEFAULT_MAX_IN_FLIGHT, SwitchboardDriver } from './switchboard-driver.ts';

export type TargetId = 'nats' | 'redis' | 'rabbitmq' | 'kafka' | 'embedded';
export type Side = 'switchboard' | 'bare';

export interface TargetInfo {
  id: TargetId;
  label: string;
  /** Where its server is (the Kafka mock's address is known only once it runs). */
  server: string;
  /** The embedded broker has no bare client: it is compared with the others' bare clients. */
  sides: readonly Side[];
  /** RabbitMQ keeps messages only for queues that exist: join each group before publishing. */
  joinGroupsFirst: boolean;
  /**
   * At most this many messages per phase: the Kafka mock keeps only 5 MiB per partition and
   * drops older records, so a larger phase would never be consumed whole.
   */
  maxMessages?: number;
}

export const NATS_SERVER = '127.0.0.1:4222';
export const REDIS_URL = 'redis://127.0.0.1:6379';
export const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';

export const TARGETS: readonly TargetInfo[] = [
  {
    id: 'nats',
    label: 'NATS JetStream (file storage)',
    server: NATS_SERVER,
    sides: ['switchboard', 'bare'],
    joinGroupsFirst: false,
  },
  {
    id: 'redis',
    label: 'Redis Streams',
    server: REDIS_URL.slice('redis://'.length),
    sides: ['switchboard', 'bare'],
    joinGroupsFirst: false,
  },
  {
    id: 'rabbitmq',
    label: 'RabbitMQ (quorum queues, publisher confirms)',
    server: '127.0.0.1:5672',
    sides: ['switchboard', 'bare'],
    joinGroupsFirst: true,
  },
  {
    id: 'kafka',
    label:
      'Kafka (kcat mock cluster, 1 broker; 8,000 messages per phase, as the mock keeps only 5 MiB per partition)',
    server: 'a fresh kcat mock cluster (librdkafka, in memory) of 1 broker per run',
    sides: ['switchboard', 'bare'],
    joinGroupsFirst: false,
    maxMessages: 8_000,
  },
  {
    id: 'embedded',
    label: 'Embedded broker (hub process, group commit)',
    server: 'a HubServer child process',
    sides: ['switchboard'],
    joinGroupsFirst: false,
  },
];

export const TARGET_IDS: readonly TargetId[] = TARGETS.map((t) => t.id);

export function targetInfo(id: TargetId): TargetInfo {
  const info = TARGETS.find((t) => t.id === id);
  if (!info) throw new Error(`unknown messaging target ${id}`);
  return info;
}

/** What the drivers of a run connect to, found by the harness. */
export interface Endpoints {
  /** The Kafka mock cluster's bootstrap servers. */
  kafka?: string[];
  /** The hub's HTTP address (embedded). */
  hubUrl?: string;
}

/** Unsettled deliveries a consumer may hold, the same on both sides of every comparison. */
export const CONSUMER_WINDOW = DEFAULT_MAX_IN_FLIGHT;

type DriverFactory = (endpoints: Endpoints) => Promise<MessagingDriver>;

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`no ${what} given to the benchmark process`);
  return value;
}

function switchboard(target: TargetId, broker: Broker): MessagingDriver {
  return new SwitchboardDriver(broker, { name: `switchboard ${target}`, maxInFlight: CONSUMER_WINDOW });
}

const SWITCHBOARD: Record<TargetId, DriverFactory> = {
  nats: async () => {
    const { NatsBroker } = await import('../../src/messaging/nats/index.ts');
    return switchboard('nats', await NatsBroker.connect({ servers: NATS_SERVER, storage: 'file' }));
  },
  redis: async () => {
    const { RedisBroker } = await import('../../src/messaging/redis/index.ts');
    return switchboard('redis', await RedisBroker.connect({ url: REDIS_URL }));
  },
  rabbitmq: async () => {
    const { RabbitBroker } = await import('../../src/messaging/rabbitmq/index.ts');
    return switchboard('rabbitmq', await RabbitBroker.connect({ url: AMQP_URL }));
  },
  kafka: async (endpoints) => {
    const { KafkaBroker } = await import('../../src/messaging/kafka/index.ts');
    return switchboard(
      'kafka',
      await KafkaBroker.connect({ brokers: need(endpoints.kafka, 'Kafka bootstrap') }),
    );
  },
  embedded: async (endpoints) => {
    const { HubBroker } = await import('../../src/app/brokers/hub-broker.ts');
    return switchboard('embedded', await HubBroker.fromHub(need(endpoints.hubUrl, 'hub URL')));
  },
};

/** The bare clients, one line each; a target missing here has its bare side skipped. */
const BARE: Partial<Record<TargetId, DriverFactory>> = {
  nats: async () =>
    (await import('./bare-nats.ts')).BareNatsDriver.connect({
      servers: NATS_SERVER,
      maxAckPending: CONSUMER_WINDOW,
    }),
  rabbitmq: async () =>
    (await import('./bare-rabbitmq.ts')).BareRabbitDriver.connect({
      url: AMQP_URL,
      prefetch: CONSUMER_WINDOW,
    }),
  redis: async () =>
    (await import('./bare-redis.ts')).BareRedisDriver.connect({ url: REDIS_URL, count: CONSUMER_WINDOW }),
  kafka: async (endpoints) =>
    (await import('./bare-kafka.ts')).BareKafkaDriver.connect({
      brokers: need(endpoints.kafka, 'Kafka bootstrap'),
    }),
};

/** Why a side cannot run at all (no driver for it), or undefined. */
export function sideMissing(target: TargetId, side: Side): string | undefined {
  if (!targetInfo(target).sides.includes(side)) return `${target} has no ${side} side`;
  if (side === 'bare' && !BARE[target])
    return `no bare ${target} driver yet (bench/messaging/bare-${target}.ts)`;
  return undefined;
}

export function connectDriver(target: TargetId, side: Side, endpoints: Endpoints): Promise<MessagingDriver> {
  const missing = sideMissing(target, side);
  if (missing) throw new Error(missing);
  const factory = side === 'switchboard' ? SWITCHBOARD[target] : BARE[target]!;
  return factory(endpoints);
}
