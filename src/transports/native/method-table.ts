import type { HostedMethod, ServiceHost } from '../../core/host.ts';
import { MAX_METHOD_IDS } from './frame.ts';
import { protocolError } from './protocol-error.ts';

/** A method a REQUEST named, and what the host serves there (undefined: UNIMPLEMENTED). */
export interface MethodEntry {
  readonly path: string;
  readonly hosted: HostedMethod | undefined;
}

/**
 * The server side of a connection's method-id cache: a REQUEST that carries a path (and a
 * non-zero id) binds the id; later REQUESTs carry only the id, so the server neither decodes
 * nor hashes the path again. Unknown paths are bound too, so they answer UNIMPLEMENTED cheaply.
 */
export class MethodTable {
  readonly #host: ServiceHost;
  readonly #entries: (MethodEntry | undefined)[] = [];

  constructor(host: ServiceHost) {
    this.#host = host;
  }

  /** The method of a REQUEST; a protocol error when it names none or an unbound id. */
  resolve(id: number, path: string | undefined): MethodEntry {
    if (path !== undefined) {
      const entry = { path, hosted: this.#host.lookup(path) };
      if (id !== 0) {
        if (id > MAX_METHOD_IDS)
          throw protocolError(`method id ${id} is over the limit of ${MAX_METHOD_IDS}`);
        this.#entries[id] = entry;
      }
      return entry;
    }
    const entry = id === 0 ? undefined : this.#entries[id];
    if (!entry) {
      throw protocolError(id === 0 ? 'REQUEST names no method' : `method id ${id} was never bound to a path`);
    }
    return entry;
  }
}
