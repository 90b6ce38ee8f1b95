const EMPTY = 0;
/** Past this many slots, a colliding stream goes to the overflow Map instead of growing the table. */
const MAX_SLOTS = 4096;

/**
 * The calls in flight on a connection, by stream id. Stream ids grow one by one, so a slot
 * array indexed by `id & mask` rarely collides; a collision (a call outliving as many later
 * ones as there are slots) doubles the array, or past MAX_SLOTS goes to a small overflow Map.
 *
 * Why not a Map: with one insert and one delete per call, V8 rehashes a Map's table every few
 * dozen calls, and an obsolete table that reached old space keeps the entries it held alive
 * through every scavenge: measured, that promoted every call's objects and cost 20–40% of the
 * CPU in garbage collection at 50k calls/s. The slot array allocates nothing per call.
 */
export class StreamTable<T> {
  #ids: Uint32Array;
  #slots: (T | undefined)[];
  #mask: number;
  #overflow: Map<number, T> | undefined;
  #size = 0;

  /** Starts small (idle connections are cheap) and doubles on a collision, up to MAX_SLOTS. */
  constructor(initialSlots = 64) {
    let size = 16;
    while (size < initialSlots) size *= 2;
    this.#ids = new Uint32Array(size);
    this.#slots = new Array<T | undefined>(size).fill(undefined);
    this.#mask = size - 1;
  }

  get size(): number {
    return this.#size;
  }

  get(id: number): T | undefined {
    const i = id & this.#mask;
    if (this.#ids[i] === id) return this.#slots[i];
    return this.#overflow?.get(id);
  }

  /** Adds a stream; `id` is not in the table (stream ids are never reused on a connection). */
  set(id: number, value: T): void {
    if (!this.#place(id, value)) {
      if (this.#ids.length < MAX_SLOTS) {
        this.#grow();
        this.set(id, value);
        return;
      }
      this.#overflow ??= new Map();
      this.#overflow.set(id, value);
    }
    this.#size++;
  }

  delete(id: number): boolean {
    const i = id & this.#mask;
    if (this.#ids[i] === id && id !== EMPTY) {
      this.#ids[i] = EMPTY;
      this.#slots[i] = undefined;
      this.#size--;
      return true;
    }
    if (this.#overflow?.delete(id)) {
      this.#size--;
      if (this.#overflow.size === 0) this.#overflow = undefined;
      return true;
    }
    return false;
  }

  /** Every stream, as [id, value], in no particular order (a snapshot: deleting while iterating is fine). */
  entries(): [number, T][] {
    const out: [number, T][] = [];
    if (this.#size === 0) return out;
    for (let i = 0; i < this.#ids.length; i++) {
      if (this.#ids[i] !== EMPTY) out.push([this.#ids[i]!, this.#slots[i]!]);
    }
    if (this.#overflow) for (const entry of this.#overflow) out.push(entry);
    return out;
  }

  values(): T[] {
    return this.entries().map((entry) => entry[1]);
  }

  clear(): void {
    if (this.#size === 0) return;
    this.#ids.fill(EMPTY);
    this.#slots.fill(undefined);
    this.#overflow = undefined;
    this.#size = 0;
  }

  #place(id: number, value: T): boolean {
    const i = id & this.#mask;
    if (this.#ids[i] !== EMPTY) return false;
    this.#ids[i] = id;
    this.#slots[i] = value;
    return true;
  }

  #grow(): void {
    const ids = this.#ids;
    const slots = this.#slots;
    const size = ids.length * 2;
    this.#ids = new Uint32Array(size);
    this.#slots = new Array<T | undefined>(size).fill(undefined);
    this.#mask = size - 1;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id === EMPTY || this.#place(id, slots[i]!)) continue;
      this.#overflow ??= new Map();
      this.#overflow.set(id, slots[i]!);
    }
  }
}
