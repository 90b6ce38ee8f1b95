/**
 * Committed consumer-group offsets: per (group, topic, partition), the offset of the next
 * record the group will read.
 *
 * The whole table is one small file (`offsets.json`, a number per group and partition),
 * replaced atomically: temporary file, fsync, rename, fsync of the directory. A SIGKILL or a
 * power cut at any instant leaves the previous table or the new one, never half of one, and
 * a commit resolves only once its table is durable. Commits that arrive while a write is
 * running share the next write, so the number of fsyncs does not grow with the commit rate.
 * The file carries a CRC-32 of its offsets: a damaged file fails open loudly instead of
 * silently rewinding or skipping a group.
 *
 * One process owns a directory at a time.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { writeFileAtomic } from './atomic-file.ts';
import { LogClosedError } from './errors.ts';
import { ensureDirectory } from './segment-files.ts';

export interface CommittedOffset {
  group: string;
  topic: string;
  partition: number;
  offset: number;
}

type Row = [group: string, topic: string, partition: number, offset: number];

interface OffsetsFile {
  format: 'switchboard-offsets';
  version: 1;
  crc32: number;
  offsets: Row[];
}

const FILE_NAME = 'offsets.json';

export class OffsetStore {
  readonly file: string;
  /** Keyed by `JSON.stringify([group, topic, partition])`, which no names can make collide. */
  readonly #offsets: Map<string, CommittedOffset>;
  #writes = 0;
  #dirty = false;
  #waiting: { resolve: () => void; reject: (err: Error) => void }[] = [];
  #writing: Promise<void> | undefined;
  #closed = false;

  private constructor(file: string, offsets: Map<string, CommittedOffset>) {
    this.file = file;
    this.#offsets = offsets;
  }

  static async open(dir: string): Promise<OffsetStore> {
    await ensureDirectory(dir);
    const file = path.join(dir, FILE_NAME);
    return new OffsetStore(file, await load(file));
  }

  /** How many times the table was written: for tests and metrics. */
  get writes(): number {
    return this.#writes;
  }

  /** The committed offset, including commits not yet durable. */
  get(group: string, topic: string, partition: number): number | undefined {
    return this.#offsets.get(key(group, topic, partition))?.offset;
  }

  /** Every committed offset of `group` (of one topic if given). */
  list(group: string, topic?: string): CommittedOffset[] {
    return [...this.#offsets.values()].filter(
      (c) => c.group === group && (topic === undefined || c.topic === topic),
    );
  }

  commit(group: string, topic: string, partition: number, offset: number): Promise<void> {
    return this.commitAll([{ group, topic, partition, offset }]);
  }

  /** Commits several offsets together: all of them are durable, or none, when this resolves. */
  commitAll(commits: readonly CommittedOffset[]): Promise<void> {
    if (this.#closed) return Promise.reject(new LogClosedError('offset store'));
    for (const c of commits) {
      if (typeof c.group !== 'string' || typeof c.topic !== 'string') {
        return Promise.reject(new TypeError('group and topic must be strings'));
      }
      if (!(Number.isInteger(c.partition) && c.partition >= 0)) {
        return Promise.reject(new RangeError(`partition: expected an integer >= 0, got ${c.partition}`));
      }
      if (!(Number.isSafeInteger(c.offset) && c.offset >= 0)) {
        return Promise.reject(new RangeError(`offset: expected an integer >= 0, got ${c.offset}`));
      }
    }
    for (const { group, topic, partition, offset } of commits) {
      this.#offsets.set(key(group, topic, partition), { group, topic, partition, offset });
    }
    return this.#persist();
  }

  /** Forgets a group's offsets: it will start wherever its reset policy says. */
  deleteGroup(group: string): Promise<void> {
    if (this.#closed) return Promise.reject(new LogClosedError('offset store'));
    for (const [k, c] of this.#offsets) if (c.group === group) this.#offsets.delete(k);
    return this.#persist();
  }

  /** Waits for pending commits to be durable. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#writing) await this.#writing.catch(() => {});
  }

  #persist(): Promise<void> {
    this.#dirty = true;
    const done = new Promise<void>((resolve, reject) => this.#waiting.push({ resolve, reject }));
    this.#startWriter();
    return done;
  }

  #startWriter(): void {
    if (this.#writing) return;
    this.#writing = this.#drain().finally(() => {
      this.#writing = undefined;
      // A commit made between the drain's last look and now must not be stranded.
      if (this.#dirty) this.#startWriter();
    });
  }

  async #drain(): Promise<void> {
    while (this.#dirty) {
      this.#dirty = false;
      const waiting = this.#waiting;
      this.#waiting = [];
      // The snapshot is taken now: every commit in `waiting` is in it.
      const rows: Row[] = [...this.#offsets.values()].map((c) => [c.group, c.topic, c.partition, c.offset]);
      const body = JSON.stringify(rows);
      const file: OffsetsFile = {
        format: 'switchboard-offsets',
        version: 1,
        crc32: crc32(body),
        offsets: rows,
      };
      try {
        await writeFileAtomic(this.file, JSON.stringify(file));
        this.#writes++;
        for (const w of waiting) w.resolve();
      } catch (err) {
        // A later commit retries with the whole table; these callers learn theirs may be lost.
        for (const w of waiting) w.reject(err as Error);
      }
    }
  }
}

function key(group: string, topic: string, partition: number): string {
  return JSON.stringify([group, topic, partition]);
}

async function load(file: string): Promise<Map<string, CommittedOffset>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw err;
  }
  const fail = (why: string): never => {
    throw new Error(`${file}: ${why}; refusing to guess committed offsets (restore or delete the file)`);
  };
  let parsed: Partial<OffsetsFile> | null = null;
  try {
    parsed = JSON.parse(text) as Partial<OffsetsFile> | null;
  } catch {
    fail('not valid JSON');
  }
  if (parsed?.format !== 'switchboard-offsets' || parsed.version !== 1 || !Array.isArray(parsed.offsets)) {
    return fail('not a Switchboard offsets file of version 1');
  }
  if (crc32(JSON.stringify(parsed.offsets)) !== parsed.crc32) fail('checksum mismatch');
  const offsets = new Map<string, CommittedOffset>();
  for (const row of parsed.offsets as unknown[]) {
    const [group, topic, partition, offset] = Array.isArray(row) ? row : [];
    if (typeof group !== 'string' || typeof topic !== 'string') return fail('bad row');
    if (!Number.isInteger(partition) || !Number.isSafeInteger(offset)) return fail('bad row');
    offsets.set(key(group, topic, partition), { group, topic, partition, offset });
  }
  return offsets;
}
