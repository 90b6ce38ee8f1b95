/**
 * What a member holds for one partition assigned to it: the offsets taken (OffsetTracker), where
 * its reading starts, the order of each key, and the waits to cut when the partition goes.
 */
import { OffsetTracker } from './offset-tracker.ts';
import { Sleeps } from './waits.ts';

export class PartitionState {
  readonly tracker: OffsetTracker;
  readonly sleeps = new Sleeps();
  /** Deliveries counted by earlier owners, from the committed offset's metadata. */
  readonly prior: ReadonlyMap<number, number>;
  /** `offset|metadata` of the last commit, to skip commits that change nothing. */
  committed = '';
  /** Set while consumption of the partition is paused because too much is unsettled. */
  resume: (() => void) | undefined;
  #live = true;
  readonly #keyTails = new Map<string, Promise<void>>();

  /**
   * `start`: the committed offset (or the one the group starts at, pinned by a commit); records
   * below it are skipped. Undefined: read from wherever the consumer starts (earliest).
   */
  constructor(
    readonly partition: number,
    start: number | undefined,
    prior: ReadonlyMap<number, number>,
  ) {
    this.tracker = new OffsetTracker(start);
    this.prior = prior;
  }

  get live(): boolean {
    return this.#live;
  }

  /** The partition went to another member (or the subscription closes): stop working on it. */
  revoke(): void {
    this.#live = false;
    this.sleeps.cancel();
  }

  /**
   * Waits until the key's previous message is settled (or given up); the returned function
   * passes the key on, and must be called once this message is. No key: no wait.
   */
  async turn(key: string | undefined): Promise<() => void> {
    if (key === undefined) return () => {};
    const previous = this.#keyTails.get(key);
    let pass: () => void = () => {};
    const mine = new Promise<void>((resolve) => {
      pass = resolve;
    });
    this.#keyTails.set(key, mine);
    if (previous) await previous;
    return () => {
      pass();
      if (this.#keyTails.get(key) === mine) this.#keyTails.delete(key);
    };
  }
}
