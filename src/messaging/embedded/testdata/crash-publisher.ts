/**
 * A child process for the embedded broker's crash test: publishes under load (group commit,
 * the default) from several lanes while consuming the same topic as group `g`, and prints a
 * line per event, so the parent can SIGKILL it at any instant and then check that nothing
 * acknowledged was lost. stdout is a pipe, and pipe writes are synchronous on Linux: a line
 * printed is a line the parent gets, whenever the kill lands.
 *
 * argv: <dir>. Lines: `A <id>` per resolved publish; `C <id>` per message consumed, printed
 * before the handler returns (and so before its ack can be committed).
 */
import { LogBroker } from '../log-broker.ts';

const [dir] = process.argv.slice(2);
if (!dir) throw new Error('usage: crash-publisher <dir>');

const broker = await LogBroker.open(dir, { commitIntervalMs: 10 });
await broker.subscribe('crash', (d) => void process.stdout.write(`C ${d.id}\n`), {
  group: 'g',
  startAt: 'earliest',
  maxInFlight: 32,
});

async function lane(n: number): Promise<never> {
  for (let seq = 0; ; seq++) {
    const id = `${process.pid}-${n}-${seq}`;
    const key = seq % 3 === 0 ? undefined : `k${seq % 17}`;
    await broker.publish('crash', {
      id,
      key,
      headers: { lane: String(n) },
      payload: Buffer.alloc(64 + (seq % 900), n),
    });
    process.stdout.write(`A ${id}\n`);
  }
}

await Promise.all(Array.from({ length: 8 }, (_, n) => lane(n)));
