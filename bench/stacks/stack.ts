import type { Gate } from '../gate.ts';

/** What every benchmarked stack provides: a greeter server and a client for it. */
export interface Stack {
  serve(options: ServeOptions): Promise<RunningServer>;
  connect(options: ConnectOptions): Promise<Caller>;
}

export interface ServeOptions {
  host: string;
  /** 0 for an ephemeral port. */
  port: number;
  /** When set, handlers wait on it (the in-flight memory scenario). */
  gate?: Gate;
}

export interface RunningServer {
  port: number;
  close(): Promise<void>;
}

export interface ConnectOptions {
  host: string;
  port: number;
  /**
   * Connections this client may open, for stacks whose client pools them (the HTTP/1.1 ones);
   * multiplexing clients always use one.
   */
  connections: number;
}

export interface Caller {
  /** SayHello(name) and the response's message. */
  sayHello(name: string): Promise<string>;
  close(): Promise<void>;
}
