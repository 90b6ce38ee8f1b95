import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InstanceTable } from '../../discovery/instance-table.ts';
import type { HubAccess } from '../access/hub-access.ts';

/** What a hub API module is given: the shared state of the hub. */
export interface HubState {
  readonly registry: InstanceTable;
  /** Aborted when the hub stops: blocking queries and streams end. */
  readonly closing: AbortSignal;
  /** Who may read and change what (docs/security.md#hub-access); everything is allowed unless set. */
  readonly access?: HubAccess;
}

/**
 * One family of hub endpoints (Switchboard's own, Consul's, Eureka's). `handle` answers the
 * request and returns true, or returns false when the path is not its own.
 */
export interface HubApi {
  readonly name: string;
  handle(req: IncomingMessage, res: ServerResponse, url: URL): boolean | Promise<boolean>;
}
