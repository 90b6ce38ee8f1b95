/**
 * The shop demo end to end: a hub in this process and every service of examples/shop as its
 * own process, as `switchboard dev examples/shop` runs them (but started here, so this test
 * does not depend on the dev command). An order placed over REST must go gateway → orders
 * (gRPC) → inventory (native) → OrderPlaced → payments → PaymentSucceeded/Failed → orders and
 * notifications; mistakes must get a 4xx; SIGTERM must stop every process with exit code 0.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HubRegistry } from '../../src/discovery/index.ts';
import { HubServer } from '../../src/hub/server.ts';
import { sleep, waitFor } from '../support/wait.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SERVICES = ['inventory', 'orders', 'payments', 'notifications', 'gateway', 'traffic'] as const;
type Name = (typeof SERVICES)[number];
/** Six tsx processes starting at once on two cores take a while. */
const START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 5_000;

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnService(name: Name, hubUrl: string): Running {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SWITCHBOARD_HUB: hubUrl,
    TRAFFIC_RPS: '5',
    SUMMARY_EVERY_MS: '1000',
  };
  delete env.SWITCHBOARD_DEV;
  delete env.SWITCHBOARD_SERVICE_NAME;
  const child = spawn(process.execPath, ['--import', 'tsx', `examples/shop/${name}/main.ts`], {
    cwd: REPO,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    output += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    output += d;
  });
  // Never outlives the test, whatever happens.
  const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    }),
  );
  return { child, output: () => output, exited };
}

async function json(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}

