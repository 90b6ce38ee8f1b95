/** A steady stream of calls with a fixed number in flight, counting what succeeded and what failed. */

export interface LoadResult {
  ok: number;
  failed: number;
  /** The first few failures, for the assertion message. */
  errors: string[];
  /** The slowest call, ms: a stall shows here even when nothing failed. */
  maxLatencyMs: number;
}

export class SteadyLoad {
  readonly #call: () => Promise<unknown>;
  readonly #workers: Promise<void>[] = [];
  readonly #result: LoadResult = { ok: 0, failed: 0, errors: [], maxLatencyMs: 0 };
  #running = false;

  constructor(call: () => Promise<unknown>) {
    this.#call = call;
  }

  get result(): LoadResult {
    return this.#result;
  }

  start(concurrency: number): void {
    this.#running = true;
    for (let i = 0; i < concurrency; i++) this.#workers.push(this.#worker());
  }

  async stop(): Promise<LoadResult> {
    this.#running = false;
    await Promise.all(this.#workers);
    return this.#result;
  }

  async #worker(): Promise<void> {
    while (this.#running) {
      const started = performance.now();
      try {
        await this.#call();
        this.#result.ok++;
      } catch (err) {
        this.#result.failed++;
        if (this.#result.errors.length < 5) this.#result.errors.push(String(err));
      }
      this.#result.maxLatencyMs = Math.max(this.#result.maxLatencyMs, performance.now() - started);
    }
  }
}
