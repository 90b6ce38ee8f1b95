/**
 * The hub's listeners bound what one client can hold: connections at once on each port,
 * header size, and the time a request's headers or a TLS handshake may take (slowloris),
 * while answers that last (watch streams, blocking queries) are not cut.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type SelfSignedCert, selfSignedCert } from '../../test/support/certs.ts';
import { rawRequest } from '../../test/support/raw-http.ts';
import { sleep, waitFor } from '../../test/support/wait.ts';
import { HubBroker } from '../app/brokers/hub-broker.ts';
import type { ServiceInstance } from '../discovery/instance.ts';
import { HubServer } from './server.ts';

interface HeldSocket {
  socket: net.Socket;
  received: () => string;
  closed: Promise<void>;
  isClosed: () => boolean;
}

/** A TCP connection to host:port that sends nothing unless told, and notes what it gets. */
async function hold(host: string, port: number): Promise<HeldSocket> {
  const socket = net.connect({ host, port });
  let text = '';
  let closed = false;
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    text += d;
  });
  socket.on('error', () => {});
  const done = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closed = true;
      resolve();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => text, closed: done, isClosed: () => closed };
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** Resolves when `promise` does, fails the test after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function instance(service: string, id: string): ServiceInstance {
  return { service, id, endpoints: [{ transport: 'grpc', host: '127.0.0.1', port: 50051 }], metadata: {} };
}

