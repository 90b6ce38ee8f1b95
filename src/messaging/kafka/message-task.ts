/**
 * One record's life in a subscription, from its first delivery to its settlement: delivered
 * in its key's order, redelivered in-process after a nack or a handler error (Kafka has no
 * redelivery of its own: the offset simply stays uncommitted meanwhile), and dead-lettered after
 * maxAttempts or a term(). A record given up unsettled (closing, partition revoked) is left
 * uncommitted, so whoever reads the partition next gets it again.
 */
import type { DeliveryHandler, OutgoingMessage } from '../broker.ts';
import type { ResolvedSubscribeOptions } from '../validate.ts';
import { type DeliverOptions, deliverOnce } from './delivery.ts';
import type { ReceivedMessage } from './envelope.ts';
import type { PartitionState } from './partition-state.ts';
import type { Slots } from './waits.ts';

export interface TaskContext {
  readonly handler: DeliveryHandler;
  readonly options: ResolvedSubscribeOptions;
  readonly slots: Slots;
  readonly deliver: DeliverOptions;
  /** Publishes a dead letter; rejects when it could not. */
  deadLetter(topic: string, message: OutgoingMessage): Promise<void>;
  /**
   * A delivery started or a record was settled: the commit (and its metadata) may change.
   * Urgent when the partition's oldest unsettled record is delivered (see committer.ts).
   */
  changed(state: PartitionState, urgent?: boolean): void;
  /** Work that closing waits for (dead letters being published). */
  busy<T>(work: Promise<T>): Promise<T>;
  readonly onError: (err: Error) => void;
}

export async function runMessage(
  ctx: TaskContext,
  state: PartitionState,
  message: ReceivedMessage,
): Promise<void> {
  const pass = await state.turn(message.key);
  try {
    if (await deliverUntilSettled(ctx, state, message)) {
      state.tracker.settle(message.offset);
      ctx.changed(state);
    }
  } finally {
    pass();
  }
}

/** True once the record is settled; false when it was given up. */
async function deliverUntilSettled(
  ctx: TaskContext,
  state: PartitionState,
  message: ReceivedMessage,
): Promise<boolean> {
  const { maxAttempts } = ctx.options;
  for (;;) {
    if (!state.live || !(await ctx.slots.acquire())) return false;
    if (!state.live) {
      ctx.slots.release();
      return false;
    }
    const attempt = state.tracker.attempted(message.offset);
    ctx.changed(state, message.offset === state.tracker.mark);
    if (attempt > maxAttempts) {
      // Earlier owners delivered it maxAttempts times and never settled it (they died with it).
      ctx.slots.release();
      const reason = `max attempts reached: delivered ${attempt - 1} times without being settled`;
      return deadLetter(ctx, state, message, reason, attempt - 1);
    }
    const outcome = await deliverOnce(ctx.handler, message, attempt, ctx.deliver);
    ctx.slots.release();
    switch (outcome.kind) {
      case 'ack':
        return true;
      case 'abandoned':
        return false;
      case 'term':
        return deadLetter(ctx, state, message, outcome.reason, attempt);
      case 'retry':
        if (attempt >= maxAttempts) {
          return deadLetter(ctx, state, message, `max attempts reached: ${outcome.reason}`, attempt);
        }
        if (!(await state.sleeps.sleep(outcome.delayMs))) return false;
    }
  }
}

/** Publishes the dead letter, retrying while the partition is ours; true once it is out. */
async function deadLetter(
  ctx: TaskContext,
  state: PartitionState,
  message: ReceivedMessage,
  reason: string,
  attempts: number,
): Promise<boolean> {
  const topic = ctx.options.deadLetterTopic;
  if (topic === false) return true;
  const letter: OutgoingMessage = {
    id: message.id,
    key: message.key,
    headers: {
      ...message.headers,
      'x-death-reason': reason,
      'x-death-attempts': String(attempts),
      'x-death-topic': message.topic,
      'x-death-group': ctx.options.group,
    },
    payload: message.payload,
  };
  const to = topic ?? `${message.topic}.dlq`;
  for (let failures = 0; state.live; failures++) {
    try {
      await ctx.busy(ctx.deadLetter(to, letter));
      return true;
    } catch (err) {
      ctx.onError(
        new Error(`dead letter to Kafka topic "${to}" failed: ${(err as Error).message}`, { cause: err }),
      );
      if (!(await state.sleeps.sleep(Math.min(30_000, 500 * 2 ** failures)))) return false;
    }
  }
  return false;
}
