import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Broker, OutgoingMessage, PublishReceipt } from '../messaging/broker.ts';
import { BROKER_FLAGS_HELP, BROKER_OPTIONS, brokerFailure, openBrokerFlags } from './broker-flags.ts';
import { type CliIo, type Command, EXIT_OK, UsageError, usage } from './command.ts';

const HELP = `Usage: switchboard publish <topic> <json> [--hub <url> | --broker <url>] [options]
       switchboard publish <topic> --data-file <path|-> [options]

Publishes a message to a topic of the hub's broker (or of the broker --broker names) and
prints the broker's receipt once the broker has it: the message id, where it landed, and
whether the broker already had a message with that id.

Arguments:
  <topic>                 e.g. orders
  <json>                  the message: JSON text, checked, then sent as its UTF-8 bytes with
                          the header content-type: application/json; - reads it from stdin

Options:
${BROKER_FLAGS_HELP}
  -d, --data-file <path>  send the bytes of a file instead (- for standard input), with
                          content-type: application/octet-stream
      --content-type <t>  the content-type header instead of those defaults
  -k, --key <key>         the message key: messages with one key are delivered in order
      --id <id>           the message id: the broker drops a second message with one id
  -H, --header <n=v>      a header (repeatable)
  -n, --count <n>         publish the message n times, for quick load; each gets its own id
                          unless --id is given (then the broker keeps the first only)
      --json              print each receipt as a JSON line
  -h, --help              this text

Prints one line per message: published <topic> id=<id> position=<position> duplicate=false
With --count above 1, a summary follows on stderr: published 1000 messages in 85 ms (11765/s).
Exit codes: 0 published, 1 the broker is unreachable or refused, 2 usage error.

Examples:
  switchboard publish orders '{"id":42,"total":9.5}' --key customer-7
  switchboard publish images --data-file photo.jpg --content-type image/jpeg
  switchboard publish load '{"n":1}' --count 10000 --broker hub://127.0.0.1:7071 > /dev/null
`;

/** Publishes in flight at once under --count: enough to fill the broker's batches, bounded. */
const PUBLISH_WINDOW = 256;

export const publishCommand: Command = {
  name: 'publish',
  summary: 'publish a message (JSON or raw bytes) to a topic of the hub or another broker',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = usage(() =>
      parseArgs({
        args: argv,
        options: {
          ...BROKER_OPTIONS,
          'data-file': { type: 'string', short: 'd' },
          'content-type': { type: 'string' },
          key: { type: 'string', short: 'k' },
          id: { type: 'string' },
          header: { type: 'string', short: 'H', multiple: true },
          count: { type: 'string', short: 'n' },
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
    const [topic, text, ...extra] = positionals;
    if (!topic) throw new UsageError(`which topic? e.g. switchboard publish orders '{"id":42}'`);
    if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
    const dataFile = values['data-file'];
    if (text !== undefined && dataFile !== undefined) {
      throw new UsageError('give the message as JSON or with --data-file, not both');
    }
    if (text === undefined && dataFile === undefined) {
      throw new UsageError(`what message? give JSON like '{"id":42}', or --data-file <path|->`);
    }
    const count = parseCount(values.count);
    const headers = parseHeaders(values.header ?? []);
    const contentType =
      values['content-type'] ??
      headers['content-type'] ??
      (dataFile === undefined ? 'application/json' : 'application/octet-stream');
    headers['content-type'] = contentType;
    const payload =
      dataFile === undefined ? await jsonPayload(text as string, io) : await filePayload(dataFile);
    const message: OutgoingMessage = {
      payload,
      headers,
      ...(values.key === undefined ? {} : { key: values.key }),
      ...(values.id === undefined ? {} : { id: values.id }),
    };

    const { broker, label } = await openBrokerFlags(values);
    const print = (receipt: PublishReceipt) => io.out(receiptLine(topic, receipt, values.json === true));
    const started = performance.now();
    try {
      const published = await publishAll(broker, topic, message, count, print);
      if (published.failure) {
        const failure = brokerFailure(published.failure, label);
        if (count > 1) failure.message += ` (${published.done} of ${count} published)`;
        throw failure;
      }
      if (count > 1) {
        const ms = performance.now() - started;
        const rate = Math.round(count / (ms / 1000));
        io.err(`published ${count} messages in ${Math.round(ms)} ms (${rate}/s)\n`);
      }
      return EXIT_OK;
    } finally {
      await broker.close();
    }
  },
};

/**
 * Publishes `message` `count` times, at most PUBLISH_WINDOW at once, printing the receipts in
 * publish order. Stops at the first failure, after the publishes in flight have settled.
 */
async function publishAll(
  broker: Broker,
  topic: string,
  message: OutgoingMessage,
  count: number,
  print: (receipt: PublishReceipt) => void,
): Promise<{ done: number; failure?: unknown }> {
  const window: Promise<PublishReceipt>[] = [];
  let done = 0;
  let sent = 0;
  let failure: unknown;
  while (done < count) {
    while (failure === undefined && sent < count && window.length < PUBLISH_WINDOW) {
      window.push(broker.publish(topic, message));
      sent++;
    }
    const head = window.shift();
    if (!head) break;
    try {
      const receipt = await head;
      if (failure === undefined) {
        print(receipt);
        done++;
      }
    } catch (err) {
      failure ??= err;
    }
  }
  return failure === undefined ? { done } : { done, failure };
}

function receiptLine(topic: string, receipt: PublishReceipt, json: boolean): string {
  if (json) {
    const { id, position, duplicate } = receipt;
    return `${JSON.stringify({ topic, id, position: position ?? null, duplicate })}\n`;
  }
  return `published ${topic} id=${receipt.id} position=${receipt.position ?? '-'} duplicate=${receipt.duplicate}\n`;
}

async function jsonPayload(text: string, io: CliIo): Promise<Uint8Array> {
  const json = text === '-' ? await io.readStdin() : text;
  try {
    JSON.parse(json);
  } catch (err) {
    throw new UsageError(
      `the message is not JSON: ${(err as Error).message} (send other bytes with --data-file <path|->)`,
    );
  }
  return new TextEncoder().encode(json);
}

async function filePayload(file: string): Promise<Uint8Array> {
  if (file === '') throw new UsageError('--data-file: expected a path, or - for standard input');
  try {
    if (file !== '-') return await readFile(file);
    // CliIo.readStdin() gives text; the bytes must arrive unchanged.
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  } catch (err) {
    throw new UsageError(`--data-file: cannot read ${file}: ${(err as Error).message}`);
  }
}

function parseCount(text: string | undefined): number {
  if (text === undefined) return 1;
  const count = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(count) || count < 1) {
    throw new UsageError(`--count takes a whole number from 1, not ${JSON.stringify(text)}`);
  }
  return count;
}

function parseHeaders(entries: readonly string[]): Record<string, string> {
  // fromEntries defines own properties, so even a "__proto__" header stays a header.
  return Object.fromEntries(
    entries.map((entry) => {
      const cut = entry.indexOf('=');
      if (cut <= 0) throw new UsageError(`--header takes name=value, not ${JSON.stringify(entry)}`);
      return [entry.slice(0, cut), entry.slice(cut + 1)];
    }),
  );
}
