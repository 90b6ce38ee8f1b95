/**
 * A TCP relay on loopback between a client under test and a real server, for network trouble
 * that the server itself cannot show: a partition (traffic silently dropped both ways) and a
 * reset of every connection.
 */
import net from 'node:net';

export class TcpProxy {
  readonly #server: net.Server;
  readonly #target: { host: string; port: number };
  readonly #pairs = new Set<[net.Socket, net.Socket]>();
  readonly #held = new Set<net.Socket>();
  #partitioned = false;

  private constructor(server: net.Server, target: { host: string; port: number }) {
    this.#server = server;
    this.#target = target;
    server.on('connection', (socket) => this.#accept(socket));
  }

  /** Listens on 127.0.0.1 on a free port, relaying to `target`. */
  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const server = net.createServer();
    const proxy = new TcpProxy(server, target);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    server.unref();
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  /** "127.0.0.1:port": where clients connect. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /**
   * A partition: bytes in either direction are dropped and new connections are accepted but go
   * nowhere. Nothing is closed, so only timeouts tell the client.
   */
  partition(): void {
    this.#partitioned = true;
  }

  /** Ends the partition. Connections that lived through it are reset, as a real network would. */
  heal(): void {
    this.#partitioned = false;
    this.reset();
  }

  /** Resets every connection now (the client sees a closed socket). */
  reset(): void {
    for (const [a, b] of this.#pairs) {
      a.destroy();
      b.destroy();
    }
    this.#pairs.clear();
    for (const socket of this.#held) socket.destroy();
    this.#held.clear();
  }

  async close(): Promise<void> {
    this.reset();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: net.Socket): void {
    client.on('error', () => {});
    if (this.#partitioned) {
      this.#held.add(client);
      client.resume(); // read and drop
      client.on('close', () => this.#held.delete(client));
      return;
    }
    const upstream = net.connect(this.#target);
    upstream.on('error', () => {});
    const pair: [net.Socket, net.Socket] = [client, upstream];
    this.#pairs.add(pair);
    const relay = (from: net.Socket, to: net.Socket) => {
      from.on('data', (chunk) => {
        if (!this.#partitioned) to.write(chunk);
      });
      from.on('close', () => {
        to.destroy();
        this.#pairs.delete(pair);
      });
    };
    relay(client, upstream);
    relay(upstream, client);
  }
}
