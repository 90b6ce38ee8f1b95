import type { Balancer, CallResult, Candidate } from './balancer.ts';
import { defaultRandom, type Random, randomIndex } from './clock.ts';

/**
 * Each candidate in turn. The first turn starts at a random place, so that many clients
 * started together do not all hit the first instance first.
 */
export class RoundRobinBalancer implements Balancer {
  readonly name = 'round_robin' as const;
  readonly #random: Random;
  #next: number | undefined;

  constructor(options: { random?: Random } = {}) {
    this.#random = options.random ?? defaultRandom;
  }

  pick<C extends Candidate>(candidates: readonly C[]): C | undefined {
    const n = candidates.length;
    if (n === 0) return undefined;
    // The list may shrink or grow between picks (ejections, discovery); modulo keeps us in it.
    const index = (this.#next ?? randomIndex(n, this.#random)) % n;
    this.#next = index + 1;
    return candidates[index];
  }

  begin(_key: string): void {}

  end(_key: string, _result: CallResult): void {}

  retain(_keys: ReadonlySet<string>): void {}
}
