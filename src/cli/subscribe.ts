import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { StatusError } from '../contract/errors.ts';
import { Status } from '../contract/status.ts';
import type { Delivery } from '../messaging/broker.ts';
import {
  BROKER_FLAGS_HELP,
  BROKER_OPTIONS,
  brokerFailure,
  type OpenedBroker,
  openBrokerFlags,
} from './broker-flags.ts';
import { type Command, EXIT_OK, firstSignal, UsageError, usage } from './command.ts';

const HELP = `Usage: switchboard subscribe <topic> [--group <g>] [--hub <url> | --broker <url>] [options]

Joins a consumer group on a topic of the hub's broker (or of the broker --broker names) and
prints every message it is given, acknowledging each once printed, until SIGINT or SIGTERM
(then it leaves the group and exits 0), --count messages, or --timeout.

Without --group it joins a group of its own, cli-<random>, new each run: it sees every
message published from now on (all those kept, with --from-beginning) and takes none away
from the services on the topic. With --group it is one more member of that group and shares
its messages with the other members: what it prints and acknowledges, they never get.

Options:
${BROKER_FLAGS_HELP}
  -g, --group <g>         the consumer group to join (default: cli-<random>, see above)
      --from-beginning    a group new to the topic starts at the earliest message kept
                          (default: at the next one published); a group that has a
                          position carries on from it either way
  -n, --count <n>         exit 0 after n messages
      --timeout <ms>      exit once no message has come for <ms> (an idle time, counted
                          from joining and from each message); 0 when that ends the run,
                          1 with --count if fewer than n messages came
      --max-in-flight <n> messages handed out and not yet acknowledged (default 64)
      --json              one JSON object per line (below) instead of text
  -h, --help              this text

Prints one line per message: <topic> id=<id> key=<key or -> attempt=<n> <payload>, the
payload as text when it is valid UTF-8 (control characters escaped: \\n, \\u001b), else
as base64:<base64>. With --json: {"topic", "id", "key" (null when none), "headers", "attempt",
"payload", "payloadEncoding": "text" or "base64"}. Once joined, "subscribed to <topic> as
group <g> on the <broker>" goes to stderr.
Exit codes: 0 stopped by a signal, --count or --timeout; 1 the broker is unreachable or
refused, or --timeout came before --count messages; 2 usage error.

Examples:
  switchboard subscribe orders
  switchboard subscribe orders --from-beginning --count 10 --json | jq .payload
  switchboard subscribe orders --group billing --broker hub://127.0.0.1:7071
`;

const DEFAULT_MAX_IN_FLIGHT = 64;

type End = { by: 'signal'; signal: string } | { by: 'count' } | { by: 'timeout' } | { by: 'stdout' };

export const subscribeCommand: Command = {
  name: 'subscribe',
  summary: "print a topic's messages as they come, acknowledging each",
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = usage(() =>
      parseArgs({
        args: argv,
        options: {
          ...BROKER_OPTIONS,
          group: { type: 'string', short: 'g' },
          'from-beginning': { type: 'boolean' },
          count: { type: 'string', short: 'n' },
          timeout: { type: 'string' },
          'max-in-flight': { type: 'string' },
          json: { type: 'boolean' },
          help: { type: 'boolean', short: 'h' },
        },
        allowPositionals: true,
        strict: true,
      }),
    );
    if (values.help) {
      io.out(HELP);
      return EXIT_OK;
    }
    const [topic, ...extra] = positionals;
    if (!topic) throw new UsageError('which topic? e.g. switchboard subscribe orders');
    if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
    const count = positiveInteger('--count', values.count);
    const timeoutMs = positiveInteger('--timeout', values.timeout);
    // Under a small --count, fewer messages handed out means fewer to give back at the end.
    const maxInFlight =
      positiveInteger('--max-in-flight', values['max-in-flight']) ??
      Math.min(count ?? DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_IN_FLIGHT);
    const group = values.group ?? `cli-${randomBytes(4).toString('hex')}`;
    const format = values.json ? jsonLine : textLine;

    // Signals that come while joining still end the run once joined.
    const signals = firstSignal();
    // Idle sockets are unref'd (a client never keeps a program alive): hold the process open.
    const alive = setInterval(() => {}, 2 ** 30);
    let end: (why: End) => void = () => {};
    const ended = new Promise<End>((resolve) => {
      end = resolve;
    });
    let stopping = false;
    let received = 0;
    let idle: NodeJS.Timeout | undefined;
    const restartIdle = () => {
      if (timeoutMs === undefined || stopping) return;
      clearTimeout(idle);
      idle = setTimeout(() => end({ by: 'timeout' }), timeoutMs);
    };
    // `| head` closes the pipe: end quietly instead of dying of EPIPE.
    const onStdoutError = () => end({ by: 'stdout' });
    process.stdout.on('error', onStdoutError);

    const handler = async (delivery: Delivery) => {
      if (stopping) {
        // Not ours to take any more: back to the group, for its other members or a later run.
        await delivery.nack();
        return;
      }
      received++;
      if (count !== undefined && received >= count) {
        stopping = true;
        end({ by: 'count' });
      }
      io.out(format(delivery));
      await delivery.ack();
      restartIdle();
    };

    let opened: OpenedBroker | undefined;
    let why: End;
    try {
      opened = await openBrokerFlags(values);
      try {
        const subscription = await opened.broker.subscribe(topic, handler, {
          group,
          maxInFlight,
          startAt: values['from-beginning'] ? 'earliest' : 'latest',
        });
        io.err(`subscribed to ${printable(topic)} as group ${printable(group)} on the ${opened.label}\n`);
        restartIdle();
        why = await Promise.race([signals.stopped.then((signal): End => ({ by: 'signal', signal })), ended]);
        stopping = true;
        signals.release();
        if (why.by === 'signal') io.err(`switchboard subscribe: ${why.signal}, closing\n`);
        await subscription.close();
      } catch (err) {
        throw brokerFailure(err, opened.label);
      }
    } finally {
      stopping = true;
      clearTimeout(idle);
      clearInterval(alive);
      signals.release();
      process.stdout.off('error', onStdoutError);
      await opened?.broker.close();
    }
    if (why.by === 'timeout' && count !== undefined && received < count) {
      throw new StatusError(
        Status.DEADLINE_EXCEEDED,
        `${received} of ${count} messages on ${topic}: none came for ${timeoutMs} ms`,
      );
    }
    return EXIT_OK;
  },
};

/** A line of text: topic, id, key, attempt and payload, nothing that can steer a terminal. */
function textLine(d: Delivery): string {
  const text = utf8(d.payload);
  const payload =
    text === undefined ? `base64:${Buffer.from(d.payload).toString('base64')}` : printable(text);
  const key = d.key === undefined ? '-' : printable(d.key);
  return `${printable(d.topic)} id=${printable(d.id)} key=${key} attempt=${d.attempt} ${payload}\n`;
}

function jsonLine(d: Delivery): string {
  const text = utf8(d.payload);
  return `${JSON.stringify({
    topic: d.topic,
    id: d.id,
    key: d.key ?? null,
    headers: d.headers,
    attempt: d.attempt,
    payload: text ?? Buffer.from(d.payload).toString('base64'),
    payloadEncoding: text === undefined ? 'base64' : 'text',
  })}\n`;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

const ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Control characters escaped, so a message cannot write to the terminal or break the line. */
function printable(text: string): string {
  return text.replace(/\p{Cc}/gu, (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function positiveInteger(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(`${flag} takes a whole number from 1, not ${JSON.stringify(text)}`);
  }
  return value;
}
