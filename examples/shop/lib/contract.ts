/** The shop's contract, loaded once per process from proto/shop.proto (no build step). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Contract, loadContract, type ServiceDescriptor } from '../../../src/index.ts';
import { GatewayServiceName, InventoryServiceName, OrdersServiceName } from './gen/shop.ts';

export const SHOP_PROTO = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'proto',
  'shop.proto',
);

export interface ShopContract {
  readonly contract: Contract;
  readonly gateway: ServiceDescriptor;
  readonly orders: ServiceDescriptor;
  readonly inventory: ServiceDescriptor;
}

export async function loadShop(): Promise<ShopContract> {
  const contract = await loadContract(SHOP_PROTO);
  return {
    contract,
    gateway: contract.service(GatewayServiceName),
    orders: contract.service(OrdersServiceName),
    inventory: contract.service(InventoryServiceName),
  };
}

/** Event names as the contract spells them, for EventBus.type(). */
export const ShopEvents = {
  OrderPlaced: 'shop.v1.OrderPlaced',
  PaymentSucceeded: 'shop.v1.PaymentSucceeded',
  PaymentFailed: 'shop.v1.PaymentFailed',
} as const;

/** "$12.50" */
export function dollars(cents: number): string {
  return `$${(cents / 100).toFixed(2)}`;
}
