/**
 * Traffic: a steady stream of REST calls to the gateway, found by name through the hub and
 * called over HTTP (its routes come from the contract). TRAFFIC_RPS calls a second (5 unless
 * set, at most 50), at most twice that many in flight; about one in ten is a caller's mistake
 * that must come back as a 4xx. Every SUMMARY_EVERY_MS it logs one line of what happened.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { httpStatusFromCode, StatusError } from '../../../src/index.ts';
import { type GatewayService, GatewayServiceName, OrderStatus } from '../lib/gen/shop.ts';
import { startService } from '../lib/service.ts';

const RPS = Math.min(50, Math.max(1, Number(process.env.TRAFFIC_RPS ?? 5) || 5));
const MAX_IN_FLIGHT = RPS * 2;
const SUMMARY_EVERY_MS = Number(process.env.SUMMARY_EVERY_MS ?? 5_000);
const PRODUCTS = ['mug', 'tee', 'stickers', 'hoodie'];

const svc = await startService('traffic');
const gateway = svc.connect<GatewayService>(svc.shop.gateway, 'http');

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;
const recentOrders: string[] = [];
type Call = [what: string, run: () => Promise<unknown>];

/** The next call of the mix: orders, look-ups, the catalogue, and a caller's mistakes. */
function nextCall(): Call {
  const roll = Math.random();
  const customerId = `c-${1 + Math.floor(Math.random() * 40)}`;
  if (roll < 0.55) {
    // One to three different products, and now and then the scarce keyboard.
    const products = [...PRODUCTS]
      .sort(() => Math.random() - 0.5)
      .slice(0, 1 + Math.floor(Math.random() * 3));
    if (Math.random() < 0.04) products.push('keyboard');
    const lines = products.map((productId) => ({ productId, quantity: 1 + Math.floor(Math.random() * 3) }));
    const paymentMethod = Math.random() < 0.02 ? 'pm_card_declined' : `pm_card_${customerId}`;
    return [
      'place order',
      async () => {
        const order = await gateway.placeOrder({ customerId, lines, paymentMethod }, { timeoutMs: 5_000 });
        recentOrders.push(order.id);
        if (recentOrders.length > 200) recentOrders.shift();
      },
    ];
  }
  if (roll < 0.8 && recentOrders.length > 0) {
    return [
      'get order',
      async () => tally.statuses.push((await gateway.getOrder({ id: pick(recentOrders) })).status),
    ];
  }
  if (roll < 0.9) return ['list products', () => gateway.listProducts({})];
  // Mistakes, each answered with a 4xx: 400 INVALID_ARGUMENT or 404 NOT_FOUND.
  const order = (productId: string, quantity: number, customer = customerId): Call => [
    'bad order',
    () =>
      gateway.placeOrder({ customerId: customer, lines: [{ productId, quantity }], paymentMethod: 'pm_x' }),
  ];
  return pick<Call>([
    order('mug', 0),
    order('unicorn', 1),
    order('tee', 1, ''),
    ['unknown order', () => gateway.getOrder({ id: 'ord_000000000000' })],
  ]);
}

let tally = freshTally();
function freshTally() {
  return {
    started: Date.now(),
    ok: 0,
    errors: new Map<string, number>(),
    shed: 0,
    latencies: [] as number[],
    statuses: [] as number[],
    /** The first failure of the period that is not the caller's fault (a 5xx), if any. */
    trouble: '',
  };
}

async function fire(): Promise<void> {
  const [what, run] = nextCall();
  const t0 = performance.now();
  try {
    await run();
    tally.ok++;
  } catch (err) {
    const status = StatusError.from(err);
    tally.errors.set(status.codeName, (tally.errors.get(status.codeName) ?? 0) + 1);
    if (httpStatusFromCode(status.code) >= 500 && !tally.trouble) tally.trouble = `${what}: ${status}`;
  } finally {
    tally.latencies.push(performance.now() - t0);
  }
}

function summarize(): void {
  const t = tally;
  tally = freshTally();
  const seconds = (Date.now() - t.started) / 1000;
  const total = t.latencies.length;
  const sorted = t.latencies.sort((a, b) => a - b);
  const pct = (p: number) => Math.round(sorted[Math.min(total - 1, Math.floor(p * total))] ?? 0);
  const errors = [...t.errors].map(([name, n]) => `${name} ${n}`).join(', ');
  const count = (s: number) => t.statuses.filter((x) => x === s).length;
  svc.log(
    `${total} calls in ${seconds.toFixed(1)}s (${(total / seconds).toFixed(1)}/s): ${t.ok} ok` +
      (errors ? `, failed: ${errors}` : '') +
      (t.shed ? `, ${t.shed} not sent (too many in flight)` : '') +
      ` · p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms` +
      ` · orders looked up: ${count(OrderStatus.ORDER_STATUS_PAID)} paid, ` +
      `${count(OrderStatus.ORDER_STATUS_PAYMENT_FAILED)} payment failed, ` +
      `${count(OrderStatus.ORDER_STATUS_PENDING_PAYMENT)} pending`,
  );
  if (t.trouble) svc.log(`  first 5xx: ${t.trouble}`);
}

// Start once a gateway is registered (in `switchboard dev` they all start together).
for (let waited = 0; !svc.stopping.aborted; waited++) {
  const found = await svc.registry.list(GatewayServiceName).catch(() => []);
  if (found.length > 0) break;
  if (waited === 0) svc.log(`waiting for ${GatewayServiceName} to register`);
  await sleep(250);
}
await svc.ready(`sending ${RPS} calls/s to ${GatewayServiceName} over HTTP`);

let inFlight = 0;
const ticker = setInterval(() => {
  if (inFlight >= MAX_IN_FLIGHT) {
    tally.shed++;
    return;
  }
  inFlight++;
  void fire().finally(() => inFlight--);
}, 1000 / RPS);
const reporter = setInterval(summarize, SUMMARY_EVERY_MS);
svc.onStop(async () => {
  clearInterval(ticker);
  clearInterval(reporter);
  // Let the calls under way finish (each has a deadline), so the last summary is complete.
  for (let i = 0; inFlight > 0 && i < 40; i++) await sleep(25);
  summarize();
});
