import type { CallContext } from './context.ts';
import type { CallOptions } from './transport.ts';

/** A message as callers may write it: every field optional, nested messages too. */
export type MessageInit<T> = T extends Uint8Array | string | number | boolean | bigint
  ? T
  : T extends ReadonlyArray<infer E>
    ? ReadonlyArray<MessageInit<E>>
    : T extends object
      ? { [K in keyof T]?: MessageInit<T[K]> | null }
      : T;

/** Type-level description of one method: generated code produces these. */
export interface UnaryMethod<I, O> {
  readonly kind: 'unary';
  readonly input: I;
  readonly output: O;
}
export interface ServerStreamingMethod<I, O> {
  readonly kind: 'server_streaming';
  readonly input: I;
  readonly output: O;
}
export interface ClientStreamingMethod<I, O> {
  readonly kind: 'client_streaming';
  readonly input: I;
  readonly output: O;
}
export interface BidiStreamingMethod<I, O> {
  readonly kind: 'bidi_streaming';
  readonly input: I;
  readonly output: O;
}
export type MethodTypes<I = unknown, O = unknown> =
  | UnaryMethod<I, O>
  | ServerStreamingMethod<I, O>
  | ClientStreamingMethod<I, O>
  | BidiStreamingMethod<I, O>;

/** A service's methods keyed by local name ("sayHello"). */
export type ServiceTypes = { [method: string]: MethodTypes };

/** What an untyped contract loaded at run time gives: any method, plain objects. */
export type Message = Record<string, unknown>;
export type UntypedService = {
  [method: string]:
    | UnaryMethod<Message, Message>
    | ServerStreamingMethod<Message, Message>
    | ClientStreamingMethod<Message, Message>
    | BidiStreamingMethod<Message, Message>;
};

type Awaitable<T> = T | Promise<T>;
type Source<T> = AsyncIterable<T> | Iterable<T>;

/** The handler of one method, as a service implements it. */
export type Handler<M> =
  M extends UnaryMethod<infer I, infer O>
    ? (request: I, ctx: CallContext) => Awaitable<MessageInit<O>>
    : M extends ServerStreamingMethod<infer I, infer O>
      ? (request: I, ctx: CallContext) => Source<MessageInit<O>>
      : M extends ClientStreamingMethod<infer I, infer O>
        ? (requests: AsyncIterable<I>, ctx: CallContext) => Awaitable<MessageInit<O>>
        : M extends BidiStreamingMethod<infer I, infer O>
          ? (requests: AsyncIterable<I>, ctx: CallContext) => Source<MessageInit<O>>
          : never;

/** A service implementation: one handler per method (missing ones answer UNIMPLEMENTED). */
export type Implementation<S extends ServiceTypes> = { [K in keyof S]?: Handler<S[K]> };

/** A client stub method. */
export type ClientMethod<M> =
  M extends UnaryMethod<infer I, infer O>
    ? (request: MessageInit<I>, options?: CallOptions) => Promise<O>
    : M extends ServerStreamingMethod<infer I, infer O>
      ? (request: MessageInit<I>, options?: CallOptions) => AsyncIterable<O>
      : M extends ClientStreamingMethod<infer I, infer O>
        ? (requests: Source<MessageInit<I>>, options?: CallOptions) => Promise<O>
        : M extends BidiStreamingMethod<infer I, infer O>
          ? (requests: Source<MessageInit<I>>, options?: CallOptions) => AsyncIterable<O>
          : never;

export type Client<S extends ServiceTypes> = { [K in keyof S]: ClientMethod<S[K]> };
