import type { Socket } from 'node:net';
import { FrameWriter } from './frame-writer.ts';
import { type ReadGate, ReadPause } from './read-gate.ts';

/** Past this many pending bytes a flush happens at once instead of at the end of the tick. */
const FLUSH_NOW_BYTES = 256 * 1024;
/** Past this many bytes queued in the socket, a server stops reading until the peer catches up. */
const PAUSE_READING_BYTES = 8 * 1024 * 1024;

function flushLater(writer: SocketWriter): void {
  writer.flush();
}

/**
 * Frames written during one turn of the event loop leave in one socket write (a writev when a
 * large message rides as its own chunk), flushed from setImmediate: every response produced
 * while handling one received chunk shares a syscall.
 */
export class SocketWriter extends FrameWriter {
  readonly #socket: Socket;
  readonly #readGate: ReadGate | undefined;
  #scheduled = false;
  #closed = false;
  #drainWaiters: (() => void)[] = [];

  /** `readGate`: stop reading the socket while the peer is not reading ours (servers). */
  constructor(socket: Socket, readGate?: ReadGate) {
    super();
    this.#socket = socket;
    this.#readGate = readGate;
    socket.on('drain', () => this.#onDrain());
  }

  /** Whether senders of stream messages should wait for 'drain'. */
  get congested(): boolean {
    return this.#socket.writableNeedDrain;
  }

  protected override written(): void {
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(flushLater, this);
    } else if (this.pendingBytes >= FLUSH_NOW_BYTES) {
      this.flush();
    }
  }

  /** Writes out everything pending now. */
  flush(): void {
    this.#scheduled = false;
    const chunks = this.takeChunks();
    if (chunks.length === 0 || this.#closed) return;
    const socket = this.#socket;
    if (socket.destroyed || !socket.writable) return;
    if (chunks.length === 1) {
      socket.write(chunks[0]!);
    } else {
      socket.cork();
      for (const chunk of chunks) socket.write(chunk);
      socket.uncork();
    }
    if (this.#readGate && socket.writableLength > PAUSE_READING_BYTES) {
      this.#readGate.pause(ReadPause.UNREAD_ANSWERS);
    }
  }

  /** Resolves on the socket's next 'drain', or when the writer closes. */
  waitForDrain(): Promise<void> {
    if (this.#closed || !this.#socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Stops writing (the socket is gone): pending frames are dropped and waiters released. */
  close(): void {
    this.#closed = true;
    this.takeChunks();
    this.#onDrain();
  }

  #onDrain(): void {
    this.#readGate?.resume(ReadPause.UNREAD_ANSWERS);
    const waiters = this.#drainWaiters;
    if (waiters.length === 0) return;
    this.#drainWaiters = [];
    for (const wake of waiters) wake();
  }
}
