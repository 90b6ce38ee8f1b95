/**
 * One ZooKeeper session over node-zookeeper-client, with what that client lacks: promises with
 * a deadline (it queues requests forever while disconnected), a read-timeout watchdog (it never
 * notices a silent server), a new session when the old one expires, and a way to drop the
 * connection without closing the session, as a crashed process would.
 */
import type { Socket } from 'node:net';
import zookeeper from 'node-zookeeper-client';
import { RegistryError } from '../registry.ts';

const { CreateMode, Exception, State } = zookeeper;

export type Stat = zookeeper.Stat;
export type ZkEvent = zookeeper.Event;
export type Watcher = (event: ZkEvent) => void;

/** Error codes of ZooKeeper (the server's and the client's) that callers branch on. */
export const ZK = {
  CONNECTION_LOSS: Exception.CONNECTION_LOSS,
  NO_NODE: Exception.NO_NODE,
  NODE_EXISTS: Exception.NODE_EXISTS,
  NOT_EMPTY: Exception.NOT_EMPTY,
  BAD_VERSION: Exception.BAD_VERSION,
  SESSION_EXPIRED: Exception.SESSION_EXPIRED,
} as const;

/** A failed ZooKeeper request; `code` is ZooKeeper's error code when the server gave one. */
export class ZooKeeperError extends RegistryError {
  readonly code: number | undefined;
  constructor(message: string, code: number | undefined, cause?: unknown) {
    super(message, { cause });
    this.name = 'ZooKeeperError';
    this.code = code;
  }
}

function codeOf(error: Error | zookeeper.Exception): number | undefined {
  return error instanceof Exception ? error.getCode() : undefined;
}

export function zkCode(err: unknown): number | undefined {
  return err instanceof ZooKeeperError ? err.code : undefined;
}

export interface ZkSessionOptions {
  /** "host:port[,host:port…][/chroot]". */
  connect: string;
  /** Asked of the server, which clamps it to [2, 20] × its tickTime unless configured otherwise. */
  sessionTimeoutMs: number;
  /** How long one request may wait, queued while disconnected or in flight. */
  requestTimeoutMs: number;
}

export type SessionEvent = 'connected' | 'disconnected' | 'expired';
/** `fresh` is true on a connection that opened a session other than the previous one. */
export type SessionListener = (event: SessionEvent, fresh: boolean) => void;

/** The connection internals of node-zookeeper-client 1.x that `drop()` and the watchdog need. */
interface ConnectionInternals {
  socket?: Socket;
  setState(state: number): void;
}
/** ConnectionManager.STATES.CLOSING: a socket closed in this state is not reopened. */
const CM_CLOSING = -1;

function internals(client: zookeeper.Client): ConnectionInternals | undefined {
  const cm = (client as unknown as { connectionManager?: ConnectionInternals }).connectionManager;
  return cm && typeof cm.setState === 'function' ? cm : undefined;
}

export class ZkSession {
  readonly #options: ZkSessionOptions;
  readonly #listeners = new Set<SessionListener>();
  readonly #watchdog: NodeJS.Timeout;
  #client: zookeeper.Client;
  #sessionId = '';
  #closed = false;
  #probing = false;
  /** The socket of a connection attempt and how many watchdog ticks it has been waiting. */
  #handshake: { socket: Socket; ticks: number } | undefined;

  constructor(options: ZkSessionOptions) {
    this.#options = options;
    this.#client = this.#open();
    // The client pings but never checks that answers come back: probe, and reconnect when the
    // server stays silent for two thirds of the session timeout (what ZooKeeper's Java client does).
    this.#watchdog = setInterval(() => this.#probe(), Math.max(100, options.sessionTimeoutMs / 3));
    this.#watchdog.unref();
  }

  /** The current session id in hex, as in a node's ephemeralOwner; '' before the first connect. */
  get sessionId(): string {
    return this.#sessionId;
  }

  get connected(): boolean {
    return this.#client.getState() === State.SYNC_CONNECTED;
  }

  /** The timeout the server granted (the requested one until connected). */
  get timeoutMs(): number {
    return this.#client.getSessionTimeout();
  }

