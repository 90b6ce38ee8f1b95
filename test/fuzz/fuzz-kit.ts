/**
 * What the fuzz targets share: the target shape (run by test/fuzz/*.fuzz.test.ts with few runs
 * and by scripts/fuzz.ts for longer), mutations of valid input, and the checks of the invariant
 * "a value or a clear error, in bounded time, without allocating what the input claims".
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';

/** How long fast-check runs one target: a number of runs, or until a time limit. */
export interface FuzzParams {
  numRuns: number;
  seed?: number;
  path?: string;
  /** Stop (without failing) after this many ms. */
  interruptAfterTimeLimit?: number;
}

/** One fuzzed decoder: `open` builds the property (and any server it talks to). */
export interface FuzzTarget {
  readonly name: string;
  /** Runs per CI test run, scaled by FUZZ_RUNS (e.g. FUZZ_RUNS=2 doubles them). */
  readonly ciRuns: number;
  open(): Promise<OpenTarget>;
}

export interface OpenTarget {
  check(params: FuzzParams): Promise<fc.RunDetails<unknown>>;
  close?(): Promise<void>;
}

/** A target whose property needs nothing opened. */
export function pureTarget<Ts extends [unknown, ...unknown[]]>(
  name: string,
  ciRuns: number,
  property: () => fc.IRawProperty<Ts>,
): FuzzTarget {
  return {
    name,
    ciRuns,
    async open() {
      const prop = property();
      return { check: async (params) => (await fc.check(prop, params)) as fc.RunDetails<unknown> };
    },
  };
}

/** The CI run count: `ciRuns` × FUZZ_RUNS (a factor, default 1). */
export function ciRunsOf(target: FuzzTarget): number {
  const factor = Number(process.env.FUZZ_RUNS ?? '1');
  return Math.max(1, Math.round(target.ciRuns * (Number.isFinite(factor) && factor > 0 ? factor : 1)));
}

/** Longest one input may take to decode: far above what any decoder needs, far below a hang. */
export const INPUT_TIME_LIMIT_MS = Number(process.env.FUZZ_INPUT_MS ?? '1000');

/** Runs `fn` and asserts it took less than INPUT_TIME_LIMIT_MS. */
export function timed<T>(fn: () => T): T {
  const start = performance.now();
  const result = fn();
  const took = performance.now() - start;
  assert.ok(took < INPUT_TIME_LIMIT_MS, `one input took ${took.toFixed(0)} ms`);
  return result;
}

export async function timedAsync<T>(fn: () => Promise<T>, limitMs = INPUT_TIME_LIMIT_MS): Promise<T> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`one input did not settle within ${limitMs} ms`)), limitMs);
  });
  try {
    return await Promise.race([fn(), timeout]);
  } finally {
    clearTimeout(timer);
    const took = performance.now() - start;
    assert.ok(took < limitMs + 50, `one input took ${took.toFixed(0)} ms`);
  }
}

/**
 * The outcome of decoding one input: its value, or the error when that error is a clear one
 * (`clear` says which are). Any other exception fails the property with its type and message.
 */
export function outcome<T>(
  fn: () => T,
  clear: (err: unknown) => boolean,
): { ok: true; value: T } | { ok: false; error: Error } {
  try {
    return { ok: true, value: timed(fn) };
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    if (!clear(err)) {
      const e = err as Error;
      assert.fail(`unclear error ${e?.constructor?.name}: ${e?.message}\n${e?.stack ?? ''}`);
    }
    return { ok: false, error: err as Error };
  }
}

/** Error classes as a predicate. */
export function oneOf(...types: (abstract new (...args: never[]) => Error)[]): (err: unknown) => boolean {
  return (err) => types.some((t) => err instanceof t);
}

/**
 * The largest single Buffer allocation `fn` asks for (Buffer.alloc, allocUnsafe, allocUnsafeSlow,
 * which Buffer.concat uses): a decoder that believed a huge length would ask for it here.
 */
export function largestAllocation<T>(fn: () => T): { result: T; largest: number } {
  const originals = {
    alloc: Buffer.alloc,
    allocUnsafe: Buffer.allocUnsafe,
    allocUnsafeSlow: Buffer.allocUnsafeSlow,
  };
  let largest = 0;
  const watch =
    <A extends unknown[]>(original: (size: number, ...rest: A) => Buffer) =>
    (size: number, ...rest: A): Buffer => {
      if (size > largest) largest = size;
      return original(size, ...rest);
    };
  Buffer.alloc = watch(originals.alloc) as typeof Buffer.alloc;
  Buffer.allocUnsafe = watch(originals.allocUnsafe) as typeof Buffer.allocUnsafe;
  Buffer.allocUnsafeSlow = watch(originals.allocUnsafeSlow) as typeof Buffer.allocUnsafeSlow;
  try {
    return { result: fn(), largest };
  } finally {
    Buffer.alloc = originals.alloc;
    Buffer.allocUnsafe = originals.allocUnsafe;
    Buffer.allocUnsafeSlow = originals.allocUnsafeSlow;
  }
}

/** Values a length or count field is set to by the `extreme` mutation. */
const EXTREMES = [
  0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
];

function flipBits(bytes: Uint8Array, flips: readonly [number, number][]): Uint8Array {
  const out = Uint8Array.from(bytes);
  if (out.length === 0) return out;
  for (const [at, bit] of flips) out[at % out.length]! ^= 1 << bit;
  return out;
}

