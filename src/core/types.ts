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
/** A method of a contract loaded at run time, with no generated types: any message, any kind. */
export interface UntypedMethod {
  readonly kind: 'untyped';
}

export type MethodTypes<I = unknown, O = unknown> =
  | UnaryMethod<I, O>
  | ServerStreamingMethod<I, O>
  | ClientStreamingMethod<I, O>
  | BidiStreamingMethod<I, O>
  | UntypedMethod;

/** A service's methods keyed by local name ("sayHello"). */
export type ServiceTypes = { [method: string]: MethodTypes };

/** A decoded message of a contract loaded at run time: fields by lowerCamelCase name. */
export type Message = Record<string, unknown>;

/** What a contract loaded at run time gives: every method untyped. Generate types for more. */
export type UntypedService = { [method: string]: UntypedMethod };

/**
 * An untyped handler: the request is a decoded message (or, for streamed requests, an async
 * iterable of them). Declared as a method so that handlers with narrower parameter types fit.
 */
export type UntypedHandler = {
  handle(request: Message & AsyncIterable<Message>, ctx: CallContext): unknown;
}['handle'];

type Awaitable<T> = T | Promise<T>;
type Source<T> = AsyncIterable<T> | Iterable<T>;

/** The handler of one method, as a service implements it. */
export type Handler<M> = M extends UntypedMethod
  ? UntypedHandler
  : M extends UnaryMethod<infer I, infer O>
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

/**
 * A client stub method. Untyped methods are typed as unary (the common case); generated types
 * give streaming methods their real signatures.
 */
export type ClientMethod<M> = M extends UntypedMethod
  ? (request: MessageInit<Message>, options?: CallOptions) => Promise<Message>
  : M extends UnaryMethod<infer I, infer O>
    ? (request: MessageInit<I>, options?: CallOptions) => Promise<O>
    : M extends ServerStreamingMethod<infer I, infer O>
      ? (request: MessageInit<I>, options?: CallOptions) => AsyncIterable<O>
      : M extends ClientStreamingMethod<infer I, infer O>
        ? (requests: Source<MessageInit<I>>, options?: CallOptions) => Promise<O>
        : M extends BidiStreamingMethod<infer I, infer O>
          ? (requests: Source<MessageInit<I>>, options?: CallOptions) => AsyncIterable<O>
          : never;

export type Client<S extends ServiceTypes> = { [K in keyof S]: ClientMethod<S[K]> };
