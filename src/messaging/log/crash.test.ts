/**
 * The crash test: a child process appends under load (group commit, then 'always')
 * and prints every acknowledgement; the parent SIGKILLs it at a random instant mid-load,
 * reopens the log and checks that every acknowledged record is there, byte for byte, and
 * that the committed consumer offset is at least the last one acknowledged. Rounds run on
 * the same directory, so each one also recovers from the previous kill.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { OffsetStore } from './offset-store.ts';
import { SegmentLog } from './segment-log.ts';
import { crashRecord } from './testdata/crash-record.ts';
import { useTempDir } from './testdata/temp-dir.ts';

const CHILD = fileURLToPath(new URL('./testdata/crash-writer.ts', import.meta.url));

interface Round {
  /** offset → record id, for every acknowledged record. */
  acked: Map<number, string>;
  maxCommitted: number;
  opened: { start: number; end: number } | undefined;
}

/** Runs the writer until it has acknowledged `minAcks` appends, then kills it after `extraMs`. */
function killMidLoad(
  dir: string,
  policy: 'always' | 'group',
  minAcks: number,
  extraMs: number,
): Promise<Round> {
  const round: Round = { acked: new Map(), maxCommitted: 0, opened: undefined };
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, policy], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let pending = '';
  let stderr = '';
  let acks = 0;
  let killing = false;
  const timeout = setTimeout(() => child.kill('SIGKILL'), 15_000);
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!; // a line cut by the kill is not an acknowledgement
    for (const line of lines) {
      const [kind, a, b, id] = line.split(' ');
      if (kind === 'R') round.opened = { start: Number(a), end: Number(b) };
      if (kind === 'C') round.maxCommitted = Math.max(round.maxCommitted, Number(a));
      if (kind === 'A') {
        for (let j = 0; j < Number(b); j++) round.acked.set(Number(a) + j, `${id}#${j}`);
        if (++acks >= minAcks && !killing) {
          killing = true;
          setTimeout(() => child.kill('SIGKILL'), extraMs);
        }
      }
    }
  });
  return new Promise((resolve, reject) => {
    child.on('exit', (code, signal) => {
      clearTimeout(timeout);
      if (signal === 'SIGKILL' && killing) resolve(round);
      else reject(new Error(`writer exited with ${code ?? signal} before the kill: ${stderr}`));
    });
  });
}

describe('crash: SIGKILL mid-load loses no acknowledged record', () => {
  const tmp = useTempDir('log-crash');

  it('group commit and always, four kills in a row on one log', { timeout: 60_000 }, async () => {
    const acked = new Map<number, string>();
    let committed = 0;
    const rounds: ['group' | 'always', number][] = [
      ['group', 0],
      ['always', 7],
      ['group', 13],
      ['always', 2],
    ];
    for (const [policy, extraMs] of rounds) {
      const round = await killMidLoad(tmp.path, policy, 150, extraMs);
      assert.ok(round.acked.size >= 150, `${policy}: only ${round.acked.size} records acknowledged`);
      // What the writer saw at open: everything acknowledged before, recovered.
      assert.ok(round.opened && round.opened.end >= Math.max(-1, ...acked.keys()) + 1);
      for (const [offset, id] of round.acked) acked.set(offset, id);
      committed = Math.max(committed, round.maxCommitted);

      const log = await SegmentLog.open(path.join(tmp.path, 'log'));
      try {
        const maxAcked = Math.max(...acked.keys());
        assert.ok(
          log.endOffset > maxAcked,
          `${policy}: end ${log.endOffset}, acknowledged up to ${maxAcked}`,
        );
        let offset = log.startOffset;
        let found = 0;
        while (offset < log.endOffset) {
          const records = await log.read(offset, { maxRecords: 1000, maxBytes: 4 << 20 });
          for (const r of records) {
            const id = acked.get(r.offset);
            if (id === undefined) continue; // written, never acknowledged: may or may not survive
            const expected = crashRecord(id);
            assert.equal(Buffer.from(r.key!).toString(), id, `offset ${r.offset}`);
            assert.deepEqual(r.headers, expected.headers);
            assert.ok(Buffer.from(r.value).equals(expected.value), `offset ${r.offset}: value differs`);
            found++;
          }
          offset = records.at(-1)!.offset + 1;
        }
        assert.equal(found, acked.size, `${policy}: ${acked.size - found} acknowledged records missing`);
      } finally {
        await log.close();
      }
      const store = await OffsetStore.open(path.join(tmp.path, 'offsets'));
      assert.ok((store.get('g', 't', 0) ?? 0) >= committed, `committed offset went back below ${committed}`);
      await store.close();
    }
  });
});
