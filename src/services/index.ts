export { fileDescriptorBytes } from './descriptor-proto.ts';
export {
  HEALTH_SERVICE_NAME,
  type HealthMethods,
  HealthService,
  healthContract,
  type ServingStatus,
} from './health.ts';
export { type FileMember, type ProtoFile, ProtoFileSet } from './proto-files.ts';
export { REFLECTION_SERVICE_NAMES, ReflectionService, reflectionContract } from './reflection.ts';
export {
  contractFromDescriptors,
  ReflectionClient,
  type ReflectionClientOptions,
} from './reflection-client.ts';