  onEvent(listener: SessionListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves once connected; rejects after the request timeout. */
  ready(): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new ZooKeeperError(`ZooKeeper at ${this.#options.connect} did not answer in time`, undefined));
      }, this.#options.requestTimeoutMs);
      timer.unref();
      const off = this.onEvent((event) => {
        if (event !== 'connected') return;
        clearTimeout(timer);
        off();
        resolve();
      });
    });
  }

  #open(): zookeeper.Client {
    const client = zookeeper.createClient(this.#options.connect, {
      sessionTimeout: this.#options.sessionTimeoutMs,
      spinDelay: Math.min(1000, Math.max(100, this.#options.sessionTimeoutMs / 5)),
      retries: 0,
    });
    client.on('state', (state: zookeeper.State) => {
      if (client !== this.#client || this.#closed) return;
      if (state === State.SYNC_CONNECTED) {
        const id = client.getSessionId().toString('hex');
        const fresh = id !== this.#sessionId;
        this.#sessionId = id;
        this.#emit('connected', fresh);
      } else if (state === State.DISCONNECTED) {
        this.#emit('disconnected', false);
      } else if (state === State.EXPIRED) {
        // The old client is dead for good; a new one opens a new session.
        this.#client = this.#open();
        this.#emit('expired', false);
      }
    });
    client.connect();
    return client;
  }

  #emit(event: SessionEvent, fresh: boolean): void {
    for (const listener of [...this.#listeners]) listener(event, fresh);
  }

  #probe(): void {
    if (this.#closed) return;
    if (!this.connected) {
      this.#checkHandshake();
      return;
    }
    this.#handshake = undefined;
    if (this.#probing) return;
    this.#probing = true;
    const client = this.#client;
    const silentMs = Math.max(200, (this.timeoutMs * 2) / 3);
    this.#call<Stat | null>('probe', silentMs, (c, done) => c.exists('/', done))
      .catch((err: unknown) => {
        if (zkCode(err) === undefined && client === this.#client && !this.#closed) {
          internals(client)?.socket?.destroy(); // the client reconnects on a closed socket
        }
      })
      .finally(() => {
        this.#probing = false;
      });
  }

  /**
   * node-zookeeper-client waits forever for the answer to its connect request, and a server
   * that is starting (or in trouble) may accept a connection and never answer. A socket still
   * in the handshake at the third watchdog tick (two thirds of the timeout) is closed, so the
   * client tries again, as ZooKeeper's Java client does after its connect timeout.
   */
  #checkHandshake(): void {
    const socket = internals(this.#client)?.socket;
    if (!socket || socket.destroyed) {
      this.#handshake = undefined;
    } else if (this.#handshake?.socket !== socket) {
      this.#handshake = { socket, ticks: 1 };
    } else if (++this.#handshake.ticks >= 3) {
      this.#handshake = undefined;
      socket.destroy();
    }
  }

  /** Runs one request on the current client with the request timeout. */
  #call<T>(
    what: string,
    timeoutMs: number,
    start: (
      client: zookeeper.Client,
      done: (error: Error | zookeeper.Exception | null, value: T) => void,
    ) => void,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new ZooKeeperError(`ZooKeeper ${what}: no answer within ${timeoutMs} ms`, undefined));
      }, timeoutMs);
      timer.unref();
      try {
        start(this.#client, (error, value) => {
          clearTimeout(timer);
          if (!error) resolve(value);
          else
            reject(
              new ZooKeeperError(`ZooKeeper ${what}: ${(error as Error).message}`, codeOf(error), error),
            );
        });
      } catch (err) {
        clearTimeout(timer); // the client asserts its arguments synchronously (paths, sizes)
        reject(new ZooKeeperError(`ZooKeeper ${what}: ${(err as Error).message}`, undefined, err));
      }
    });
  }

  #request<T>(
    what: string,
    start: (
      client: zookeeper.Client,
      done: (error: Error | zookeeper.Exception | null, value: T) => void,
    ) => void,
  ): Promise<T> {
    return this.#call(what, this.#options.requestTimeoutMs, start);
  }

  getChildren(path: string, watcher?: Watcher): Promise<[string[], Stat]> {
    return this.#request(`getChildren ${path}`, (c, done) => {
      const cb = (e: Error | zookeeper.Exception | null, children: string[], stat: Stat) =>
        done(e, [children, stat]);
      if (watcher) c.getChildren(path, watcher, cb);
      else c.getChildren(path, cb);
    });
  }

  getData(path: string, watcher?: Watcher): Promise<[Buffer | null, Stat]> {
    return this.#request(`getData ${path}`, (c, done) => {
      const cb = (e: Error | zookeeper.Exception | null, data: Buffer | null, stat: Stat) =>
        done(e, [data, stat]);
      if (watcher) c.getData(path, watcher, cb);
      else c.getData(path, cb);
    });
  }

  /** The node's stat, or null when there is none. */
  exists(path: string, watcher?: Watcher): Promise<Stat | null> {
    return this.#request<Stat | null>(`exists ${path}`, (c, done) => {
      if (watcher) c.exists(path, watcher, done);
      else c.exists(path, done);
    });
  }

  createEphemeral(path: string, data: Buffer): Promise<string> {
    return this.#request(`create ${path}`, (c, done) => c.create(path, data, CreateMode.EPHEMERAL, done));
  }

  /** Creates `path` and its missing parents as persistent empty nodes. */
  mkdirp(path: string): Promise<string> {
    return this.#request(`mkdirp ${path}`, (c, done) => c.mkdirp(path, done));
  }

  remove(path: string, version = -1): Promise<void> {
    return this.#request<void>(`remove ${path}`, (c, done) =>
      c.remove(path, version, (e) => done(e, undefined)),
    );
  }

  /** Deletes the node at `version` and creates an ephemeral one in its place, atomically. */
  replaceEphemeral(path: string, version: number, data: Buffer): Promise<void> {
    return this.#request<void>(`replace ${path}`, (c, done) =>
      c
        .transaction()
        .remove(path, version)
        .create(path, data, CreateMode.EPHEMERAL)
        .commit((e) => done(e, undefined)),
    );
  }

  /** Ends the session: the server deletes its ephemeral nodes at once. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#watchdog);
    const client = this.#client;
    if (client.getState() !== State.SYNC_CONNECTED) {
      dropConnection(client); // nobody to tell; the session times out on the server
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        dropConnection(client);
        resolve();
      }, this.#options.requestTimeoutMs);
      timer.unref();
      // The server closes the socket once the closeSession (and its deletions) is applied.
      client.once('disconnected', () => {
        clearTimeout(timer);
        resolve();
      });
      client.close();
    });
  }

  /**
   * Closes the connection without closing the session, as a crash would: the server keeps
   * the session, and its ephemeral nodes, until the session timeout passes.
   */
  drop(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#watchdog);
    dropConnection(this.#client);
  }
}

/**
 * node-zookeeper-client's close() always sends closeSession, which deletes ephemerals at once.
 * Marking the connection as closing and destroying its socket instead stops it for good
 * (a socket closed in that state is not reopened) while the server still holds the session.
 */
function dropConnection(client: zookeeper.Client): void {
  const cm = internals(client);
  if (!cm)
    throw new Error('node-zookeeper-client internals changed: cannot drop a session without closing it');
  cm.setState(CM_CLOSING);
  cm.socket?.destroy();
}
