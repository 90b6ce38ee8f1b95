/**
 * Runs the commands of one service as calls: each delivery is read, claimed in the
 * idempotency store, and invoked through the ServiceHost exactly as a network call is —
 * server interceptors, limits and the deadline apply — with `ctx.transport` "queue".
 */
import type { MethodDescriptor, ServiceDescriptor } from '../../contract/descriptors.ts';
import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import { ServerCallContext, type TransportName } from '../../core/context.ts';
import { earliest, MAX_TIMEOUT_MS } from '../../core/deadline.ts';
import type { HostedMethod, ServiceHost } from '../../core/host.ts';
import type { Delivery } from '../../messaging/broker.ts';
import { type ReplySender, type ReplyTarget, replyTargetOf } from './command-reply.ts';
import { commandType } from './command-topic.ts';
import { isRetryable, refuse, settleFailure } from './failure-policy.ts';
import { IDEMPOTENCY_KEY_HEADER, isJsonMedia, lowerCaseHeaders } from './headers.ts';
import type { IdempotencyStore } from './idempotency-store.ts';
import { type Envelope, readEnvelope } from './incoming.ts';
import { decodeData, type PayloadEncoding } from './payload.ts';

/** The transport name handlers see for commands. */
const QUEUE_TRANSPORT: TransportName = 'queue';

/** A claim outlives the handler's deadline by this much, so a slow settle does not free it early. */
const LEASE_GRACE_MS = 5000;

export interface CommandRunnerSettings {
  readonly host: ServiceHost;
  readonly service: ServiceDescriptor;
  readonly group: string;
  readonly store: IdempotencyStore;
  readonly replies: ReplySender;
  readonly maxAttempts: number;
  readonly handlerTimeoutMs: number;
  readonly duplicateDelayMs: number;
  /** `ctx.peer` of the calls: "<broker kind>:<topic>". */
  readonly peer: string;
}

interface Prepared {
  readonly envelope: Envelope;
  readonly hosted: HostedMethod;
  readonly input: unknown;
}

export class CommandRunner {
  readonly #s: CommandRunnerSettings;
  /** Unary methods by CloudEvents type. */
  readonly #methods = new Map<string, MethodDescriptor>();

  constructor(settings: CommandRunnerSettings) {
    this.#s = settings;
    for (const method of settings.service.methods) this.#methods.set(commandType(method), method);
  }

  async handle(delivery: Delivery): Promise<void> {
    const s = this.#s;
    const replyTo = replyTargetOf(lowerCaseHeaders(delivery.headers));
    let prepared: Prepared;
    try {
      prepared = this.#prepare(delivery);
    } catch (err) {
      await s.replies.error(replyTo, StatusError.from(err, Status.INVALID_ARGUMENT));
      return refuse(delivery, err);
    }
    const { envelope, hosted, input } = prepared;
    const method = hosted.descriptor;
    const idempotencyKey = envelope.headers[IDEMPOTENCY_KEY_HEADER] ?? delivery.id;
    const key = `${s.group}\n${method.path}\n${idempotencyKey}`;
    const deadline = earliest(Date.now() + s.handlerTimeoutMs, envelope.deadline);
    const lease = deadline - Date.now() + LEASE_GRACE_MS;
    let claim = await s.store.claim(key, lease);
    if (claim.state === 'running' && claim.settled) {
      // A duplicate running here: wait for it rather than spend delivery attempts polling.
      await untilSettled(claim.settled, deadline - Date.now());
      claim = await s.store.claim(key, lease);
    }
    if (claim.state === 'running') return delivery.nack(s.duplicateDelayMs);
    const encoding: PayloadEncoding = isJsonMedia(envelope.contentType) ? 'json' : 'protobuf';
    if (claim.state === 'done') return this.#answerDuplicate(replyTo, method, claim.result, encoding);
    let output: unknown;
    try {
      const ctx = new ServerCallContext({
        method,
        metadata: envelope.metadata,
        deadline,
        transport: QUEUE_TRANSPORT,
        peer: s.peer,
      });
      output = await hosted.invoke(ctx, input);
    } catch (err) {
      await s.store.release(key, claim.token);
      const status = StatusError.from(err);
      // The requester hears of the failure when no retry will follow.
      if (!isRetryable(status.code) || delivery.attempt >= s.maxAttempts)
        await s.replies.error(replyTo, status);
      return settleFailure(delivery, status);
    }
    let response: Uint8Array;
    try {
      response = method.output.encode(output as Record<string, unknown>);
    } catch (err) {
      // The command ran, so it must not run again; its response does not fit its type.
      await s.store.complete(key, claim.token);
      const status = StatusError.from(err, Status.INTERNAL);
      await s.replies.error(replyTo, status);
      return refuse(delivery, status);
    }
    await s.store.complete(key, claim.token, response);
    // Should this reply fail, the redelivery finds the command done and answers from the store.
    if (replyTo) await s.replies.ok(replyTo, method.output, response, encoding);
  }

  #prepare(delivery: Delivery): Prepared {
    const envelope = readEnvelope(delivery);
    const type = envelope.attributes?.type;
    if (type === undefined) {
      throw new StatusError(
        Status.INVALID_ARGUMENT,
        `a command needs a CloudEvents type naming its method (ce-type: ${this.#s.service.methods[0]?.fullName ?? 'pkg.Service.Method'})`,
      );
    }
    const method = this.#methods.get(type);
    if (!method)
      throw new StatusError(Status.UNIMPLEMENTED, `${type} is no method of ${this.#s.service.fullName}`);
    if (method.kind !== 'unary') {
      throw new StatusError(
        Status.UNIMPLEMENTED,
        `${method.fullName} streams: only unary methods run as commands`,
      );
    }
    const hosted = this.#s.host.lookup(method.path);
    if (!hosted) throw new StatusError(Status.UNIMPLEMENTED, `method ${method.path} is not served`);
    return {
      envelope,
      hosted,
      input: decodeData(hosted.descriptor.input, envelope.data, envelope.contentType),
    };
  }

  async #answerDuplicate(
    replyTo: ReplyTarget | undefined,
    method: MethodDescriptor,
    result: Uint8Array | undefined,
    encoding: PayloadEncoding,
  ): Promise<void> {
    if (!replyTo) return;
    if (result === undefined) {
      const status = new StatusError(
        Status.ALREADY_EXISTS,
        'the command ran already and its result is not kept',
      );
      return this.#s.replies.error(replyTo, status);
    }
    await this.#s.replies.ok(replyTo, method.output, result, encoding);
  }
}

/** Resolves when `settled` does, or after `ms`. */
function untilSettled(settled: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, Math.min(ms, MAX_TIMEOUT_MS)));
  });
  return Promise.race([settled, timeout]).finally(() => clearTimeout(timer));
}
