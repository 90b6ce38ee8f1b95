/**
 * Any unary method of a service, invoked as an asynchronous command through a broker:
 * `await commands.sayHello({ name }, { idempotencyKey })` resolves once the broker has the
 * command, not once it ran; `await commands.sayHello.request({ name }, { timeoutMs })` waits
 * for the typed response (or the StatusError) sent back to this client's reply topic.
 */
import { randomUUID } from 'node:crypto';
import type { MethodDescriptor, ServiceDescriptor } from '../../contract/descriptors.ts';
import { Metadata, type MetadataInit } from '../../contract/metadata.ts';
import { currentCall } from '../../core/context.ts';
import { DEFAULT_DEADLINE_MS, earliest } from '../../core/deadline.ts';
import type {
  Message,
  MessageInit,
  ServiceTypes,
  UnaryMethod,
  UntypedMethod,
  UntypedService,
} from '../../core/types.ts';
import type { Broker, PublishReceipt } from '../../messaging/broker.ts';
import { commandTopic, commandType, replyTopic } from './command-topic.ts';
import { CORRELATION_ID_HEADER, IDEMPOTENCY_KEY_HEADER, REPLY_TO_HEADER } from './headers.ts';
import { buildMessage, type EnvelopeOptions, type ResolvedEnvelope, resolveEnvelope } from './outgoing.ts';
import { type PropagationParent, propagationHeaders } from './propagation.ts';
import { ReplyInbox } from './reply-inbox.ts';

export interface CommandClientOptions extends EnvelopeOptions {
  /** `<package.Service>.commands` unless set. */
  topic?: string;
  /** Where replies to this client's requests go: `<package.Service>.replies.<random>` unless set. */
  replyTopic?: string;
  /** Deadline of requests that set none. 30 s. */
  defaultTimeoutMs?: number;
  /** Sent with every command as headers (string values; `-bin` keys are left out). */
  metadata?: MetadataInit;
  /**
   * Whether a fire-and-forget command sent on behalf of a call carries its deadline (see
   * EventBusOptions). Off unless true; requests always carry theirs.
   */
  inheritDeadline?: boolean;
}

export interface SendCommandOptions {
  /** The command runs once per key: it is the message id, so the broker drops a duplicate too. */
  idempotencyKey?: string;
  /** Commands of one key are handled in order. */
  key?: string;
  subject?: string;
  metadata?: MetadataInit;
  /** The call this command is sent on behalf of; the current handler's unless set; `null`: none. */
  parent?: PropagationParent | null;
  /** Absolute deadline, epoch ms: a command read after it is dead-lettered. `Infinity`: none. */
  deadline?: number;
  /** Relative deadline, when `deadline` is not set. */
  timeoutMs?: number;
}

export interface RequestCommandOptions extends SendCommandOptions {
  signal?: AbortSignal;
}

export interface CommandMethod<I, O> {
  (request: MessageInit<I>, options?: SendCommandOptions): Promise<PublishReceipt>;
  request(request: MessageInit<I>, options?: RequestCommandOptions): Promise<O>;
}

type CommandOf<M> =
  M extends UnaryMethod<infer I, infer O>
    ? CommandMethod<I, O>
    : M extends UntypedMethod
      ? CommandMethod<Message, Message>
      : never;

type UnaryKeys<S> = {
  [K in keyof S]: S[K] extends UnaryMethod<unknown, unknown> | UntypedMethod ? K : never;
}[keyof S];

/** One command function per unary method, under its local and its proto name. */
export type CommandClient<S extends ServiceTypes> = { [K in UnaryKeys<S>]: CommandOf<S[K]> } & {
  readonly replyTopic: string;
  /** Requests waiting for their reply. */
  readonly pendingRequests: number;
  /** Fails the requests still waiting with CANCELLED and leaves the reply topic. */
  close(): Promise<void>;
};

