/**
 * Per-connection defences of the native server against clients that cost it work or memory
 * without using what they asked for. The first two end the connection with GOAWAY
 * ENHANCE_YOUR_CALM; the request buffer holds the client back.
 */
import { GoawayCode } from './frame.ts';
import { ProtocolError } from './protocol-error.ts';
import { type ReadGate, ReadPause } from './read-gate.ts';

/** The abandoned-call budget refills by this share of itself each second. */
const REFILL_SHARE_PER_SECOND = 0.1;

/**
 * How many calls a client may abandon — CANCEL while they run, or open over the concurrent
 * stream limit — beyond the calls it lets finish (HTTP/2's "rapid reset"). A cancelled call
 * frees its stream at once, so without a budget a client can start handlers faster than any
 * concurrency limit sees and never read an answer. The budget starts full, each call that
 * finishes gives one back, and it refills by a tenth of its size each second: a client whose
 * calls mostly complete (hedging, deadlines, a user leaving a page) never runs out.
 */
export class AbandonedCallBudget {
  readonly #size: number;
  #left: number;
  #refilledAt = performance.now();

  /** `size` 0 turns the budget off. */
  constructor(size: number) {
    this.#size = size;
    this.#left = size;
  }

  /** A call was abandoned: throws ProtocolError (ENHANCE_YOUR_CALM) once the budget is spent. */
  spend(what: string): void {
    if (this.#size === 0) return;
    const now = performance.now();
    const refill = ((now - this.#refilledAt) / 1000) * this.#size * REFILL_SHARE_PER_SECOND;
    this.#refilledAt = now;
    this.#left = Math.min(this.#size, this.#left + refill) - 1;
    if (this.#left < 0) {
      throw new ProtocolError(
        GoawayCode.ENHANCE_YOUR_CALM,
        `too many abandoned calls (${what}): more than ${this.#size} over the calls completed (maxAbandonedCalls)`,
      );
    }
  }

  /** A call finished: one more may be abandoned. */
  refund(): void {
    if (this.#left < this.#size) this.#left++;
  }
}

/** Reads of one frame allowed before the average read size is checked. */
const TRICKLE_READS = 256;
/** Smaller reads than this on average, over TRICKLE_READS of them, is a trickle. */
const TRICKLE_READ_BYTES = 256;

/**
 * Bounds the reads a frame may arrive in. The decoder keeps each read of an incomplete frame
 * until the frame is whole, and every read costs about 250 bytes of heap beyond its data: a
 * frame of the largest size sent one byte per TCP segment would cost the server a gigabyte.
 * A real peer's reads are at least a segment (536 bytes or more), so averaging under 256 bytes
 * over 256 reads of one frame is a trickle, and ends the connection.
 */
export class TrickleGuard {
  #reads = 0;
  #bytes = 0;

  /** A frame completed: counting starts again. */
  frameDone(): void {
    this.#reads = 0;
    this.#bytes = 0;
  }

  /** A read that left a frame incomplete; throws ProtocolError (ENHANCE_YOUR_CALM) on a trickle. */
  partialRead(bytes: number): void {
    this.#reads++;
    this.#bytes += bytes;
    if (this.#reads >= TRICKLE_READS && this.#bytes < this.#reads * TRICKLE_READ_BYTES) {
      throw new ProtocolError(
        GoawayCode.ENHANCE_YOUR_CALM,
        `a frame trickling in: ${this.#reads} reads of ${Math.round(this.#bytes / this.#reads)} bytes on average`,
      );
    }
  }
}

/**
 * Bounds the request bytes a server connection holds for handlers that have not taken them:
 * stream messages queued until the handler reads them, and a unary or server-streaming call's
 * request until the handler answers (its first response message, or its status). Flow control
 * bounds each stream, not their sum (a window plus one message, times the concurrent streams);
 * over `limit` the connection stops reading its socket, and TCP holds the client back, until
 * handlers take enough (as HTTP/2's connection window does). One add and compare per message.
 */
export class RequestBuffer {
  readonly #limit: number;
  readonly #gate: ReadGate;
  #bytes = 0;
  #pausing = false;

  /** `limit` Infinity: no bound. */
  constructor(limit: number, gate: ReadGate) {
    this.#limit = limit;
    this.#gate = gate;
  }

  /** Request bytes held now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Whether reading is paused because of the bytes held. */
  get pausing(): boolean {
    return this.#pausing;
  }

  hold(bytes: number): void {
    this.#bytes += bytes;
    if (this.#bytes > this.#limit && !this.#pausing) {
      this.#pausing = true;
      this.#gate.pause(ReadPause.HELD_REQUESTS);
    }
  }

  /** A handler took `bytes` (or they were dropped); true when reading was paused for them. */
  release(bytes: number): boolean {
    this.#bytes -= bytes;
    if (!this.#pausing) return false;
    if (this.#bytes <= this.#limit) {
      this.#pausing = false;
      this.#gate.resume(ReadPause.HELD_REQUESTS);
    }
    return true;
  }
}
