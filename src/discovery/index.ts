export { ConsulRegistry, type ConsulRegistryOptions } from './consul/registry.ts';
export { EtcdRegistry, type EtcdRegistryOptions } from './etcd/registry.ts';
export { EurekaRegistry, type EurekaRegistryOptions } from './eureka/registry.ts';
export { HubRegistry, type HubRegistryOptions } from './hub/registry.ts';
export * from './instance.ts';
export * from './instance-table.ts';
export * from './registry.ts';
export { StaticRegistry, type StaticService } from './static/registry.ts';
export { ZooKeeperRegistry, type ZooKeeperRegistryOptions } from './zookeeper/registry.ts';
