/**
 * The hand-written codecs of the broker's Consume stream (src/services/broker/consume-codec.ts)
 * against protobufjs, the reference: any bytes decode to the same meaning or are refused by
 * both, and what ours encode protobufjs reads as it reads its own encoding.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { MessageType } from '../../../src/contract/descriptors.ts';
import { StatusError } from '../../../src/contract/errors.ts';
import { BROKER_SERVICE_NAME, brokerContract, brokerService } from '../../../src/services/broker/contract.ts';
import { type FuzzTarget, mutated, oneOf, outcome, pureTarget } from '../fuzz-kit.ts';

const reference = brokerContract().service(BROKER_SERVICE_NAME).method('Consume')!;
const fast = brokerService().method('Consume')!;

const text = fc.string({ maxLength: 12, unit: 'grapheme' });
const uint32 = fc.nat({ max: 0xffff_ffff });

const deliveryArb = fc.record(
  {
    handle: uint32,
    topic: text,
    id: text,
    key: text,
    headers: fc.dictionary(text, text, { maxKeys: 3 }),
    payload: fc.uint8Array({ maxLength: 40 }),
    attempt: uint32,
  },
  { requiredKeys: ['handle', 'payload'] },
);
const responseArb = fc.record({
  subscribed: fc.boolean(),
  deliveries: fc.array(deliveryArb, { maxLength: 4 }),
});
const settleArb = fc.record(
  { handle: uint32, outcome: fc.nat({ max: 5 }), delayMs: uint32, reason: text },
  { requiredKeys: ['handle'] },
);
const requestArb = fc.record({ settles: fc.array(settleArb, { maxLength: 4 }) });

/** `bytes` decoded by `ours` and by `theirs`: the same meaning, or refused by both. */
function sameDecoding(ours: MessageType, theirs: MessageType, bytes: Uint8Array): void {
  const clear = oneOf(StatusError);
  const mine = outcome(() => ours.decode(bytes), clear);
  const expected = outcome(() => theirs.decode(bytes), clear);
  assert.equal(mine.ok, expected.ok, `${Buffer.from(bytes).toString('hex')}: decoded by one only`);
  if (mine.ok && expected.ok) assert.deepEqual(theirs.toJson(mine.value), theirs.toJson(expected.value));
}

/** What `message` means once encoded by `ours`, read back by protobufjs, as with its own encoding. */
function sameEncoding(ours: MessageType, theirs: MessageType, message: Record<string, unknown>): void {
  const mine = theirs.decode(ours.encode(message));
  const expected = theirs.decode(theirs.encode(message));
  assert.deepEqual(theirs.toJson(mine), theirs.toJson(expected));
}

const responses = pureTarget('broker-consume-response', 300, () =>
  fc.property(responseArb, mutated(responseArb.map((r) => reference.output.encode(r))), (message, bytes) => {
    sameEncoding(fast.output, reference.output, message);
    sameDecoding(fast.output, reference.output, bytes);
  }),
);

const requests = pureTarget('broker-consume-request', 300, () =>
  fc.property(requestArb, mutated(requestArb.map((r) => reference.input.encode(r))), (message, bytes) => {
    sameEncoding(fast.input, reference.input, message);
    sameDecoding(fast.input, reference.input, bytes);
  }),
);

export const brokerCodecTargets: FuzzTarget[] = [responses, requests];
