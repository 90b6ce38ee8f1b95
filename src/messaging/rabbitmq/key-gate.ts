/**
 * Order per key within one member. A queue delivers in order, but with a prefetch above one the
 * handlers run concurrently; the gate lets one delivery per key run at a time and holds the key's
 * next ones, in arrival order, until it is settled.
 *
 * A delivery nacked back into a quorum queue returns ahead of every message not yet delivered;
 * with a single active consumer it returns to this member. `release(key, id)` keeps the key
 * closed until that id arrives again, so it runs before the key's later messages held here.
 */

interface Keyed {
  readonly id: string;
  readonly key: string | undefined;
}

interface KeyState<T> {
  /** Arrived while the key was busy, in arrival order. */
  readonly held: T[];
  /** The id of a requeued delivery that must come back before the held ones run. */
  awaiting: string | undefined;
}

export class KeyGate<T extends Keyed> {
  readonly #keys = new Map<string, KeyState<T>>();

  /** True when `item` may run now; otherwise it is held until its key is released to it. */
  admit(item: T): boolean {
    if (item.key === undefined) return true;
    const state = this.#keys.get(item.key);
    if (!state) {
      this.#keys.set(item.key, { held: [], awaiting: undefined });
      return true;
    }
    if (state.awaiting === item.id) {
      state.awaiting = undefined;
      return true;
    }
    state.held.push(item);
    return false;
  }

  /**
   * The running item of `key` is settled. Returns the key's next item to run, if any. With
   * `awaitId` the key stays closed until that id is admitted again.
   */
  release(key: string | undefined, awaitId?: string): T | undefined {
    if (key === undefined) return undefined;
    const state = this.#keys.get(key);
    if (!state) return undefined;
    if (awaitId !== undefined) {
      state.awaiting = awaitId;
      return undefined;
    }
    const next = state.held.shift();
    if (next === undefined) this.#keys.delete(key);
    return next;
  }

  /**
   * Stops waiting for `awaitId` if the key still does (it did not come back: purged, or taken by
   * another consumer) and returns the key's next item to run, if any.
   */
  giveUp(key: string, awaitId: string): T | undefined {
    const state = this.#keys.get(key);
    if (state?.awaiting !== awaitId) return undefined;
    state.awaiting = undefined;
    return this.release(key);
  }

  /** Forgets everything (the channel is gone: RabbitMQ requeued what was held). */
  clear(): void {
    this.#keys.clear();
  }
}
