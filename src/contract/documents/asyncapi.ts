/**
 * An AsyncAPI 3.0 document of a contract's topics: a channel per topic, its event messages
 * (payload: the JSON Schema of the message's canonical JSON), the headers Switchboard writes
 * (CloudEvents binary mode, W3C trace context, the deadline), and a send and a receive
 * operation per channel. Pure: no I/O.
 */
import protobuf from 'protobufjs';
import { Contract } from '../contract.ts';
import type { MessageType } from '../descriptors.ts';
import { TOPIC_OPTION } from '../topics.ts';
import { fullNameOf, reflectionOf, SchemaCollector } from './json-schema.ts';
import type { JsonSchema } from './schema-types.ts';

/** An event message and the topic it is published to. */
export interface TopicBinding {
  readonly topic: string;
  readonly message: MessageType | protobuf.Type;
}

export interface AsyncApiOptions {
  title: string;
  version: string;
  description?: string;
  /** AsyncAPI servers by name: `{ hub: { host: '127.0.0.1:7071', protocol: 'switchboard' } }`. */
  servers?: Record<string, { host: string; protocol: string; description?: string }>;
}

export interface AsyncApiDocument {
  asyncapi: '3.0.0';
  info: { title: string; version: string; description?: string };
  servers?: Record<string, JsonSchema>;
  channels: Record<string, JsonSchema>;
  operations: Record<string, JsonSchema>;
  components: { schemas: Record<string, JsonSchema>; messages: Record<string, JsonSchema> };
}

/**
 * Header names as src/app/messaging writes them (headers.ts, cloudevents.ts, the trace
 * context of core/client.ts); the contract layer cannot import them, a test keeps them equal.
 */
export const EVENT_HEADERS = {
  specversion: 'ce-specversion',
  id: 'ce-id',
  source: 'ce-source',
  type: 'ce-type',
  time: 'ce-time',
  subject: 'ce-subject',
  contentType: 'content-type',
  traceparent: 'traceparent',
  tracestate: 'tracestate',
  baggage: 'baggage',
  deadline: 'x-switchboard-deadline',
} as const;

const SCHEMAS = '#/components/schemas/';

/** Every message of the contract (or protobufjs root) bound to a topic by `option (switchboard.messaging.v1.topic)`. */
export function contractTopics(contract: Contract | protobuf.Root): TopicBinding[] {
  const root = contract instanceof Contract ? contract.root : contract;
  const out: TopicBinding[] = [];
  const visit = (ns: protobuf.NamespaceBase) => {
    for (const nested of ns.nestedArray) {
      if (nested instanceof protobuf.Type) {
        const topic = nested.options?.[TOPIC_OPTION];
        if (topic !== undefined) {
          if (typeof topic !== 'string' || topic.trim() === '') {
            throw new Error(`${fullNameOf(nested)}: option ${TOPIC_OPTION} must be a non-empty string`);
          }
          out.push({ topic, message: nested });
        }
      }
      if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) visit(nested);
    }
  };
  visit(root);
  return out;
}

export function asyncApiDocument(
  topics: Contract | readonly TopicBinding[],
  options: AsyncApiOptions,
): AsyncApiDocument {
  const bindings = topics instanceof Contract ? contractTopics(topics) : topics;
  const collector = new SchemaCollector(SCHEMAS);
  const channels: AsyncApiDocument['channels'] = {};
  const operations: AsyncApiDocument['operations'] = {};
  const messages: AsyncApiDocument['components']['messages'] = {};
  const byTopic = new Map<string, protobuf.Type[]>();
  for (const { topic, message } of bindings) {
    const type = message instanceof protobuf.Type ? message : reflectionOf(message);
    const list = byTopic.get(topic) ?? [];
    if (!list.includes(type)) list.push(type);
    byTopic.set(topic, list);
  }
  for (const [topic, types] of byTopic) {
    const channelId = componentKey(topic);
    const channelMessages: JsonSchema = {};
    for (const type of types) {
      const messageId = componentKey(fullNameOf(type));
      messages[messageId] ??= eventMessage(type, collector);
      channelMessages[messageId] = { $ref: `#/components/messages/${messageId}` };
    }
    channels[channelId] = {
      address: topic,
      title: topic,
      description: `Events of ${types.map(fullNameOf).join(', ')}.`,
      messages: channelMessages,
    };
    const refs = Object.keys(channelMessages).map((id) => ({
      $ref: `#/channels/${channelId}/messages/${id}`,
    }));
    operations[`${channelId}.publish`] = {
      action: 'send',
      channel: { $ref: `#/channels/${channelId}` },
      summary: `Publish to ${topic} (EventBus.publish).`,
      messages: refs,
    };
    operations[`${channelId}.subscribe`] = {
      action: 'receive',
      channel: { $ref: `#/channels/${channelId}` },
      summary: `Consume ${topic} in a consumer group (EventBus.subscribe); failures are retried, then dead-lettered to ${topic}.dlq.`,
      messages: refs,
    };
  }
  const document: AsyncApiDocument = {
    asyncapi: '3.0.0',
    info: { title: options.title, version: options.version },
    channels,
    operations,
    components: { schemas: collector.definitions, messages },
  };
  if (options.description !== undefined) document.info.description = options.description;
  if (options.servers) document.servers = { ...options.servers };
  return document;
}

function eventMessage(type: protobuf.Type, collector: SchemaCollector): JsonSchema {
  const name = fullNameOf(type);
  const message: JsonSchema = {
    name,
    title: name,
    summary: `A ${name} event, a CloudEvent whose type is "${name}".`,
    description:
      'Binary content mode: the CloudEvents attributes are ce- headers and the data is the payload, protobuf (application/protobuf, the default) or the canonical JSON this payload schema describes (application/json). In structured mode the message is one application/cloudevents+json document whose "data" is that JSON.',
    contentType: 'application/json',
    headers: eventHeaders(name),
    payload: collector.messageRef(type),
  };
  if (type.comment) message.description = `${type.comment}\n\n${message.description}`;
  return message;
}

function eventHeaders(typeName: string): JsonSchema {
  const h = EVENT_HEADERS;
  return {
    type: 'object',
    properties: {
      [h.specversion]: { type: 'string', const: '1.0', description: 'CloudEvents version (binary mode).' },
      [h.id]: { type: 'string', description: 'The message id: unique per source, the dedupe key.' },
      [h.source]: { type: 'string', description: 'The producer: /switchboard/<hostname> unless set.' },
      [h.type]: { type: 'string', const: typeName, description: "The event message's full name." },
      [h.time]: { type: 'string', format: 'date-time' },
      [h.subject]: { type: 'string' },
      [h.contentType]: {
        type: 'string',
        enum: ['application/protobuf', 'application/json', 'application/cloudevents+json'],
        description: "The data's media type; application/cloudevents+json in structured mode.",
      },
      [h.traceparent]: {
        type: 'string',
        pattern: '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$',
        description: 'W3C trace context of the publishing call.',
      },
      [h.tracestate]: { type: 'string' },
      [h.baggage]: { type: 'string' },
      [h.deadline]: {
        type: 'string',
        pattern: '^[0-9]+$',
        description:
          'Absolute deadline, epoch milliseconds: a message read after it is dead-lettered, not run.',
      },
    },
  };
}

/** AsyncAPI component and channel keys allow letters, digits, ".", "-" and "_". */
function componentKey(name: string): string {
  return name.replace(/[^\w.-]/g, '_');
}
