/**
 * Which partition a record goes to. Keyed records: Kafka's default partitioner exactly,
 * `(murmur2(key) & 0x7fffffff) % partitions`. Murmur2 over FNV-1a because it spreads keys
 * as well and is byte-for-byte what Kafka clients (Java, librdkafka's murmur2 partitioner,
 * kafka-python, kafkajs) compute, so a key lands on the same partition number here as on a
 * Kafka topic with the same partition count: moving between the embedded broker and Kafka
 * keeps per-key order. The hash is of the key's bytes only, so it never changes with the
 * process, the platform or the Node version.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's `Utils.murmur2`: a signed 32-bit hash. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  switch (length & 3) {
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: murmur2's tail falls through by design
    case 3:
      h ^= data[whole + 2]! << 16;
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: as above
    case 2:
      h ^= data[whole + 1]! << 8;
    case 1:
      h ^= data[whole]!;
      h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

export function partitionForKey(key: Uint8Array, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

/**
 * Keyless records: sticky, as Kafka's since KIP-480. They all go to one partition until an
 * append there completes, then to the next. Concurrent keyless appends thus share one
 * partition's group commit (one fsync) instead of costing one fsync per partition, and over
 * time the partitions fill evenly.
 */
export class StickyPartitioner {
  readonly #partitions: number;
  #current = 0;

  constructor(partitions: number) {
    this.#partitions = partitions;
  }

  get current(): number {
    return this.#current;
  }

  /** An append to `partition` completed: if it is still the sticky one, move on. */
  completed(partition: number): void {
    if (partition === this.#current) this.#current = (partition + 1) % this.#partitions;
  }
}
