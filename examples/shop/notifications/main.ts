/**
 * Notifications: tells customers what happened to their orders. Consumes OrderPlaced,
 * PaymentSucceeded and PaymentFailed in its own group, "notifications", so it gets every
 * event whatever payments and orders (other groups) do with them. Sending an e-mail is
 * simulated by a log line.
 */
import { dollars, ShopEvents } from '../lib/contract.ts';
import type { OrderPlaced, PaymentFailed, PaymentSucceeded } from '../lib/gen/shop.ts';
import { startService } from '../lib/service.ts';

const svc = await startService('notifications');
const options = { group: 'notifications', startAt: 'earliest' } as const;

const subscriptions = [
  await svc.events.subscribe<OrderPlaced>(
    ShopEvents.OrderPlaced,
    (e) =>
      svc.log(`notified customer ${e.customerId}: order ${e.orderId} received (${dollars(e.totalCents)})`),
    options,
  ),
  await svc.events.subscribe<PaymentSucceeded>(
    ShopEvents.PaymentSucceeded,
    (e) => svc.log(`notified customer ${e.customerId}: order ${e.orderId} paid, ${dollars(e.amountCents)}`),
    options,
  ),
  await svc.events.subscribe<PaymentFailed>(
    ShopEvents.PaymentFailed,
    (e) => svc.log(`notified customer ${e.customerId}: payment for order ${e.orderId} failed (${e.reason})`),
    options,
  ),
];
svc.onStop(() => Promise.all(subscriptions.map((s) => s.close())));
await svc.ready('notifying customers of orders and payments');
