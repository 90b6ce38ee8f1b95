/**
 * Topic bindings of event messages. The contract binds a message to a topic with
 * `option (switchboard.messaging.v1.topic) = "greet.hello";` (proto/switchboard/messaging/v1/
 * options.proto); code may bind messages that have no such option; any other message goes to
 * the topic named after its full name ("greet.HelloEvent").
 */
import protobuf from 'protobufjs';
import type { Contract } from './contract.ts';

/** How protobufjs names the option among a message's options. */
export const TOPIC_OPTION = '(switchboard.messaging.v1.topic)';

/** The topic the contract binds `messageName` to, or undefined when it sets none. */
export function topicOption(contract: Contract, messageName: string): string | undefined {
  const value = lookupType(contract, messageName).options?.[TOPIC_OPTION];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new Error(`${clean(messageName)}: option ${TOPIC_OPTION} must be a non-empty string`);
  }
  return value;
}

/** Every message of the contract with a topic option: full name → topic. */
export function boundTopics(contract: Contract): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (ns: protobuf.NamespaceBase) => {
    for (const nested of ns.nestedArray) {
      if (nested instanceof protobuf.Type) {
        const name = nested.fullName.slice(1);
        const topic = topicOption(contract, name);
        if (topic !== undefined) out.set(name, topic);
      }
      if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) visit(nested);
    }
  };
  visit(contract.root);
  return out;
}

/**
 * Resolves topics: the contract's option first, then `codeBindings` (full name → topic) for
 * messages without one, then the full name. A code binding that contradicts the contract is
 * refused, so two services cannot silently disagree on where an event lives.
 */
export class TopicBindings {
  readonly #contract: Contract;
  readonly #code: ReadonlyMap<string, string>;
  readonly #cache = new Map<string, string>();

  constructor(contract: Contract, codeBindings: Readonly<Record<string, string>> = {}) {
    this.#contract = contract;
    const code = new Map<string, string>();
    for (const [name, topic] of Object.entries(codeBindings)) {
      if (typeof topic !== 'string' || topic.trim() === '') {
        throw new TypeError(`the topic bound to ${name} must be a non-empty string`);
      }
      const declared = topicOption(contract, name);
      if (declared !== undefined && declared !== topic) {
        throw new Error(
          `${clean(name)} is bound to topic ${JSON.stringify(declared)} by the contract, not ${JSON.stringify(topic)}`,
        );
      }
      code.set(clean(name), topic);
    }
    this.#code = code;
  }

  /** The topic of the message `fullName` ("greet.HelloEvent"). */
  topic(fullName: string): string {
    const name = clean(fullName);
    let topic = this.#cache.get(name);
    if (topic === undefined) {
      topic = topicOption(this.#contract, name) ?? this.#code.get(name) ?? name;
      this.#cache.set(name, topic);
    }
    return topic;
  }
}

function lookupType(contract: Contract, name: string): protobuf.Type {
  try {
    return contract.root.lookupType(clean(name));
  } catch {
    throw new Error(`unknown message ${clean(name)}: the contract has no such message type`);
  }
}

function clean(name: string): string {
  return name.replace(/^\./, '');
}
