export * from './instance.ts';
export * from './instance-table.ts';
export * from './registry.ts';
export { StaticRegistry, type StaticService } from './static/registry.ts';
