/** The test contract of src/app/messaging (events.proto), its types, and a topic recorder. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Contract, loadContractSync } from '../../../contract/index.ts';
import type { ServerStreamingMethod, UnaryMethod } from '../../../core/index.ts';
import type { Broker, Delivery, Subscription } from '../../../messaging/index.ts';

export const EVENTS_PROTO = path.join(path.dirname(fileURLToPath(import.meta.url)), 'events.proto');

export function eventsContract(): Contract {
  return loadContractSync(EVENTS_PROTO);
}

export interface Hello {
  name: string;
  count: number;
}
export interface Unbound {
  text: string;
}
export interface Task {
  id: string;
  failCode: number;
  delayMs: number;
}
export interface TaskResult {
  id: string;
  runs: number;
  traceparent: string;
}
export type TasksService = {
  run: UnaryMethod<Task, TaskResult>;
  watch: ServerStreamingMethod<Task, TaskResult>;
};

/** What a recorder saw of one delivery. */
export interface Recorded {
  id: string;
  key: string | undefined;
  headers: Record<string, string>;
  payload: Uint8Array;
  attempt: number;
}

/** Every message of `topic` from the earliest on, in group `recorder`: for dead-letter topics. */
export async function record(
  broker: Broker,
  topic: string,
): Promise<{ log: Recorded[]; subscription: Subscription }> {
  const log: Recorded[] = [];
  const subscription = await broker.subscribe(
    topic,
    (d: Delivery) => {
      log.push({ id: d.id, key: d.key, headers: { ...d.headers }, payload: d.payload, attempt: d.attempt });
    },
    { group: 'recorder', startAt: 'earliest' },
  );
  return { log, subscription };
}

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
