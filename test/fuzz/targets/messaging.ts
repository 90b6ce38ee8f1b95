/** Broker records: the log's record codec, the envelopes and entry codecs of each adapter, the on-disk log. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { headers as natsHeaders } from '@nats-io/transport-node';
import fc from 'fast-check';
import type { KafkaMessage } from 'kafkajs';
import { decodeEnvelope, encodeEnvelope, MAX_ID_BYTES } from '../../../src/messaging/embedded/envelope.ts';
import { fromRecord } from '../../../src/messaging/kafka/envelope.ts';
import { CorruptLogError } from '../../../src/messaging/log/errors.ts';
import { decodeRecord, encodeBatch } from '../../../src/messaging/log/record-codec.ts';
import { SegmentLog } from '../../../src/messaging/log/segment-log.ts';
import { fromNatsHeaders } from '../../../src/messaging/nats/headers.ts';
import { decodeEntry } from '../../../src/messaging/redis/entry-codec.ts';
import {
  type FuzzTarget,
  largestAllocation,
  mutated,
  oneOf,
  outcome,
  pureTarget,
  timedAsync,
} from '../fuzz-kit.ts';

const appendRecordArb = fc.record(
  {
    value: fc.uint8Array({ maxLength: 48 }),
    key: fc.option(fc.uint8Array({ maxLength: 12 })),
    headers: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 12 }), { maxKeys: 3 }),
    timestamp: fc.nat(),
  },
  { requiredKeys: ['value'] },
);

const batchArb = fc
  .tuple(fc.array(appendRecordArb, { minLength: 1, maxLength: 4 }), fc.nat({ max: 2 ** 40 }))
  .map(([records, first]) => encodeBatch(records, first, 1_700_000_000_000, 1 << 20).buffer as Uint8Array);

/** Recomputes each record's CRC where its length prefix fits, so mutations reach the inner fields. */
function fixCrcs(bytes: Uint8Array): Buffer {
  const buf = Buffer.from(bytes);
  let pos = 0;
  while (pos + 8 <= buf.length) {
    const size = 4 + buf.readUInt32BE(pos);
    if (size < 8 || pos + size > buf.length) break;
    buf.writeUInt32BE(crc32(buf.subarray(pos + 8, pos + size)), pos + 4);
    pos += size;
  }
  return buf;
}

const records = pureTarget('log-record-codec', 400, () =>
  fc.property(mutated(batchArb), fc.boolean(), (bytes, fix) => {
    const buf = fix ? fixCrcs(bytes) : Buffer.from(bytes);
    const { largest } = largestAllocation(() =>
      outcome(
        () => {
          // Read records as recovery does: until the first one that is not whole.
          let pos = 0;
          while (pos < buf.length) {
            const decoded = decodeRecord(buf, pos, buf.length);
            if (decoded.kind !== 'record') {
              assert.ok(decoded.kind === 'incomplete' || decoded.reason.length > 0);
              break;
            }
            const { record, size } = decoded;
            assert.ok(size > 0 && pos + size <= buf.length);
            assert.ok(record.value.length < size && (record.key?.length ?? 0) < size);
            assert.ok(Number.isSafeInteger(record.offset) && Number.isSafeInteger(record.timestamp));
            for (const value of Object.values(record.headers)) assert.equal(typeof value, 'string');
            pos += size;
          }
        },
        () => false,
      ),
    );
    assert.ok(largest <= buf.length + 64, `allocated ${largest} bytes`);
  }),
);

