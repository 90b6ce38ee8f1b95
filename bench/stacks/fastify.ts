import Fastify from 'fastify';
import { Pool } from 'undici';
import { through } from '../gate.ts';
import { greet } from '../greeter.ts';
import type { Caller, ConnectOptions, RunningServer, ServeOptions, Stack } from './stack.ts';

/**
 * Fastify 5 serving `POST /api/hello` (JSON schemas for body and response, so Fastify uses its
 * compiled validator and serializer: its idiomatic fast path), called through an undici Pool of
 * keep-alive HTTP/1.1 connections without pipelining.
 */

interface HelloBody {
  name: string;
}

async function serve(options: ServeOptions): Promise<RunningServer> {
  const app = Fastify({ logger: false });
  app.post<{ Body: HelloBody }>(
    '/api/hello',
    {
      schema: {
        body: { type: 'object', properties: { name: { type: 'string' } } },
        response: { 200: { type: 'object', properties: { message: { type: 'string' } } } },
      },
    },
    (request) => through(options.gate, { message: greet(request.body.name) }),
  );
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('fastify is not listening on TCP');
  return { port: address.port, close: () => app.close() };
}

async function connect(options: ConnectOptions): Promise<Caller> {
  const pool = new Pool(`http://${options.host}:${options.port}`, {
    connections: options.connections,
    pipelining: 1,
  });
  const sayHello = async (name: string): Promise<string> => {
    const response = await pool.request({
      path: '/api/hello',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
    });
    const body = (await response.body.json()) as { message: string };
    if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}`);
    return body.message;
  };
  return { sayHello, close: () => pool.close() };
}

export const stack: Stack = { serve, connect };
