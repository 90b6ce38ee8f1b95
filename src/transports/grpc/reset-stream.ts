import { constants, type Http2Stream } from 'node:http2';

/**
 * Resets a stream with RST_STREAM CANCEL, and nothing else. node:http2's close() first ends a
 * writable side that is still open, which puts an empty DATA frame with END_STREAM on the wire
 * before the RST_STREAM: a peer can take that for a clean end of a request stream and finish
 * the call before it learns of the reset. Marking the writable side as ending skips that frame.
 */
export function cancelStream(stream: Http2Stream): void {
  if (stream.closed || stream.destroyed) return;
  const state = (stream as unknown as { _writableState?: { ending: boolean } })._writableState;
  if (state && !state.ending) state.ending = true;
  stream.close(constants.NGHTTP2_CANCEL);
}
