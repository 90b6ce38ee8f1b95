/** Switchboard: one Protocol Buffers contract, served and called over HTTP/REST, gRPC and native TCP. */
export * from './app/index.ts';
export * from './cluster/index.ts';
export * from './contract/index.ts';
export * from './core/index.ts';
export * from './discovery/index.ts';
export * from './governance/index.ts';
export * from './observe/index.ts';
export * from './services/index.ts';
