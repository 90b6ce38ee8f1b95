/**
 * Payments: charges each placed order. Consumes OrderPlaced (group "payments") and publishes
 * PaymentSucceeded or PaymentFailed. The card processor is simulated: about one payment in ten
 * is declined, large amounts more often, and now and then the processor times out — then the
 * handler throws UNAVAILABLE and the broker redelivers the event with backoff.
 *
 * Delivery is at least once, so the same OrderPlaced may come twice. A ledger by order id
 * makes that harmless: an order is charged once, and a redelivery publishes the recorded
 * outcome again under the same event id, which the broker drops if it already has it.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type EventContext, Status, StatusError } from '../../../src/index.ts';
import { dollars, ShopEvents } from '../lib/contract.ts';
import type { OrderPlaced, PaymentFailed, PaymentSucceeded } from '../lib/gen/shop.ts';
import { startService } from '../lib/service.ts';

type Outcome = { ok: true; paymentId: string } | { ok: false; reason: string };

/** Outcomes by order id, oldest first; bounded. */
const ledger = new Map<string, Outcome>();
const MAX_LEDGER = 20_000;

const svc = await startService('payments');
const Placed = svc.events.type<OrderPlaced>(ShopEvents.OrderPlaced);
const Succeeded = svc.events.type<PaymentSucceeded>(ShopEvents.PaymentSucceeded);
const Failed = svc.events.type<PaymentFailed>(ShopEvents.PaymentFailed);

/** The card processor, simulated: 30–150 ms per charge. Test tokens behave the same every time. */
async function charge(order: OrderPlaced, signal: AbortSignal): Promise<Outcome> {
  await sleep(30 + Math.random() * 120, undefined, { signal });
  const approved = (): Outcome => ({ ok: true, paymentId: `pay_${randomBytes(6).toString('hex')}` });
  if (order.paymentMethod === 'pm_card_approved') return approved();
  if (order.paymentMethod === 'pm_card_declined') return { ok: false, reason: 'card declined' };
  const roll = Math.random();
  if (roll < 0.03) throw new StatusError(Status.UNAVAILABLE, 'card processor timed out');
  if (roll < 0.09) return { ok: false, reason: 'card declined' };
  if (roll < 0.12) return { ok: false, reason: 'insufficient funds' };
  if (order.totalCents > 30_000 && roll < 0.2) return { ok: false, reason: 'flagged as possible fraud' };
  return approved();
}

async function onOrderPlaced(order: OrderPlaced, ctx: EventContext): Promise<void> {
  let outcome = ledger.get(order.orderId);
  if (outcome) {
    svc.log(
      `${order.orderId} again (attempt ${ctx.attempt}): already ${outcome.ok ? 'charged' : 'declined'}`,
    );
  } else {
    try {
      outcome = await charge(order, ctx.signal);
    } catch (err) {
      svc.log(`${order.orderId}: ${(err as Error).message} (attempt ${ctx.attempt}), the broker will retry`);
      throw err;
    }
    ledger.set(order.orderId, outcome);
    if (ledger.size > MAX_LEDGER) ledger.delete(ledger.keys().next().value!);
    svc.log(
      outcome.ok
        ? `charged ${dollars(order.totalCents)} for ${order.orderId} (${outcome.paymentId})`
        : `declined ${order.orderId} (${dollars(order.totalCents)}): ${outcome.reason}`,
    );
  }
  // One event id per order: publishing it again after a redelivery is a no-op at the broker.
  const options = { id: `payment:${order.orderId}`, key: order.orderId, parent: ctx };
  const common = { orderId: order.orderId, customerId: order.customerId, amountCents: order.totalCents };
  if (outcome.ok) await svc.events.publish(Succeeded, { ...common, paymentId: outcome.paymentId }, options);
  else await svc.events.publish(Failed, { ...common, reason: outcome.reason }, options);
}

const subscription = await svc.events.subscribe(Placed, onOrderPlaced, {
  group: 'payments',
  startAt: 'earliest',
  maxAttempts: 5,
  maxInFlight: 32,
});
svc.onStop(() => subscription.close());
await svc.ready(`charging orders from topic ${svc.events.topicOf(Placed)}`);
