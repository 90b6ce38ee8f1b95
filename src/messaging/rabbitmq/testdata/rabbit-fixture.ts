/**
 * What the RabbitMQ tests share: the server's address, names of their own (a prefix per run) and
 * their removal afterwards, and a restart of the machine's RabbitMQ through rabbitmqctl.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connect } from 'amqplib';
import { portOpen, serviceMissing } from '../../../../test/support/services.ts';
import { sleep } from '../../../../test/support/wait.ts';

const run = promisify(execFile);

export const RABBIT_URL = 'amqp://guest:guest@127.0.0.1:5672';

/** False when RabbitMQ listens; else the skip message (a failure under CI=true). */
export function rabbitMissing(): Promise<string | false> {
  return serviceMissing('RabbitMQ', () => portOpen('127.0.0.1', 5672));
}

/** A name prefix no other run uses, so cleanup removes exactly this run's queues and exchanges. */
export function runPrefix(): string {
  return `sbtest.${process.pid}.${Date.now().toString(36)}.`;
}

async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await run('rabbitmqctl', args, { timeout: 30_000 });
  return stdout;
}

/** True when this machine's RabbitMQ can be listed and restarted with rabbitmqctl. */
export async function rabbitmqctlWorks(): Promise<boolean> {
  try {
    await rabbitmqctl('-q', 'list_vhosts');
    return true;
  } catch {
    return false;
  }
}

async function namesStartingWith(kind: 'list_queues' | 'list_exchanges', prefix: string): Promise<string[]> {
  const out = await rabbitmqctl('-q', '--no-table-headers', kind, 'name');
  return out
    .split('\n')
    .map((line) => line.trim())
    .filter((name) => name.startsWith(prefix));
}

/** Deletes the queues and exchanges whose names start with `prefix`; returns how many. */
export async function deleteTopology(prefix: string): Promise<number> {
  const [queues, exchanges] = await Promise.all([
    namesStartingWith('list_queues', prefix),
    namesStartingWith('list_exchanges', prefix),
  ]);
  const connection = await connect(RABBIT_URL);
  try {
    const channel = await connection.createChannel();
    for (const queue of queues) await channel.deleteQueue(queue);
    for (const exchange of exchanges) await channel.deleteExchange(exchange);
  } finally {
    await connection.close();
  }
  return queues.length + exchanges.length;
}

/**
 * Stops and starts the RabbitMQ application: about 2 s to stop and 3 s to start here, quorum
 * queues included. It is started again whatever happens, with two more tries if starting fails.
 */
export async function restartRabbit(): Promise<void> {
  let stopFailed: unknown;
  try {
    await rabbitmqctl('stop_app');
  } catch (error) {
    stopFailed = error;
  }
  await startRabbit();
  if (stopFailed) throw stopFailed;
}

async function startRabbit(): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await rabbitmqctl('start_app');
      return;
    } catch (error) {
      if (attempt === 3) throw error;
      await sleep(1000);
    }
  }
}
