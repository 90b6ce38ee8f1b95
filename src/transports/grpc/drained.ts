import type { Http2Stream } from 'node:http2';

/** Resolves once the stream can take more, or is gone. */
export function drained(stream: Http2Stream): Promise<void> {
  if (stream.destroyed || stream.closed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}
