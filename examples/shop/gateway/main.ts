/**
 * Gateway: the shop's REST edge. Serves shop.v1.Gateway over HTTP/JSON, its routes from the
 * contract's google.api.http rules (POST /api/orders, GET /api/orders/{id}, GET /api/products),
 * and forwards each call by name through the hub: orders over gRPC, inventory over the native
 * transport. The caller's deadline travels with every hop; a status from behind (NOT_FOUND,
 * INVALID_ARGUMENT…) reaches the HTTP client as its HTTP status and JSON error body.
 */
import { httpStatusFromCode, type Implementation, StatusError } from '../../../src/index.ts';
import type { GatewayService, InventoryService, OrdersService } from '../lib/gen/shop.ts';
import { startService } from '../lib/service.ts';

/** Calls from the edge get at most this long, however long the HTTP client would wait. */
const BACKEND_TIMEOUT_MS = 3_000;

const svc = await startService('gateway');
const orders = svc.connect<OrdersService>(svc.shop.orders, 'grpc');
const inventory = svc.connect<InventoryService>(svc.shop.inventory, 'native');

/** Relays a backend's failure; the 5xx ones (trouble behind, not the caller's mistake) are logged. */
function failed(what: string) {
  return (err: unknown): never => {
    const status = StatusError.from(err);
    if (httpStatusFromCode(status.code) >= 500) svc.log(`${what}: ${status.codeName}: ${status.message}`);
    throw status; // the host strips a downstream's "never processed" mark: this call did run
  };
}

const gateway: Implementation<GatewayService> = {
  placeOrder: (req) => orders.placeOrder(req, { timeoutMs: BACKEND_TIMEOUT_MS }).catch(failed('place order')),
  getOrder: (req) => orders.getOrder(req, { timeoutMs: BACKEND_TIMEOUT_MS }).catch(failed('get order')),
  listProducts: (req) =>
    inventory.listProducts(req, { timeoutMs: BACKEND_TIMEOUT_MS }).catch(failed('list products')),
};

const port = Number(process.env.GATEWAY_PORT ?? 0);
const server = await svc.serve<GatewayService>(svc.shop.gateway, gateway, { http: port });
const base = `http://${server.addresses.http?.host}:${server.addresses.http?.port}`;
svc.log(`try  curl -s ${base}/api/products`);
svc.log(
  `     curl -s ${base}/api/orders -H 'content-type: application/json' ` +
    `-d '{"customerId":"c-1","lines":[{"productId":"mug","quantity":2}],"paymentMethod":"pm_card_approved"}'`,
);
await svc.ready(`REST on ${base}`);
