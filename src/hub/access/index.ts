export { BrokerAccess } from './broker-access.ts';
export { type CredentialSources, HubAccess, OPEN_ACCESS, requestToken } from './hub-access.ts';
export { matchesAny, matchesPattern, type NamePattern } from './patterns.ts';
export {
  ANONYMOUS,
  type Authentication,
  callerName,
  type HubAccessConfig,
  HubAccessPolicy,
  type HubAction,
  type HubCaller,
  type HubGrantConfig,
} from './policy.ts';
