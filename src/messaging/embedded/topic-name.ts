/**
 * Topic names of the embedded broker become directory names (`<dir>/topics/<topic>`), so on
 * top of the checks every broker makes (validate.ts) a name must be safe as one path
 * component on every file system the hub may run on.
 */
import { validateName } from '../validate.ts';

/** Most file systems allow 255 bytes per name; Kafka's 249 leaves room for suffixes. */
const MAX_NAME_BYTES = 249;
/** Path separators, characters Windows refuses in names, and control characters. */
const UNSAFE = /[/\\:*?"<>|\p{Cc}]/u;
/** Unpaired UTF-16 halves cannot be written as UTF-8 file names or keys. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Returns `name` or throws a TypeError saying why it cannot name a topic. */
export function validateTopicName(what: string, name: unknown): string {
  validateName(what, name);
  const text = name as string;
  if (UNSAFE.test(text))
    throw new TypeError(`${what} "${text}" contains a path separator or control character`);
  if (text === '.' || text === '..' || text.includes('..')) {
    throw new TypeError(`${what} "${text}" contains "..", which is not allowed in a topic name`);
  }
  if (LONE_SURROGATE.test(text)) throw new TypeError(`${what} contains an unpaired surrogate`);
  if (Buffer.byteLength(text) > MAX_NAME_BYTES) {
    throw new TypeError(`${what} is longer than ${MAX_NAME_BYTES} bytes in UTF-8`);
  }
  return text;
}

/** Throws a TypeError when `text` cannot round-trip through UTF-8. */
export function assertUtf8(what: string, text: string | undefined): void {
  if (text !== undefined && LONE_SURROGATE.test(text)) {
    throw new TypeError(`${what} contains an unpaired surrogate, which UTF-8 cannot carry`);
  }
}
