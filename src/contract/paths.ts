import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The .proto files Switchboard ships: grpc health and reflection, google.rpc.Status. */
export const BUNDLED_PROTO_DIR = findUp(path.dirname(fileURLToPath(import.meta.url)), 'proto');

/** protobufjs ships google/api/{annotations,http}.proto and google/protobuf/descriptor.proto. */
export const PROTOBUFJS_PROTO_DIR = path.dirname(
  createRequire(import.meta.url).resolve('protobufjs/package.json'),
);

function findUp(start: string, name: string): string {
  let dir = start;
  for (;;) {
    const candidate = path.join(dir, name);
    if (existsSync(path.join(candidate, 'grpc'))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the bundled ${name}/ folder above ${start}`);
    dir = parent;
  }
}