describe('examples/shop', () => {
  const hub = new HubServer({ port: 0 });
  const running = new Map<Name, Running>();
  let registry: HubRegistry;
  let gateway = '';

  const out = (name: Name) => running.get(name)?.output() ?? '';
  const everything = () => SERVICES.map((n) => `--- ${n}\n${out(n)}`).join('\n');
  /** Waits for `text` in a service's output; fails with every service's output. */
  const expectOutput = async (name: Name, text: string | RegExp, ms = 15_000) => {
    const found = () => (typeof text === 'string' ? out(name).includes(text) : text.test(out(name)));
    // A process that exited will print nothing more: fail at once, with what every one printed.
    const exited = () => {
      const child = running.get(name)?.child;
      return child !== undefined && (child.exitCode !== null || child.signalCode !== null);
    };
    await waitFor(() => found() || exited(), ms).catch(() => {});
    if (!found()) assert.fail(`${name} never printed ${text}\n${everything()}`);
  };
  const placeOrder = (body: unknown) =>
    fetch(`${gateway}/api/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
  const getOrder = async (id: string) =>
    json(await fetch(`${gateway}/api/orders/${id}`, { signal: AbortSignal.timeout(10_000) }));
  const statusOf = async (id: string, ms = 15_000) => {
    let order: Record<string, unknown> = {};
    await waitFor(async () => {
      order = await getOrder(id);
      return order.status !== 'ORDER_STATUS_PENDING_PAYMENT';
    }, ms).catch(() => assert.fail(`order ${id} stayed ${JSON.stringify(order)}\n${everything()}`));
    return order;
  };

  before(async () => {
    await hub.listen();
    registry = new HubRegistry({ url: hub.url });
    for (const name of SERVICES) running.set(name, spawnService(name, hub.url));
    for (const name of SERVICES) {
      await expectOutput(name, `${name}: ready: `, START_TIMEOUT_MS);
    }
    const [instance] = await registry.list('shop.v1.Gateway');
    const http = instance?.endpoints.find((e) => e.transport === 'http');
    assert.ok(http, `the gateway registered no HTTP endpoint: ${JSON.stringify(instance)}`);
    gateway = `http://${http.host}:${http.port}`;
  });

  after(async () => {
    for (const { child } of running.values()) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await Promise.all([...running.values()].map((r) => r.exited));
    await registry?.close();
    await hub.close();
  });

  it('registers orders over gRPC only, inventory over native only, the gateway over HTTP', async () => {
    const transports = async (service: string) =>
      (await registry.list(service)).flatMap((i) => i.endpoints.map((e) => e.transport));
    assert.deepEqual(await transports('shop.v1.Orders'), ['grpc']);
    assert.deepEqual(await transports('shop.v1.Inventory'), ['native']);
    assert.deepEqual(await transports('shop.v1.Gateway'), ['http']);
  });

  it('lists products over REST (gateway → inventory)', async () => {
    const response = await fetch(`${gateway}/api/products`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(response.status, 200);
    const products = (await json(response)).products as { id: string; priceCents: number }[];
    assert.deepEqual(products.map((p) => p.id).sort(), ['hoodie', 'keyboard', 'mug', 'stickers', 'tee']);
    assert.equal(products.find((p) => p.id === 'mug')?.priceCents, 1200);
  });

  it('takes an order through orders, inventory, payments and notifications to PAID', async () => {
    const response = await placeOrder({
      customerId: 'c-test',
      lines: [{ productId: 'mug', quantity: 2 }],
      paymentMethod: 'pm_card_approved',
    });
    const placed = await json(response);
    assert.equal(response.status, 200, JSON.stringify(placed));
    assert.equal(placed.status, 'ORDER_STATUS_PENDING_PAYMENT');
    assert.equal(placed.totalCents, 2400); // priced by inventory
    const id = String(placed.id);
    assert.match(id, /^ord_[0-9a-f]{12}$/);

    const settled = await statusOf(id);
    assert.equal(settled.status, 'ORDER_STATUS_PAID', JSON.stringify(settled));
    await expectOutput('orders', `orders: placed ${id} for c-test: 2× mug = $24.00`);
    await expectOutput('payments', new RegExp(`payments: charged \\$24\\.00 for ${id} \\(pay_[0-9a-f]+\\)`));
    await expectOutput('orders', `orders: ${id} paid`);
    await expectOutput(
      'notifications',
      `notifications: notified customer c-test: order ${id} received ($24.00)`,
    );
    await expectOutput('notifications', `notifications: notified customer c-test: order ${id} paid, $24.00`);
  });

  it('fails a declined payment, gives the stock back by command and tells the customer', async () => {
    const response = await placeOrder({
      customerId: 'c-broke',
      lines: [{ productId: 'stickers', quantity: 1 }],
      paymentMethod: 'pm_card_declined',
    });
    assert.equal(response.status, 200);
    const id = String((await json(response)).id);
    const settled = await statusOf(id);
    assert.equal(settled.status, 'ORDER_STATUS_PAYMENT_FAILED');
    assert.equal(settled.statusReason, 'card declined');
    await expectOutput('payments', `payments: declined ${id} ($4.00): card declined`);
    await expectOutput(
      'inventory',
      `inventory: released 1 unit of ${id} ($4.00): payment failed: card declined`,
    );
    await expectOutput('notifications', `payment for order ${id} failed (card declined)`);
  });

  it('answers a caller’s mistakes with a 4xx and a status body', async () => {
    const zero = await placeOrder({
      customerId: 'c-1',
      lines: [{ productId: 'mug', quantity: 0 }],
      paymentMethod: 'pm_x',
    });
    assert.equal(zero.status, 400);
    const body = await json(zero);
    assert.equal(body.status, 'INVALID_ARGUMENT');
    assert.match(String(body.message), /quantity of mug must be 1\.\.100, not 0/);

    const unknown = await placeOrder({
      customerId: 'c-1',
      lines: [{ productId: 'unicorn', quantity: 1 }],
      paymentMethod: 'pm_x',
    });
    assert.equal(unknown.status, 404);
    assert.match(String((await json(unknown)).message), /no product "unicorn"/);

    const noCustomer = await placeOrder({
      lines: [{ productId: 'mug', quantity: 1 }],
      paymentMethod: 'pm_x',
    });
    assert.equal(noCustomer.status, 400);
    assert.match(String((await json(noCustomer)).message), /customerId is required/);

    const malformed = await placeOrder('{"customerId": ');
    assert.equal(malformed.status, 400);
    await malformed.body?.cancel();

    const missing = await fetch(`${gateway}/api/orders/ord_000000000000`, {
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(missing.status, 404);
    assert.equal((await json(missing)).status, 'NOT_FOUND');
  });

  it('sends steady traffic and summarizes it', async () => {
    // SUMMARY_EVERY_MS is 1 s here: a summary with calls that succeeded and mistakes that failed.
    await expectOutput('traffic', /traffic: \d+ calls in \d+\.\ds \([\d.]+\/s\): \d+ ok/, 10_000);
    await expectOutput('traffic', /failed: [^·]*(INVALID_ARGUMENT|NOT_FOUND)/, 20_000);
  });

  it('stops every process on SIGTERM with exit code 0, deregistered', async () => {
    const started = Date.now();
    const exits = [...running].map(async ([name, r]) => {
      r.child.kill('SIGTERM');
      const timeout = sleep(STOP_TIMEOUT_MS).then(() => 'timeout' as const);
      const exit = await Promise.race([r.exited, timeout]);
      assert.notEqual(exit, 'timeout', `${name} did not stop within ${STOP_TIMEOUT_MS} ms\n${r.output()}`);
      assert.deepEqual(exit, { code: 0, signal: null }, `${name} exited badly\n${r.output()}`);
      assert.match(r.output(), new RegExp(`${name}: stopped in \\d+ ms`));
    });
    await Promise.all(exits);
    assert.ok(Date.now() - started < STOP_TIMEOUT_MS);
    for (const service of ['shop.v1.Gateway', 'shop.v1.Orders', 'shop.v1.Inventory']) {
      assert.deepEqual(await registry.list(service), [], `${service} is still registered`);
    }
  });
});
