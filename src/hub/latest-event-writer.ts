import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * One open server-sent event stream whose reader only needs the newest state (watches, the
 * dashboard): a reader that cannot keep up holds at most its socket buffer and the latest
 * event, older ones are skipped, and `stalledSince` tells the stream's owner when to drop it.
 */
export class LatestEventWriter {
  readonly res: ServerResponse;
  /** The newest event not yet written because the socket was full. */
  pending: Buffer | string | undefined;
  /** When the socket last filled up without draining since (0 when it is keeping up). */
  stalledSince = 0;

  /** Answers `req` with an open event stream: the headers go now, events as they come. */
  constructor(req: IncomingMessage, res: ServerResponse) {
    this.res = res;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    });
    req.socket.setNoDelay(true);
    res.on('drain', () => this.drained());
  }

  send(event: Buffer | string): void {
    // Writing after end would emit an 'error' nobody listens to.
    if (this.res.writableEnded || this.res.destroyed) return;
    if (this.res.writableNeedDrain) {
      this.pending = event;
      return;
    }
    if (!this.res.write(event) && this.stalledSince === 0) this.stalledSince = Date.now();
  }

  /** On the socket's 'drain': writes the event kept meanwhile. */
  drained(): void {
    this.stalledSince = 0;
    const pending = this.pending;
    this.pending = undefined;
    if (pending !== undefined) this.send(pending);
  }
}
