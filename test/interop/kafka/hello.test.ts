/**
 * The reference Kafka example both ways, on librdkafka's mock cluster (kcat) in place of
 * localhost:9092: kafka-python (Debian's python3-kafka) sends 'Hello, world!' to topic 'hello'
 * and a Switchboard subscriber receives it; Switchboard publishes it and the kafka-python
 * consumer prints it. The record a plain consumer sees is the bare payload.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Delivery } from '../../../src/messaging/index.ts';
import { KafkaBroker } from '../../../src/messaging/kafka/index.ts';
import { KAFKA_TEST_TIMINGS, KafkaMockCluster, kcatInstalled } from '../../support/kafka-mock.ts';
import { serviceMissing } from '../../support/services.ts';
import { waitFor } from '../../support/wait.ts';

const PYTHON = '/usr/bin/python3';
const HERE = path.dirname(fileURLToPath(import.meta.url));

function kafkaPythonInstalled(): Promise<boolean> {
  return new Promise((resolve) => execFile(PYTHON, ['-c', 'import kafka'], (err) => resolve(!err)));
}

const skip =
  (await serviceMissing('kcat (the Kafka mock cluster)', kcatInstalled)) ||
  (await serviceMissing('python3-kafka (kafka-python)', kafkaPythonInstalled));

/** Runs one of the scripts here; resolves with its exit code and output lines. */
function python(script: string, args: string[]): Promise<{ code: number; lines: string[]; stderr: string }> {
  return new Promise((resolve) => {
    execFile(PYTHON, [path.join(HERE, script), ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? Number(err.code ?? -1) : 0;
      resolve({ code, lines: stdout.trim().split('\n'), stderr: stderr.trim() });
    });
  });
}

/** A fresh cluster and a Switchboard client for each direction, so 'hello' holds one record. */
function onFreshCluster() {
  const state: { cluster?: KafkaMockCluster; broker?: KafkaBroker } = {};
  before(async () => {
    state.cluster = await KafkaMockCluster.start();
    state.broker = await KafkaBroker.connect({
      brokers: state.cluster.bootstrapServers,
      ...KAFKA_TEST_TIMINGS,
    });
  });
  after(async () => {
    await state.broker?.close();
    await state.cluster?.stop();
  });
  return state;
}

describe('kafka-python producer → Switchboard subscriber', { skip }, () => {
  const env = onFreshCluster();

  it("receives 'Hello, world!' from topic 'hello'", { timeout: 60_000 }, async () => {
    const seen: Delivery[] = [];
    const sub = await env.broker!.subscribe('hello', (d) => void seen.push(d), {
      group: 'switchboard-hello',
    });
    try {
      const run = await python('producer.py', ['--bootstrap', env.cluster!.bootstrap]);
      assert.equal(run.code, 0, run.stderr);
      const sent = /^sent (\d+)\/(\d+)$/.exec(run.lines[0] ?? '');
      assert.ok(sent, `producer said ${run.lines.join(' | ')}`);
      await waitFor(() => seen.length >= 1, 20_000);
      const d = seen[0]!;
      assert.equal(Buffer.from(d.payload).toString(), 'Hello, world!');
      assert.equal(d.topic, 'hello');
      assert.equal(d.key, undefined);
      assert.deepEqual(d.headers, {});
      assert.equal(d.id, `hello/${sent[1]}/${sent[2]}`, 'a plain record is named by its position');
    } finally {
      await sub.close();
    }
  });
});

describe('Switchboard publisher → kafka-python consumer', { skip }, () => {
  const env = onFreshCluster();

  it("prints 'Hello, world!', the raw value, published to 'hello'", { timeout: 60_000 }, async () => {
    const receipt = await env.broker!.publish('hello', {
      payload: new TextEncoder().encode('Hello, world!'),
    });
    assert.match(receipt.position ?? '', /^\d+\/0$/);
    const run = await python('consumer.py', ['--bootstrap', env.cluster!.bootstrap, '--timeout', '30']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.lines, ['Hello, world!', 'headers: switchboard-id']);
  });
});
