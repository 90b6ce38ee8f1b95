import type { Balancer, CallResult, Candidate } from './balancer.ts';
import { defaultRandom, type Random, randomIndex } from './clock.ts';

/** A uniformly random candidate: no state, no coordination, fair on average. */
export class RandomBalancer implements Balancer {
  readonly name = 'random' as const;
  readonly #random: Random;

  constructor(options: { random?: Random } = {}) {
    this.#random = options.random ?? defaultRandom;
  }

  pick<C extends Candidate>(candidates: readonly C[]): C | undefined {
    if (candidates.length === 0) return undefined;
    return candidates[randomIndex(candidates.length, this.#random)];
  }

  begin(_key: string): void {}

  end(_key: string, _result: CallResult): void {}

  retain(_keys: ReadonlySet<string>): void {}
}
