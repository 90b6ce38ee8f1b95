/**
 * Tests that need an outside server (ZooKeeper, etcd, a broker) ask here first. Under CI=true a
 * missing server fails the test; elsewhere the test is skipped with a message saying how to
 * start it (scripts/services.sh starts everything the suite needs).
 */
import net from 'node:net';

/** True when something accepts TCP connections on host:port within `timeoutMs`. */
export function portOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * `false` when the service is there; otherwise a skip message for `describe(..., { skip })`.
 * Throws under CI=true, so CI never skips.
 */
export async function serviceMissing(
  name: string,
  available: () => Promise<boolean>,
): Promise<string | false> {
  if (await available()) return false;
  const message = `${name} is not running: start it with \`bash scripts/services.sh\``;
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true: a missing service is a failure)`);
  return message;
}
