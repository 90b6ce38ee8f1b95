/** The dashboard stream with a reader that never reads: bounded memory, then dropped. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { rawSocket } from '../../../test/support/raw-http.ts';
import { waitFor } from '../../../test/support/wait.ts';
import { HubServer } from '../server.ts';

it('skips snapshots for a reader that does not read, holds little, and drops it once stalled', async () => {
  const hub = new HubServer({
    port: 0,
    broker: false,
    telemetry: { streamIntervalMs: 20, streamStallMs: 400, streamHeartbeatMs: 100 },
  });
  await hub.listen();
  try {
    // About 150 KB per snapshot, so the socket fills within a few ticks.
    for (let i = 0; i < 1000; i++) {
      hub.registry.upsert(
        {
          service: `svc-${i % 50}`,
          id: `instance-${i}`,
          endpoints: [{ transport: 'grpc', host: '10.0.0.1', port: 50051 }],
          metadata: {},
        },
        60_000,
      );
    }
    const { socket } = await rawSocket(hub.url, 'GET /api/v1/dashboard/stream HTTP/1.1\r\nhost: hub\r\n\r\n');
    socket.pause();
    try {
      await waitFor(() => hub.telemetry.stats.dashboardStreams === 1, 2000);
      let most = 0;
      const started = Date.now();
      // Until dropped: a stalled reader holds at most about one snapshot beyond its socket buffer.
      await waitFor(() => {
        most = Math.max(most, hub.telemetry.stats.dashboardBufferedBytes);
        return hub.telemetry.stats.dashboardStreams === 0;
      }, 8000);
      assert.ok(Date.now() - started >= 300, 'kept while within the stall time');
      assert.ok(most > 0, 'the socket filled up');
      assert.ok(most < 2 * 1024 * 1024, `buffered at most ${most} bytes`);
      assert.equal((await fetch(`${hub.url}/healthz`)).status, 200);
    } finally {
      socket.destroy();
    }
  } finally {
    await hub.close();
  }
});
