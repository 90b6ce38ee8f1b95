import type { Broker } from '../../messaging/broker.ts';
import { DEFAULT_HUB_BROKER_PORT } from '../../services/broker/contract.ts';
import type { TlsClientOptions } from '../connect.ts';
import { HubBroker } from './hub-broker.ts';

export interface OpenBrokerOptions {
  /**
   * How long to wait for a broker that does not answer: to learn where a hub's broker listens,
   * to have a publish accepted, to join a group. 10 s unless set.
   */
  timeoutMs?: number;
  /** The hub's token (docs/security.md#hub-access), for hub URLs: `$SWITCHBOARD_TOKEN` unless set. */
  token?: string;
  /** TLS to a hub (https:// and hub:// URLs): a CA to trust, a client certificate (mTLS). */
  tls?: TlsClientOptions;
}

/**
 * Opens the broker a URL names, given the URL as written (its scheme matched the entry).
 * Unparsed, because not every broker URL is a WHATWG URL (kafka://h1:9092,h2:9092).
 */
export type BrokerOpener = (url: string, options: OpenBrokerOptions) => Promise<Broker>;

const DEFAULT_TIMEOUT_MS = 10_000;

/** The hub's HTTP address: it says where its broker port is (GET /api/v1/broker). */
const openHubByHttp: BrokerOpener = async (text, options) => {
  const url = parseBrokerUrl(text);
  return HubBroker.fromHub(url.pathname === '/' && !url.search ? url.origin : url.href, {
    publishTimeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    token: options.token,
    tls: options.tls,
  });
};

/** hub://host:port: the hub's broker port itself (native transport), no HTTP round trip. */
const openHubPort: BrokerOpener = async (text, options) => {
  const url = parseBrokerUrl(text);
  if (!url.hostname) throw new TypeError(`broker URL ${url.href}: expected hub://host:port`);
  if (url.pathname !== '' && url.pathname !== '/') {
    throw new TypeError(`broker URL ${url.href}: a hub:// URL has no path`);
  }
  return new HubBroker({
    target: `${url.hostname}:${url.port || DEFAULT_HUB_BROKER_PORT}`,
    publishTimeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    token: options.token,
    tls: options.tls,
  });
};

/**
 * nats://host:4222 (or several, comma-separated: nats://h1:4222,h2:4222): NATS JetStream,
 * file storage. Credentials in the URL are passed to the client.
 */
const openNats: BrokerOpener = async (text, options) => {
  const { NatsBroker } = await import('../../messaging/nats/index.ts');
  return NatsBroker.connect({
    servers: serverList(text),
    publishTimeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  });
};

/** amqp://user:pass@host:5672/vhost (or amqps://): RabbitMQ, quorum queues. */
const openRabbit: BrokerOpener = async (url, options) => {
  const { RabbitBroker } = await import('../../messaging/rabbitmq/index.ts');
  return RabbitBroker.connect({ url, publishTimeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS });
};

/** redis://[:password@]host:6379[/db] (or rediss://): Redis Streams. */
const openRedis: BrokerOpener = async (url, options) => {
  const { RedisBroker } = await import('../../messaging/redis/index.ts');
  return RedisBroker.connect({ url, publishTimeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS });
};

/** kafka://host:9092 (or several: kafka://h1:9092,h2:9092): Kafka, consumer groups, commit after processing. */
const openKafka: BrokerOpener = async (url) => {
  const { KafkaBroker } = await import('../../messaging/kafka/index.ts');
  return KafkaBroker.connect({
    brokers: serverList(url).map((server) => server.replace(/^kafka:\/\//i, '')),
  });
};

/**
 * scheme://a,b,c → ['scheme://a', 'scheme://b', 'scheme://c']: the several-servers form NATS,
 * Kafka and Redis Sentinel users write, which is not one WHATWG URL.
 */
export function serverList(url: string): string[] {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/i.exec(url);
  if (!match || match[2] === '')
    throw new TypeError(`broker URL ${JSON.stringify(redacted(url))} names no server`);
  const [, scheme, hosts, rest] = match as unknown as [string, string, string, string];
  return hosts.split(',').map((host) => `${scheme}${host}${rest}`);
}

/**
 * URL scheme (without the colon) → how to open that broker. Each adapter adds one entry here,
 * importing its module inside the opener so that a program pays only for the client it uses.
 */
const OPENERS: Readonly<Record<string, BrokerOpener>> = {
  http: openHubByHttp,
  https: openHubByHttp,
  hub: openHubPort,
  nats: openNats,
  amqp: openRabbit,
  amqps: openRabbit,
  redis: openRedis,
  rediss: openRedis,
  kafka: openKafka,
};

/** The schemes openBroker() takes, as "http://", for messages and --help. */
export function brokerSchemes(): string[] {
  return Object.keys(OPENERS).map((scheme) => `${scheme}://`);
}

/**
 * The broker a URL names: `http://` or `https://` is a hub's HTTP address (the broker port is
 * asked from it), `hub://host:port` is a hub's broker port directly (7071 unless given).
 * A malformed URL or an unknown scheme rejects with a TypeError; a broker that cannot be
 * reached rejects with an Error saying where and why (or, for brokers reached lazily, the
 * first publish or subscribe does).
 */
export async function openBroker(url: string, options: OpenBrokerOptions = {}): Promise<Broker> {
  // "localhost:7070" is not taken for a URL of scheme "localhost:".
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  const opener = scheme !== undefined && Object.hasOwn(OPENERS, scheme) ? OPENERS[scheme] : undefined;
  if (!opener) {
    const expected = `expected a URL starting with ${brokerSchemes().join(', ')}`;
    const what = scheme === undefined ? expected : `unsupported scheme ${scheme}:// (${expected})`;
    throw new TypeError(`broker URL ${JSON.stringify(redacted(url))}: ${what}`);
  }
  return opener(url, options);
}

/** `url` as a WHATWG URL, for the openers whose URLs are ones; a TypeError if it is not. */
export function parseBrokerUrl(url: string): URL {
  try {
    return new URL(url);
  } catch {
    throw new TypeError(`broker URL ${JSON.stringify(redacted(url))} is not a valid URL`);
  }
}

/**
 * The URL without its password, for messages: amqp://user:secret@host → amqp://user:***@host.
 * By pattern, as not every broker URL parses (kafka://user:pw@h1:9092,h2:9092).
 */
export function redacted(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*:)[^/?#@]*@/i, '$1***@');
}
