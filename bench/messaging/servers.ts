/**
 * The harness's dealings with the brokers themselves: is a target's server there, what about it
 * the report should say (Redis's persistence), and removing what a run left on it. A run's
 * topics and groups carry its token, so what it left is found by name on the servers that can
 * list (NATS streams, Redis keys, whatever prefix each side adds); on RabbitMQ, which cannot over
 * AMQP, by the names the adapter declares (exchange `<topic>`, queue `<topic>><group>`); the bare
 * RabbitMQ driver removes its own in its cleanup().
 */
import { kcatInstalled } from '../../test/support/kafka-mock.ts';
import { portOpen } from '../../test/support/services.ts';
import { firstLine } from '../throughput.ts';
import { AMQP_URL, NATS_SERVER, REDIS_URL, type TargetId } from './targets.ts';
import type { WorkloadNames } from './workload.ts';

/** Why the target cannot be measured, or undefined when its server is there. */
export async function serverMissing(target: TargetId): Promise<string | undefined> {
  const port = { nats: 4222, redis: 6379, rabbitmq: 5672 } as const;
  if (target === 'embedded') return undefined;
  if (target === 'kafka')
    return (await kcatInstalled()) ? undefined : 'kcat is not installed (the Kafka mock cluster)';
  return (await portOpen('127.0.0.1', port[target], 2000))
    ? undefined
    : `nothing listens on 127.0.0.1:${port[target]} (bash scripts/services.sh starts it)`;
}

/** What the report should say about a server's setup, when it matters to the comparison. */
export async function serverNote(target: TargetId): Promise<string | undefined> {
  if (target !== 'redis') return undefined;
  const { Redis } = await import('ioredis');
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const [, appendonly] = (await redis.config('GET', 'appendonly')) as string[];
    const [, appendfsync] = (await redis.config('GET', 'appendfsync')) as string[];
    return appendonly === 'yes'
      ? `Redis with appendonly yes, appendfsync ${appendfsync}`
      : 'Redis with appendonly no: an acknowledged message is in memory only';
  } catch (err) {
    return `Redis persistence unknown: ${firstLine(err)}`;
  } finally {
    redis.disconnect();
  }
}

async function sweepNats(marker: string): Promise<number> {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: NATS_SERVER, timeout: 5000 });
  try {
    const jsm = await jetstreamManager(nc);
    const doomed: string[] = [];
    for await (const name of jsm.streams.names()) if (name.includes(marker)) doomed.push(name);
    for (const name of doomed) await jsm.streams.delete(name);
    return doomed.length;
  } finally {
    await nc.close();
  }
}

async function sweepRedis(marker: string): Promise<number> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let removed = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `*${marker}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) removed += await redis.unlink(...keys);
    } while (cursor !== '0');
    return removed;
  } finally {
    redis.disconnect();
  }
}

async function sweepRabbit(names: WorkloadNames): Promise<number> {
  const { connect } = await import('amqplib');
  const connection = await connect(AMQP_URL);
  let removed = 0;
  try {
    // A failed delete closes its channel: one channel per name.
    const attempt = async (
      work: (channel: Awaited<ReturnType<typeof connection.createChannel>>) => Promise<unknown>,
    ) => {
      const channel = await connection.createChannel();
      channel.on('error', () => {});
      try {
        await work(channel);
        removed++;
        await channel.close();
      } catch {
        // Not there: nothing to remove.
      }
    };
    for (const topic of Object.values(names.topics)) {
      for (const group of Object.values(names.groups))
        await attempt((channel) => channel.deleteQueue(`${topic}>${group}`));
      await attempt((channel) => channel.deleteExchange(topic));
    }
    return removed;
  } finally {
    await connection.close();
  }
}

/**
 * Removes what a run left on the target's server: everything named with `token` where the
 * server can list, else the adapter's names for `names`.
 */
export async function sweep(target: TargetId, token: string, names: WorkloadNames): Promise<number> {
  switch (target) {
    case 'nats':
      return sweepNats(token);
    case 'redis':
      return sweepRedis(token);
    case 'rabbitmq':
      return sweepRabbit(names);
    default:
      // The Kafka mock and the hub's temporary directory go away whole.
      return 0;
  }
}
