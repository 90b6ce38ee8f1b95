/**
 * Inventory: products and stock, in memory. Serves shop.v1.Inventory on the native transport
 * (orders reserve stock, the gateway lists products) and also takes its methods as commands
 * from the queue (orders sends Release when a payment fails). A warehouse delivery restocks
 * a little every few seconds, so the scarce keyboard runs out now and then.
 */
import { type Implementation, Status, StatusError, serveCommands } from '../../../src/index.ts';
import { dollars } from '../lib/contract.ts';
import type {
  InventoryService,
  OrderLine,
  Product,
  ReleaseRequest,
  Reservation,
  ReserveRequest,
} from '../lib/gen/shop.ts';
import { startService } from '../lib/service.ts';

interface StockedProduct extends Product {
  /** Stock a delivery fills up to, and how much one delivery brings. */
  capacity: number;
  restock: number;
}

const catalog: StockedProduct[] = [
  { id: 'mug', name: 'Switchboard mug', priceCents: 1200, inStock: 400, capacity: 400, restock: 60 },
  { id: 'tee', name: 'T-shirt', priceCents: 2500, inStock: 250, capacity: 250, restock: 40 },
  { id: 'stickers', name: 'Sticker pack', priceCents: 400, inStock: 900, capacity: 900, restock: 100 },
  { id: 'hoodie', name: 'Hoodie', priceCents: 5500, inStock: 150, capacity: 150, restock: 30 },
  { id: 'keyboard', name: 'Mechanical keyboard', priceCents: 14900, inStock: 5, capacity: 5, restock: 1 },
];
const products = new Map(catalog.map((p) => [p.id, p]));
const RESTOCK_EVERY_MS = 5_000;

interface Held {
  lines: OrderLine[];
  totalCents: number;
  released: boolean;
}
/** Reservations by order id, oldest first; a bounded memory, as a demo can afford. */
const reservations = new Map<string, Held>();
const MAX_RESERVATIONS = 20_000;

const svc = await startService('inventory');

const inventory: Implementation<InventoryService> = {
  listProducts() {
    return {
      products: catalog.map(({ id, name, priceCents, inStock }) => ({ id, name, priceCents, inStock })),
    };
  },

  reserve(req: ReserveRequest): Reservation {
    if (!req.orderId) throw new StatusError(Status.INVALID_ARGUMENT, 'orderId is required');
    const held = reservations.get(req.orderId);
    if (held) return { orderId: req.orderId, totalCents: held.totalCents }; // a retry: same answer
    const wanted = merge(req.lines);
    let totalCents = 0;
    for (const [productId, quantity] of wanted) {
      const product = products.get(productId);
      if (!product) throw new StatusError(Status.NOT_FOUND, `no product "${productId}"`);
      if (product.inStock < quantity) {
        svc.log(`short of ${productId} for ${req.orderId}: ${product.inStock} left, ${quantity} wanted`);
        throw new StatusError(
          Status.FAILED_PRECONDITION,
          `only ${product.inStock} ${product.name} left, ${quantity} wanted`,
        );
      }
      totalCents += product.priceCents * quantity;
    }
    // All lines are available: take them together, so an order never holds part of its stock.
    for (const [productId, quantity] of wanted) products.get(productId)!.inStock -= quantity;
    const lines = [...wanted].map(([productId, quantity]) => ({ productId, quantity }));
    reservations.set(req.orderId, { lines, totalCents, released: false });
    if (reservations.size > MAX_RESERVATIONS) reservations.delete(reservations.keys().next().value!);
    return { orderId: req.orderId, totalCents };
  },

  release(req: ReleaseRequest) {
    const held = reservations.get(req.orderId);
    if (!held || held.released) return { released: 0 }; // unknown or done: nothing to give back
    held.released = true;
    let released = 0;
    for (const line of held.lines) {
      products.get(line.productId)!.inStock += line.quantity;
      released += line.quantity;
    }
    svc.log(
      `released ${released} unit${released === 1 ? '' : 's'} of ${req.orderId} (${dollars(held.totalCents)}): ${req.reason}`,
    );
    return { released };
  },
};

/** Lines by product, quantities added up; a quantity outside 1..100 is refused. */
function merge(lines: readonly OrderLine[]): Map<string, number> {
  if (lines.length === 0) throw new StatusError(Status.INVALID_ARGUMENT, 'an order needs at least one line');
  const wanted = new Map<string, number>();
  for (const { productId, quantity } of lines) {
    if (!productId) throw new StatusError(Status.INVALID_ARGUMENT, 'every line needs a productId');
    if (!Number.isInteger(quantity) || quantity < 1 || quantity > 100) {
      throw new StatusError(
        Status.INVALID_ARGUMENT,
        `quantity of ${productId} must be 1..100, not ${quantity}`,
      );
    }
    wanted.set(productId, (wanted.get(productId) ?? 0) + quantity);
  }
  return wanted;
}

const restocking = setInterval(() => {
  for (const product of catalog) {
    if (product.inStock >= product.capacity) continue;
    if (product.inStock === 0) svc.log(`${product.id} back in stock`);
    product.inStock = Math.min(product.capacity, product.inStock + product.restock);
  }
}, RESTOCK_EVERY_MS);
svc.onStop(() => clearInterval(restocking));

const server = await svc.serve<InventoryService>(svc.shop.inventory, inventory, { native: 0 });
// Release (and Reserve) also arrive as commands: run once per idempotency key, retried on failure.
const commands = await serveCommands(server, svc.broker, { startAt: 'earliest', handlerTimeoutMs: 5_000 });
svc.onStop(() => commands.close());
await svc.ready(`${catalog.length} products; Release and Reserve also as commands`);
