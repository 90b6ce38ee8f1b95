/** A hub with only the Consul API on a free port, and small helpers to talk to it over HTTP. */
import assert from 'node:assert/strict';
import { consulApi } from '../../src/hub/api/consul-api.ts';
import { HubServer } from '../../src/hub/server.ts';

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

export async function startConsulHub(): Promise<{ hub: HubServer; call: Caller }> {
  const hub = new HubServer({ port: 0, apis: [consulApi] });
  await hub.listen();
  const call: Caller = async (method, path, body) => {
    const res = await fetch(hub.url + path, {
      method,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };
  return { hub, call };
}

export type Caller = (method: string, path: string, body?: unknown) => Promise<Answer>;

// biome-ignore lint/suspicious/noExplicitAny: Consul's answers are read field by field
export type Json = any;

export async function json(call: Caller, path: string): Promise<{ index: number; body: Json }> {
  const answer = await call('GET', path);
  assert.equal(answer.status, 200, answer.text);
  assert.match(answer.headers.get('content-type') ?? '', /application\/json/);
  return { index: Number(answer.headers.get('x-consul-index')), body: JSON.parse(answer.text) };
}

export async function refused(
  call: Caller,
  method: string,
  path: string,
  body: unknown,
  status: number,
  text: RegExp,
) {
  const answer = await call(method, path, body);
  assert.equal(
    answer.status,
    status,
    `${method} ${path} ${JSON.stringify(body)?.slice(0, 80)}: ${answer.text}`,
  );
  assert.match(answer.headers.get('content-type') ?? '', /text\/plain/);
  assert.match(answer.text, text);
}