function setInteger(bytes: Uint8Array, at: number, value: number, width: 1 | 2 | 4): Uint8Array {
  const out = Buffer.from(bytes);
  if (out.length < width) return out;
  const pos = at % (out.length - width + 1);
  if (width === 1) out[pos] = value & 0xff;
  else if (width === 2) out.writeUInt16BE(value & 0xffff, pos);
  else out.writeUInt32BE(value >>> 0, pos);
  return out;
}

/**
 * Valid input from `valid`, or a mutation of it: bit flips, a truncation, a 1/2/4-byte field
 * set to an extreme, bytes inserted or duplicated; now and then plain random bytes.
 */
export function mutated(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 2, arbitrary: valid },
    {
      weight: 3,
      arbitrary: fc
        .tuple(
          valid,
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 6 }),
        )
        .map(([bytes, flips]) => flipBits(bytes, flips)),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(valid, fc.nat()).map(([bytes, n]) => bytes.subarray(0, n % (bytes.length + 1))),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(valid, fc.nat(), fc.constantFrom(...EXTREMES), fc.constantFrom<1 | 2 | 4>(1, 2, 4))
        .map(([bytes, at, value, width]) => setInteger(bytes, at, value, width)),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(valid, fc.nat(), fc.uint8Array({ maxLength: 32 })).map(([bytes, at, extra]) => {
        const pos = at % (bytes.length + 1);
        return Buffer.concat([bytes.subarray(0, pos), extra, bytes.subarray(pos)]);
      }),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }) },
  );
}

/** Cuts `bytes` at the given points (as a socket might deliver them). */
export function chunked(bytes: Uint8Array, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].sort(
    (a, b) => a - b,
  );
  const out: Buffer[] = [];
  let last = 0;
  for (const p of points) {
    if (p > last) out.push(Buffer.from(bytes.subarray(last, p)));
    last = Math.max(last, p);
  }
  out.push(Buffer.from(bytes.subarray(last)));
  return out;
}

const SUSPECT_WARNINGS = new Set(['TimeoutOverflowWarning', 'MaxListenersExceededWarning']);

/**
 * Collects process-level errors (uncaught exceptions, unhandled rejections, suspect warnings) while a target
 * runs; `assertNone` fails with the first one. Listening keeps the test process alive to
 * report them instead of dying.
 */
export function watchProcessErrors(): { errors: Error[]; assertNone(): void; dispose(): void } {
  const errors: Error[] = [];
  const onError = (err: unknown) => errors.push(err instanceof Error ? err : new Error(String(err)));
  // Warnings that mean a decoder trusted a number it should not have (a timer of 49 days fires
  // at once; listeners pile up per input).
  const onWarning = (warning: Error) => {
    if (SUSPECT_WARNINGS.has(warning.name)) onError(warning);
  };
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onError);
  process.on('warning', onWarning);
  return {
    errors,
    assertNone() {
      if (errors.length > 0) assert.fail(`process-level error: ${errors[0]!.stack ?? errors[0]!.message}`);
    },
    dispose() {
      process.off('uncaughtException', onError);
      process.off('unhandledRejection', onError);
      process.off('warning', onWarning);
    },
  };
}

/** fast-check's report of a failed run, the error it saw, and the command that replays it. */
export function failureReport(name: string, details: fc.RunDetails<unknown>): string {
  const error = details.errorInstance as Error | undefined;
  const cause = error ? `\nerror: ${error.stack ?? error.message}` : '';
  return `${name}: ${fc.defaultReportMessage(details) ?? 'failed'}${cause}\nreproduce: npx tsx scripts/fuzz.ts --target ${name} --seed ${details.seed}${details.counterexamplePath ? ` --path ${details.counterexamplePath}` : ''}`;
}

/** `value` with the member at a pseudo-random path (chosen by `picks`) replaced by `replacement`. */
function replaceAt(value: unknown, picks: readonly number[], replacement: unknown): unknown {
  if (picks.length === 0 || value === null || typeof value !== 'object') return replacement;
  const [pick, ...rest] = picks as [number, ...number[]];
  if (Array.isArray(value)) {
    if (value.length === 0) return [replacement];
    const copy = value.slice();
    copy[pick % copy.length] = replaceAt(copy[pick % copy.length], rest, replacement);
    return copy;
  }
  const keys = Object.keys(value);
  if (keys.length === 0) return replacement;
  const key = keys[pick % keys.length]!;
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  // Now and then the member is dropped instead.
  if (pick % 7 === 6) delete copy[key];
  else copy[key] = replaceAt(copy[key], rest, replacement);
  return copy;
}

const oddJson = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(null, '', -1, 0, 1.5, 1e308, -1e308, 2 ** 53 + 2, '__proto__', 'x'.repeat(300), [], {}),
);

/**
 * JSON text from a valid document: as it is, with one member replaced by odd JSON (or
 * dropped), or as text mutated byte by byte (which is mostly not JSON any more).
 */
export function mutatedJson(valid: fc.Arbitrary<unknown>): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 1, arbitrary: valid.map((v) => Buffer.from(JSON.stringify(v))) },
    {
      weight: 4,
      arbitrary: fc
        .tuple(valid, fc.array(fc.nat(), { maxLength: 4 }), oddJson)
        .map(([v, picks, odd]) => Buffer.from(JSON.stringify(replaceAt(v, picks, odd)) ?? 'null')),
    },
    {
      weight: 2,
      arbitrary: mutated(valid.map((v) => Buffer.from(JSON.stringify(v)))).map((b) => Buffer.from(b)),
    },
  );
}
