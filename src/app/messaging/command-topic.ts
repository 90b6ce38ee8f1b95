/**
 * Where the commands of a service travel: one topic per service, `<package.Service>.commands`
 * ("greet.Greeter.commands"), each message naming its method in its CloudEvents type
 * ("greet.Greeter.SayHello"). One topic keeps the order of a key's commands across methods.
 */
import { randomBytes } from 'node:crypto';
import type { MethodDescriptor, ServiceDescriptor } from '../../contract/descriptors.ts';

export function commandTopic(service: ServiceDescriptor | string): string {
  return `${typeof service === 'string' ? service : service.fullName}.commands`;
}

/** The CloudEvents type of a command: the method's full name. */
export function commandType(method: MethodDescriptor): string {
  return method.fullName;
}

/** A reply topic of its own for one client: `<package.Service>.replies.<random>`. */
export function replyTopic(service: ServiceDescriptor): string {
  return `${service.fullName}.replies.${randomBytes(8).toString('hex')}`;
}