const envelopes = pureTarget('embedded-envelope', 400, () =>
  fc.property(
    fc.string({ maxLength: 40 }),
    fc.nat({ max: 3 }),
    fc.uint8Array({ maxLength: 32 }),
    fc.uint8Array({ maxLength: 64 }),
    (id, flags, payload, noise) => {
      const encoded = encodeEnvelope(id, flags, payload);
      const back = decodeEnvelope(encoded);
      assert.ok(back);
      assert.equal(back.id, Buffer.from(id).toString('utf8'));
      assert.deepEqual(Buffer.from(back.payload), Buffer.from(payload));
      const decoded = outcome(
        () => decodeEnvelope(noise),
        () => false,
      );
      assert.ok(decoded.ok);
      if (decoded.value)
        assert.ok(Buffer.byteLength(decoded.value.id) <= Math.max(MAX_ID_BYTES, noise.length) * 3);
    },
  ),
);

const fieldArb = fc.oneof(
  fc.constantFrom('i', 'k', 'h', 'p', 'payload', 'x').map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 3 }).map((b) => Buffer.from(b)),
);
const valueArb = fc.oneof(
  fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b)),
  fc.jsonValue({ maxDepth: 2 }).map((j) => Buffer.from(JSON.stringify(j))),
  fc.constantFrom('{"__proto__":"x","a":"b"}', '{"a":1}', '[]', 'null', '{').map((s) => Buffer.from(s)),
);

const redisEntries = pureTarget('redis-entry-codec', 400, () =>
  fc.property(
    fc.array(fc.oneof(fieldArb, valueArb), { maxLength: 10 }),
    fc.string({ maxLength: 10 }),
    (fields, entryId) => {
      const decoded = outcome(
        () => decodeEntry('topic', entryId, fields),
        () => false,
      );
      assert.ok(decoded.ok);
      const entry = decoded.value;
      assert.ok(entry.payload instanceof Uint8Array);
      assert.equal(typeof entry.id, 'string');
      for (const value of Object.values(entry.headers)) assert.equal(typeof value, 'string');
    },
  ),
);

const kafkaHeaderValue = fc.oneof(
  fc.string({ maxLength: 10 }),
  fc.uint8Array({ maxLength: 10 }).map((b) => Buffer.from(b)),
  fc.constant(undefined),
);
const kafkaRecords = pureTarget('kafka-envelope', 400, () =>
  fc.property(
    fc.record({
      key: fc.option(fc.uint8Array({ maxLength: 10 }).map((b) => Buffer.from(b))),
      value: fc.option(fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b))),
      offset: fc.oneof(fc.nat().map(String), fc.string({ maxLength: 5 })),
      headers: fc.dictionary(
        fc.oneof(fc.constant('switchboard-id'), fc.string({ maxLength: 8 })),
        fc.oneof(kafkaHeaderValue, fc.array(kafkaHeaderValue, { maxLength: 3 })),
        { maxKeys: 4 },
      ),
    }),
    (record) => {
      const message = { timestamp: '0', attributes: 0, size: 0, ...record } as unknown as KafkaMessage;
      const decoded = outcome(
        () => fromRecord('t', 0, message),
        () => false,
      );
      assert.ok(decoded.ok);
      assert.equal(typeof decoded.value.id, 'string');
      assert.ok(decoded.value.payload instanceof Uint8Array);
    },
  ),
);

const natsMessages = pureTarget('nats-headers', 400, () =>
  fc.property(
    fc.array(
      fc.tuple(
        fc.oneof(
          fc.constantFrom(
            'Switchboard-Id',
            'Switchboard-Key',
            'Nats-Msg-Id',
            'Nats-Expected-Stream',
            'ce-id',
            'x',
          ),
          fc.string({ maxLength: 10 }),
        ),
        fc.string({ maxLength: 16 }),
      ),
      { maxLength: 6 },
    ),
    (pairs) => {
      const h = natsHeaders();
      for (const [name, value] of pairs) {
        try {
          h.append(name, value);
        } catch {
          // the NATS client refuses this header on the wire too: nothing to decode
        }
      }
      const decoded = outcome(
        () => fromNatsHeaders(h),
        () => false,
      );
      assert.ok(decoded.ok);
      for (const value of Object.values(decoded.value.headers)) assert.equal(typeof value, 'string');
    },
  ),
);