describe('hub listener limits', () => {
  it('rejects limits that are not counts or durations', () => {
    assert.throws(() => new HubServer({ maxConnections: 0 }), /maxConnections must be an integer >= 1/);
    assert.throws(() => new HubServer({ maxHeaderBytes: 1.5 }), /maxHeaderBytes must be an integer >= 1/);
    assert.throws(() => new HubServer({ tlsHandshakeTimeoutMs: -1 }), /tlsHandshakeTimeoutMs must be/);
  });

  it('HTTP port: a connection over maxConnections is closed at once, served again once one closes', async () => {
    const hub = new HubServer({ port: 0, broker: false, maxConnections: 3 });
    await hub.listen();
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    const held: HeldSocket[] = [];
    try {
      const port = portOf(hub.url);
      for (let i = 0; i < 3; i++) held.push(await hold('127.0.0.1', port));
      await waitFor(() => hub.stats().connections === 3);
      const extra = await hold('127.0.0.1', port);
      await within(extra.closed, 5000, 'the fourth connection closed');
      assert.equal(extra.received(), '', 'closed without an answer');
      // The three held ones are served.
      const first = held[0] as HeldSocket;
      first.socket.write('GET /healthz HTTP/1.1\r\nhost: hub\r\n\r\n');
      await waitFor(() => first.received().startsWith('HTTP/1.1 200'));
      await waitFor(() =>
        warnings.some((w) => (w as { code?: string }).code === 'SWITCHBOARD_MAX_CONNECTIONS'),
      );
      first.socket.destroy();
      await waitFor(() => hub.stats().connections === 2);
      const res = await rawRequest(hub.url, 'GET', '/api/v1/services');
      assert.equal(res.status, 200, res.text);
    } finally {
      process.off('warning', onWarning);
      for (const h of held) h.socket.destroy();
      await hub.close();
    }
  });

  it('broker port: a connection over maxConnections is closed at once, served again once one closes', async () => {
    const hub = new HubServer({ port: 0, brokerPort: 0, maxConnections: 3 });
    await hub.listen();
    const held: HeldSocket[] = [];
    const broker = new HubBroker({ target: hub.brokerTarget as string, publishTimeoutMs: 10_000 });
    try {
      const host = '127.0.0.1';
      const port = Number(/:(\d+)$/.exec(hub.brokerTarget as string)?.[1]);
      for (let i = 0; i < 3; i++) held.push(await hold(host, port));
      await waitFor(() => hub.stats().brokerConnections === 3);
      const extra = await hold(host, port);
      await within(extra.closed, 5000, 'the fourth connection closed');
      assert.equal(hub.stats().brokerConnections, 3);
      (held[0] as HeldSocket).socket.destroy();
      await waitFor(() => hub.stats().brokerConnections === 2);
      const receipt = await broker.publish('limits.events', { payload: new TextEncoder().encode('{}') });
      assert.equal(receipt.duplicate, false);
    } finally {
      await broker.close();
      for (const h of held) h.socket.destroy();
      await hub.close();
    }
  });

  describe('with short request timeouts', () => {
    // headersTimeout = requestTimeout = 600 ms; heartbeats far off, so watch streams stay silent.
    const hub = new HubServer({ port: 0, broker: false, requestTimeoutMs: 600, watchHeartbeatMs: 60_000 });
    before(() => hub.listen());
    after(() => hub.close());

    it('closes 30 connections trickling headers (slowloris) while serving a normal request', async () => {
      const port = portOf(hub.url);
      const slow = await Promise.all(Array.from({ length: 30 }, () => hold('127.0.0.1', port)));
      const silent = await hold('127.0.0.1', port);
      let line = 0;
      for (const s of slow) s.socket.write('GET /api/v1/services HTTP/1.1\r\nhost: hub\r\n');
      const trickle = setInterval(() => {
        line++;
        for (const s of slow) if (!s.isClosed()) s.socket.write(`x-slow-${line}: 1\r\n`);
      }, 100);
      try {
        await waitFor(() => line >= 2);
        const res = await rawRequest(hub.url, 'GET', '/api/v1/services');
        assert.equal(res.status, 200, res.text);
        await within(
          Promise.all([...slow, silent].map((s) => s.closed)),
          15_000,
          'every slow connection closed',
        );
        for (const s of slow) assert.match(s.received(), /^HTTP\/1\.1 408 /);
        const after = await rawRequest(hub.url, 'GET', '/api/v1/services');
        assert.equal(after.status, 200, after.text);
      } finally {
        clearInterval(trickle);
        for (const s of slow) s.socket.destroy();
        silent.socket.destroy();
      }
    });

    it('answers 431 to headers over the default 16 KiB, and serves headers under it', async () => {
      const big = await rawRequest(hub.url, 'GET', '/api/v1/services', {
        headers: { 'x-big': 'a'.repeat(20 * 1024) },
      });
      assert.equal(big.status, 431);
      const fits = await rawRequest(hub.url, 'GET', '/api/v1/services', {
        headers: { 'x-big': 'a'.repeat(12 * 1024) },
      });
      assert.equal(fits.status, 200, fits.text);
    });

    it('keeps an idle watch stream and a blocking query open past the request timeouts', async () => {
      const service = 'limits.Watched';
      let text = '';
      let ended = false;
      const req = http.get(`${hub.url}/api/v1/watch/${service}`, { agent: false });
      req.on('error', () => {});
      const res = await new Promise<http.IncomingMessage>((resolve) => req.once('response', resolve));
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
      });
      res.on('close', () => {
        ended = true;
      });
      try {
        assert.equal(res.statusCode, 200);
        await waitFor(() => text.includes('event: instances'));
        const index = hub.registry.index;
        const blocking = rawRequest(hub.url, 'GET', `/api/v1/services/${service}?index=${index}&wait=30s`, {
          timeoutMs: 20_000,
        });
        // Well past headersTimeout and requestTimeout (600 ms) and their checks.
        await sleep(2000);
        assert.equal(ended, false, 'the watch stream is still open');
        assert.equal(text.split('event: instances').length - 1, 1, 'silent meanwhile: no heartbeat');
        hub.registry.upsert(instance(service, 'w-1'), 10_000);
        await waitFor(() => text.split('event: instances').length - 1 === 2);
        const answer = await blocking;
        assert.equal(answer.status, 200, answer.text);
        assert.deepEqual(
          (answer.json as { instances: ServiceInstance[] }).instances.map((i) => i.id),
          ['w-1'],
        );
      } finally {
        req.destroy();
      }
    });
  });

  it('maxHeaderBytes: a smaller limit answers 431 above it and serves below it', async () => {
    const hub = new HubServer({ port: 0, broker: false, maxHeaderBytes: 4096 });
    await hub.listen();
    try {
      const big = await rawRequest(hub.url, 'GET', '/healthz', { headers: { 'x-big': 'a'.repeat(5000) } });
      assert.equal(big.status, 431);
      const fits = await rawRequest(hub.url, 'GET', '/healthz', { headers: { 'x-big': 'a'.repeat(3000) } });
      assert.equal(fits.status, 200);
    } finally {
      await hub.close();
    }
  });

  describe('over TLS', () => {
    let cert: SelfSignedCert;
    let hub: HubServer;
    before(async () => {
      cert = selfSignedCert({ prefix: 'sb-hub-limits-' });
      hub = new HubServer({
        port: 0,
        broker: false,
        tls: { cert: cert.cert, key: cert.key },
        tlsHandshakeTimeoutMs: 300,
      });
      await hub.listen();
    });
    after(async () => {
      await hub.close();
      cert.cleanup();
    });

    it('closes a connection that never finishes its TLS handshake, and serves HTTPS', async () => {
      const silent = await hold('127.0.0.1', portOf(hub.url));
      // Far below the 10 s default and the 10 s headers timeout.
      await within(silent.closed, 5000, 'the silent TLS connection closed');
      const status = await new Promise<number>((resolve, reject) => {
        https
          .get(`${hub.url}/healthz`, { ca: cert.cert, agent: false }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          })
          .on('error', reject);
      });
      assert.equal(status, 200);
    });
  });
});
