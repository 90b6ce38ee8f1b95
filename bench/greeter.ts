import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Every stack serves and calls the reference contract's one method with the same message. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const GREETER_PROTO = path.join(REPO_ROOT, 'examples/greeter/greeter.proto');
export const GREETER_SERVICE = 'greet.Greeter';
export const GREETER_PATH = '/greet.Greeter/SayHello';
export const REQUEST_NAME = 'John';
export const EXPECTED_MESSAGE = 'Hello, John!';

export function greet(name: string): string {
  return `Hello, ${name}!`;
}

/**
 * greet.Request{name} as a gRPC message: the 5-byte prefix (uncompressed flag + big-endian
 * length) and the protobuf bytes (field 1, wire type 2). Written by hand so that h2load's body
 * does not depend on any of the code under test.
 */
export function grpcRequestFrame(name: string): Buffer {
  const text = Buffer.from(name, 'utf8');
  if (text.length > 127) throw new Error('the benchmark name must fit a one-byte varint');
  const body = Buffer.concat([Buffer.from([0x0a, text.length]), text]);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(body.length, 1);
  return Buffer.concat([prefix, body]);
}
