import { StatusError } from '../../contract/errors.ts';
import { Status } from '../../contract/status.ts';
import type { ServerCallContext } from '../../core/context.ts';
import type { ServiceHost } from '../../core/host.ts';
import type { ListenAddress, ServerTransport } from '../../core/transport.ts';
import { type InprocEndpoint, registerEndpoint, unregisterEndpoint } from './registry.ts';

export interface InprocServerOptions {
  /** The name clients use as target; a unique "inproc-N" unless set. */
  name?: string;
}

let nextId = 1;

/**
 * Serves a ServiceHost to InprocTransport clients in the same process, under a name: no
 * sockets, but the same lifecycle as the network servers (listen, graceful close).
 */
export class InprocServer implements ServerTransport {
  readonly name = 'inproc';
  readonly #host: ServiceHost;
  readonly #address: string;
  readonly #active = new Set<ServerCallContext>();
  readonly #endpoint: InprocEndpoint;
  #idle: (() => void) | undefined;
  #listening = false;

  constructor(host: ServiceHost, options: InprocServerOptions = {}) {
    this.#host = host;
    this.#address = options.name ?? `inproc-${nextId++}`;
    this.#endpoint = {
      host: this.#host,
      track: (ctx) => {
        this.#active.add(ctx);
        return () => {
          this.#active.delete(ctx);
          if (this.#active.size === 0) this.#idle?.();
        };
      },
    };
  }

  /** The target clients pass to InprocTransport. */
  get target(): string {
    return this.#address;
  }

  async listen(): Promise<ListenAddress> {
    if (!this.#listening) {
      registerEndpoint(this.#address, this.#endpoint);
      this.#listening = true;
    }
    return { host: this.#address, port: 0 };
  }

  /** New calls fail with UNAVAILABLE at once; running ones get `graceMs`, then are cancelled. */
  async close(graceMs = 5000): Promise<void> {
    if (this.#listening) {
      unregisterEndpoint(this.#address, this.#endpoint);
      this.#listening = false;
    }
    if (this.#active.size === 0) return;
    const idle = new Promise<void>((resolve) => {
      this.#idle = resolve;
    });
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([idle, expired]);
    clearTimeout(timer);
    for (const ctx of this.#active)
      ctx.cancel(new StatusError(Status.UNAVAILABLE, 'the server is shutting down'));
    this.#active.clear();
  }
}
