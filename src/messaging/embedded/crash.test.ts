/**
 * The crash test for the embedded broker: a child publishes with group commit (and
 * consumes as group `g`), reporting every acknowledged publish and every consumed message; the
 * parent SIGKILLs it mid-load, twice on one directory, then reopens the broker and checks that
 * every acknowledged message reaches group `g` (before the kill or after the reopen), and
 * that the log holds each acknowledged message exactly once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../../test/support/wait.ts';
import { useTempDir } from '../log/testdata/temp-dir.ts';
import { LogBroker } from './log-broker.ts';

const CHILD = fileURLToPath(new URL('./testdata/crash-publisher.ts', import.meta.url));

interface Round {
  acked: Set<string>;
  consumed: Set<string>;
}

/** Runs the child until it has `minAcks` acknowledged publishes, then kills it after `extraMs`. */
function killMidLoad(dir: string, minAcks: number, extraMs: number): Promise<Round> {
  const round: Round = { acked: new Set(), consumed: new Set() };
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let pending = '';
  let stderr = '';
  let killing = false;
  const timeout = setTimeout(() => child.kill('SIGKILL'), 15_000);
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!; // a line cut by the kill counts for nothing
    for (const line of lines) {
      const [kind, id] = line.split(' ');
      if (kind === 'A') round.acked.add(id!);
      if (kind === 'C') round.consumed.add(id!);
    }
    if (round.acked.size >= minAcks && !killing) {
      killing = true;
      setTimeout(() => child.kill('SIGKILL'), extraMs);
    }
  });
  return new Promise((resolve, reject) => {
    child.on('exit', (code, signal) => {
      clearTimeout(timeout);
      if (signal === 'SIGKILL' && killing) resolve(round);
      else reject(new Error(`child exited with ${code ?? signal} before the kill: ${stderr}`));
    });
  });
}

describe('embedded broker crash: SIGKILL mid-load loses no acknowledged message', () => {
  const tmp = useTempDir('embedded-crash');

  it('two kills under load, then every acknowledged message is consumed', { timeout: 60_000 }, async () => {
    const acked = new Set<string>();
    const consumedBefore = new Set<string>();
    for (const extraMs of [0, 11]) {
      const round = await killMidLoad(tmp.path, 400, extraMs);
      assert.ok(round.acked.size >= 400, `only ${round.acked.size} publishes acknowledged`);
      for (const id of round.acked) acked.add(id);
      for (const id of round.consumed) consumedBefore.add(id);
    }

    const broker = await LogBroker.open(tmp.path);
    tmp.closers.push(() => broker.close());
    const consumedAfter = new Set<string>();
    const audit: string[] = [];
    await broker.subscribe('crash', (d) => void consumedAfter.add(d.id), { group: 'g', startAt: 'earliest' });
    await broker.subscribe('crash', (d) => void audit.push(d.id), { group: 'audit', startAt: 'earliest' });
    const missing = () => [...acked].filter((id) => !consumedBefore.has(id) && !consumedAfter.has(id));
    await waitFor(() => missing().length === 0, 20_000).catch(() => {
      assert.fail(`${missing().length} acknowledged messages never consumed, e.g. ${missing().slice(0, 3)}`);
    });
    await waitFor(() => acked.size > 0 && [...acked].every((id) => audit.includes(id)), 10_000);
    const counts = new Map<string, number>();
    for (const id of audit) counts.set(id, (counts.get(id) ?? 0) + 1);
    assert.deepEqual(
      [...counts].filter(([, n]) => n > 1),
      [],
      'each message appended once',
    );
    const redelivered = [...consumedAfter].filter((id) => consumedBefore.has(id)).length;
    assert.ok(consumedBefore.size > 0, 'the children consumed while publishing');
    assert.ok(
      redelivered < consumedBefore.size,
      `redelivered ${redelivered} of ${consumedBefore.size} consumed before the kills: offsets were committed`,
    );
  });
});
