import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CallContext, Implementation, UnaryMethod } from '../../src/index.ts';

export const GREETER_PROTO = path.join(path.dirname(fileURLToPath(import.meta.url)), 'greeter.proto');

export interface Request {
  name: string;
}
export interface Response {
  message: string;
}
export type GreeterService = { sayHello: UnaryMethod<Request, Response> };

/** The reference contract's one method: written once, served on every transport. */
export const greeter: Implementation<GreeterService> = {
  sayHello(req: Request, _ctx: CallContext) {
    return { message: `Hello, ${req.name}!` };
  },
};
