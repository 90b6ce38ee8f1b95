/**
 * Holds handlers until released, so the in-flight memory scenario can park thousands of calls
 * in a server. While not holding, `wait()` returns undefined and handlers answer synchronously.
 */
export class Gate {
  #holding = false;
  #waiters: (() => void)[] = [];

  get pending(): number {
    return this.#waiters.length;
  }

  hold(): void {
    this.#holding = true;
  }

  wait(): Promise<void> | undefined {
    if (!this.#holding) return undefined;
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  release(): void {
    this.#holding = false;
    for (const resolve of this.#waiters.splice(0)) resolve();
  }
}

/** `value`, or a promise of it once the gate opens. */
export function through<T>(gate: Gate | undefined, value: T): T | Promise<T> {
  const wait = gate?.wait();
  return wait ? wait.then(() => value) : value;
}