/**
 * The on-disk log: a few records appended, then the segment file (and maybe its index)
 * damaged; open either recovers (then reads, appends and reads again) or fails with a
 * CorruptLogError, whichever corruption policy is set.
 */
const segmentLog: FuzzTarget = {
  name: 'segment-log-open',
  ciRuns: 20,
  async open() {
    const root = await mkdtemp(path.join(os.tmpdir(), 'sb-fuzz-log-'));
    let n = 0;
    const property = fc.asyncProperty(
      fc.array(appendRecordArb, { minLength: 1, maxLength: 6 }),
      fc.nat(),
      fc.constantFrom('keep', 'delete', 'damage'),
      fc.constantFrom<'fail' | 'truncate'>('fail', 'truncate'),
      async (appended, seed, indexFate, onCorruption) => {
        const dir = path.join(root, String(n++));
        const log = await SegmentLog.open(dir, { fsync: 'never', indexIntervalBytes: 64 });
        await log.append(appended.map((r) => ({ ...r, timestamp: r.timestamp ?? 0 })));
        await log.close();
        const files = (await readdir(dir)).sort();
        const logFile = path.join(dir, files.find((f) => f.endsWith('.log'))!);
        const indexFile = files.find((f) => f.endsWith('.index'));
        const bytes = await readFile(logFile);
        const damaged = fc.sample(mutated(fc.constant(new Uint8Array(bytes))), { numRuns: 1, seed })[0]!;
        await writeFile(logFile, damaged);
        if (indexFile && indexFate === 'delete') await unlink(path.join(dir, indexFile));
        if (indexFile && indexFate === 'damage') {
          const index = await readFile(path.join(dir, indexFile));
          await writeFile(
            path.join(dir, indexFile),
            fc.sample(mutated(fc.constant(new Uint8Array(index))), { numRuns: 1, seed: seed + 1 })[0]!,
          );
        }
        await timedAsync(async () => {
          let reopened: SegmentLog;
          try {
            reopened = await SegmentLog.open(dir, { fsync: 'never', onCorruption });
          } catch (err) {
            if (!(err instanceof CorruptLogError)) throw err;
            assert.equal(onCorruption, 'fail', `open with truncate failed: ${(err as Error).message}`);
            return;
          }
          try {
            const read: unknown[] = [];
            try {
              for (let at = reopened.startOffset; at < reopened.endOffset; ) {
                const batch = await reopened.read(at);
                assert.ok(batch.length > 0, `no record at ${at} below the end ${reopened.endOffset}`);
                read.push(...batch);
                at = batch.at(-1)!.offset + 1;
              }
            } catch (err) {
              // A clean reopen trusts a sealed index and does not rescan: damage inside what
              // the index covers is found by the read that meets it, as a CorruptLogError.
              if (!(err instanceof CorruptLogError)) throw err;
            }
            assert.ok(
              read.length <= appended.length,
              `read ${read.length} records, appended ${appended.length}`,
            );
            const next = await reopened.append([{ value: new Uint8Array([7]) }]);
            assert.equal(next, reopened.endOffset - 1);
            try {
              const [back] = await reopened.read(next);
              assert.deepEqual(Buffer.from(back!.value), Buffer.from([7]));
            } catch (err) {
              // The read may start at an index entry before the damage and meet it on the way.
              if (!(err instanceof CorruptLogError)) throw err;
            }
          } finally {
            await reopened.close();
          }
        }, 5000);
        await rm(dir, { recursive: true, force: true });
      },
    );
    return {
      check: async (params) => (await fc.check(property, params)) as fc.RunDetails<unknown>,
      close: () => rm(root, { recursive: true, force: true }),
    };
  },
};

export const messagingTargets: readonly FuzzTarget[] = [
  records,
  envelopes,
  redisEntries,
  kafkaRecords,
  natsMessages,
  segmentLog,
];
export const clearLogError = oneOf(CorruptLogError);