export function commandClient<S extends ServiceTypes = UntypedService>(
  service: ServiceDescriptor,
  broker: Broker,
  options: CommandClientOptions = {},
): CommandClient<S> {
  const sender = new CommandSender(service, broker, options);
  const client: Record<string, unknown> = {};
  for (const method of service.methods) {
    if (method.kind !== 'unary') continue;
    const fn = (request: unknown, opts?: SendCommandOptions) => sender.send(method, request, opts);
    fn.request = (request: unknown, opts?: RequestCommandOptions) => sender.request(method, request, opts);
    client[method.localName] = fn;
    client[method.name] = fn;
  }
  Object.defineProperties(client, {
    replyTopic: { value: sender.inbox.topic, enumerable: false },
    pendingRequests: { get: () => sender.inbox.pending, enumerable: false },
    close: { value: () => sender.inbox.close(), enumerable: false },
  });
  return client as CommandClient<S>;
}

class CommandSender {
  readonly inbox: ReplyInbox;
  readonly #broker: Broker;
  readonly #topic: string;
  readonly #envelope: ResolvedEnvelope;
  readonly #metadata: Metadata | undefined;
  readonly #defaultTimeoutMs: number;
  readonly #inheritDeadline: boolean;

  constructor(service: ServiceDescriptor, broker: Broker, options: CommandClientOptions) {
    this.#broker = broker;
    this.#topic = options.topic ?? commandTopic(service);
    this.#envelope = resolveEnvelope(options);
    this.#metadata = options.metadata ? new Metadata(options.metadata) : undefined;
    this.#defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_DEADLINE_MS;
    this.#inheritDeadline = options.inheritDeadline === true;
    this.inbox = new ReplyInbox(broker, options.replyTopic ?? replyTopic(service));
  }

  async send(
    method: MethodDescriptor,
    request: unknown,
    options: SendCommandOptions = {},
  ): Promise<PublishReceipt> {
    const parent = parentOf(options);
    const deadline =
      options.deadline ??
      (options.timeoutMs !== undefined
        ? Date.now() + options.timeoutMs
        : this.#inheritDeadline
          ? parent?.deadline
          : undefined);
    const headers = propagationHeaders(parent, deadline);
    return this.#publish(method, request, options, options.idempotencyKey, headers);
  }

  async request(
    method: MethodDescriptor,
    request: unknown,
    options: RequestCommandOptions = {},
  ): Promise<unknown> {
    const parent = parentOf(options);
    const own = options.deadline ?? Date.now() + (options.timeoutMs ?? this.#defaultTimeoutMs);
    const deadline = earliest(own, parent?.deadline);
    await this.inbox.ready();
    // The message id is the correlation id, so that a retried request (same idempotency key)
    // is not dropped by the broker's dedupe: the consumer answers it from its idempotency store.
    const correlationId = randomUUID();
    const reply = this.inbox.expect(correlationId, method.output, deadline, options.signal);
    const headers: Record<string, string> = {
      ...propagationHeaders(parent, deadline),
      [REPLY_TO_HEADER]: this.inbox.topic,
      [CORRELATION_ID_HEADER]: correlationId,
    };
    if (options.idempotencyKey !== undefined) headers[IDEMPOTENCY_KEY_HEADER] = options.idempotencyKey;
    try {
      await this.#publish(method, request, options, correlationId, headers);
    } catch (err) {
      this.inbox.forget(correlationId);
      throw err;
    }
    return reply;
  }

  #publish(
    method: MethodDescriptor,
    request: unknown,
    options: SendCommandOptions,
    id: string | undefined,
    headers: Record<string, string>,
  ): Promise<PublishReceipt> {
    const metadata = this.#metadata ? this.#metadata.clone() : new Metadata();
    if (options.metadata) metadata.merge(new Metadata(options.metadata));
    const message = buildMessage(
      {
        ceType: commandType(method),
        messageType: method.input,
        message: request,
        id,
        key: options.key,
        subject: options.subject,
        headers: { ...metadataHeaders(metadata), ...headers },
      },
      this.#envelope,
    );
    return this.#broker.publish(this.#topic, message);
  }
}

function parentOf(options: SendCommandOptions): PropagationParent | undefined {
  return options.parent === null ? undefined : (options.parent ?? currentCall());
}

/** Metadata as message headers: a key's string values joined by commas, binary ones left out. */
function metadataHeaders(metadata: Metadata): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [key, value] of metadata) {
    if (typeof value !== 'string') continue;
    headers[key] = Object.hasOwn(headers, key) ? `${headers[key]},${value}` : value;
  }
  return headers;
}
