/**
 * Orders: owns orders and their status, in memory. Serves shop.v1.Orders over gRPC. Placing
 * an order reserves its stock at inventory (native transport, by name through the hub), then
 * publishes OrderPlaced; the payment's outcome arrives as an event and settles the status.
 * A failed payment gives the stock back with a Release command through the queue, which
 * inventory runs once per order however often it is sent (its idempotency key names the order).
 */
import { randomBytes } from 'node:crypto';
import { commandClient, type Implementation, Status, StatusError } from '../../../src/index.ts';
import { dollars, ShopEvents } from '../lib/contract.ts';
import {
  type InventoryService,
  type Order,
  type OrderPlaced,
  OrderStatus,
  type OrdersService,
  type PaymentFailed,
  type PaymentSucceeded,
  type PlaceOrderRequest,
} from '../lib/gen/shop.ts';
import { startService } from '../lib/service.ts';

const svc = await startService('orders');
const inventory = svc.connect<InventoryService>(svc.shop.inventory, 'native');
const inventoryCommands = commandClient<InventoryService>(svc.shop.inventory, svc.broker, {
  source: `/shop/${svc.name}`,
});
svc.onStop(() => inventoryCommands.close());
const Placed = svc.events.type<OrderPlaced>(ShopEvents.OrderPlaced);
const Succeeded = svc.events.type<PaymentSucceeded>(ShopEvents.PaymentSucceeded);
const Failed = svc.events.type<PaymentFailed>(ShopEvents.PaymentFailed);

/** Orders by id, oldest first; bounded, as a demo's memory should be. */
const orders = new Map<string, Order>();
const MAX_ORDERS = 20_000;

const ordersService: Implementation<OrdersService> = {
  async placeOrder(req: PlaceOrderRequest) {
    if (!req.customerId) throw new StatusError(Status.INVALID_ARGUMENT, 'customerId is required');
    if (!req.paymentMethod) throw new StatusError(Status.INVALID_ARGUMENT, 'paymentMethod is required');
    if (req.lines.length === 0)
      throw new StatusError(Status.INVALID_ARGUMENT, 'an order needs at least one line');
    const id = `ord_${randomBytes(6).toString('hex')}`;
    // Inventory checks the lines and takes the stock, or refuses (NOT_FOUND, FAILED_PRECONDITION,
    // INVALID_ARGUMENT): its status reaches the caller as is. The deadline is the caller's.
    const reservation = await inventory.reserve({ orderId: id, lines: req.lines });
    const order: Order = {
      id,
      customerId: req.customerId,
      lines: req.lines,
      totalCents: reservation.totalCents,
      status: OrderStatus.ORDER_STATUS_PENDING_PAYMENT,
      statusReason: '',
      createdAt: new Date().toISOString(),
    };
    orders.set(id, order);
    if (orders.size > MAX_ORDERS) orders.delete(orders.keys().next().value!);
    try {
      await svc.events.publish(
        Placed,
        {
          orderId: id,
          customerId: req.customerId,
          totalCents: order.totalCents,
          paymentMethod: req.paymentMethod,
        },
        { id: `placed:${id}`, key: id, subject: `orders/${id}` },
      );
    } catch (err) {
      // Nobody will charge an order whose event was lost: undo it rather than keep it pending.
      orders.delete(id);
      await inventory.release({ orderId: id, reason: 'order not placed' }).catch(() => {});
      svc.log(`could not publish OrderPlaced for ${id}: ${(err as Error).message}`);
      throw new StatusError(Status.UNAVAILABLE, 'the order could not be placed, try again');
    }
    const summary = order.lines.map((l) => `${l.quantity}× ${l.productId}`).join(', ');
    svc.log(`placed ${id} for ${order.customerId}: ${summary} = ${dollars(order.totalCents)}`);
    return order;
  },

  getOrder(req) {
    if (!req.id) throw new StatusError(Status.INVALID_ARGUMENT, 'id is required');
    const order = orders.get(req.id);
    if (!order) throw new StatusError(Status.NOT_FOUND, `no order ${req.id}`);
    return order;
  },
};

/** The first outcome wins: a redelivered or late event of the same order changes nothing. */
function settle(orderId: string, status: OrderStatus, reason = ''): Order | undefined {
  const order = orders.get(orderId);
  if (!order) {
    svc.log(`payment outcome for unknown order ${orderId} (placed before a restart?)`);
    return undefined;
  }
  if (order.status !== OrderStatus.ORDER_STATUS_PENDING_PAYMENT) return undefined;
  order.status = status;
  order.statusReason = reason;
  return order;
}

const paid = await svc.events.subscribe(
  Succeeded,
  (event) => {
    if (settle(event.orderId, OrderStatus.ORDER_STATUS_PAID)) svc.log(`${event.orderId} paid`);
  },
  { group: 'orders', startAt: 'earliest' },
);
svc.onStop(() => paid.close());

const unpaid = await svc.events.subscribe(
  Failed,
  async (event, ctx) => {
    if (settle(event.orderId, OrderStatus.ORDER_STATUS_PAYMENT_FAILED, event.reason)) {
      svc.log(`${event.orderId} payment failed (${event.reason}): releasing its stock`);
    }
    // Sent on every delivery, run once by inventory: the key makes a redelivery harmless, and a
    // failure here (broker away) throws, so this event is retried until the command is out.
    await inventoryCommands.release(
      { orderId: event.orderId, reason: `payment failed: ${event.reason}` },
      { idempotencyKey: `release:${event.orderId}`, key: event.orderId, parent: ctx },
    );
  },
  { group: 'orders', startAt: 'earliest' },
);
svc.onStop(() => unpaid.close());

await svc.serve<OrdersService>(svc.shop.orders, ordersService, { grpc: 0 });
await svc.ready('taking orders; following payment outcomes');
