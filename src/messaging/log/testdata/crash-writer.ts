/**
 * A child process for the crash test: appends under load and prints each acknowledgement,
 * so the parent can SIGKILL it at any instant and then check that every acknowledged record
 * survived. stdout is a pipe, and pipe writes are synchronous on Linux: a line printed is a
 * line the parent gets, whenever the kill lands.
 *
 * argv: <dir> <always|group>. Lines: `R <start> <end>` once open; `A <offset> <count> <id>`
 * per resolved append (record j of it has id `<id>#<j>`); `C <offset>` per resolved commit.
 */
import path from 'node:path';
import { OffsetStore } from '../offset-store.ts';
import { SegmentLog } from '../segment-log.ts';
import { crashRecord } from './crash-record.ts';

const [dir, policy] = process.argv.slice(2);
if (!dir || (policy !== 'always' && policy !== 'group'))
  throw new Error('usage: crash-writer <dir> <always|group>');

const log = await SegmentLog.open(path.join(dir, 'log'), {
  // 'group' is the default policy: group commit every 2 ms.
  fsync: policy === 'always' ? 'always' : undefined,
  segmentBytes: 64 * 1024,
});
const offsets = await OffsetStore.open(path.join(dir, 'offsets'));
process.stdout.write(`R ${log.startOffset} ${log.endOffset}\n`);

let acks = 0;
async function producer(lane: number): Promise<never> {
  for (let seq = 0; ; seq++) {
    const id = `${process.pid}-${lane}-${seq}`;
    const count = 1 + (seq % 3);
    const first = await log.append(Array.from({ length: count }, (_, j) => crashRecord(`${id}#${j}`)));
    process.stdout.write(`A ${first} ${count} ${id}\n`);
    if (++acks % 10 === 0) {
      const next = first + count;
      void offsets.commit('g', 't', 0, next).then(() => process.stdout.write(`C ${next}\n`));
    }
  }
}

await Promise.all(Array.from({ length: 8 }, (_, lane) => producer(lane)));
