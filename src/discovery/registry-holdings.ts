import type { Lease, Watch } from './registry.ts';
import { RegistryError } from './registry.ts';

/**
 * What a registry holds open, and its closing: the leases it keeps alive and the watches it
 * feeds. A lease leaves when it ends (deregistered or abandoned), a watch when it is closed.
 * `close()` closes the watches first, so none is pushed the registry's own deregistrations,
 * then deregisters every lease still held, together; afterwards new leases and watches are
 * refused.
 */
export class RegistryHoldings {
  readonly #closedMessage: string;
  readonly #leases = new Set<Lease>();
  readonly #watches = new Set<Watch>();
  #closed = false;

  /** `closedMessage`: the RegistryError's message for work asked of the closed registry. */
  constructor(closedMessage: string) {
    this.#closedMessage = closedMessage;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Throws a RegistryError once the registry is closed. */
  assertOpen(): void {
    if (this.#closed) throw new RegistryError(this.#closedMessage);
  }

  /**
   * Holds `lease` until it ends, when it must call `release`. A registration that completed
   * after close() began is deregistered at once (nothing would end it otherwise) and refused.
   */
  async hold<L extends Lease>(lease: L): Promise<L> {
    this.#leases.add(lease);
    if (this.#closed) {
      await lease.deregister().catch(() => {}); // else it expires on the server by itself
      this.assertOpen();
    }
    return lease;
  }

  /** The lease ended: forget it. */
  release(lease: Lease): void {
    this.#leases.delete(lease);
  }

  /** Holds `watch` until it is closed; hand out the Watch returned, whose close() forgets it. */
  watch(watch: Watch): Watch {
    this.assertOpen();
    this.#watches.add(watch);
    return {
      close: () => {
        this.#watches.delete(watch);
        watch.close();
      },
    };
  }

  /**
   * Closes the watches, then deregisters the leases still held, all at once. Resolves, when
   * every deregistration has settled, with the errors of those that failed (their instances
   * expire on the server by themselves); a second call resolves with none.
   */
  async close(): Promise<unknown[]> {
    if (this.#closed) return [];
    this.#closed = true;
    const watches = [...this.#watches];
    this.#watches.clear();
    for (const watch of watches) watch.close();
    const results = await Promise.allSettled([...this.#leases].map((lease) => lease.deregister()));
    return results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
  }
}
