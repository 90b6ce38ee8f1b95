import type { JsonValue, MessageType, MethodDescriptor } from '../../contract/descriptors.ts';
import { StatusError } from '../../contract/errors.ts';
import type { HttpRule } from '../../contract/http-rules.ts';
import { Status } from '../../contract/status.ts';
import { type FieldIndex, type FieldNode, fieldIndexOf, resolveFieldPath } from './field-index.ts';
import { expandTemplate, type PathTemplate, parsePathTemplate } from './path-template.ts';

export interface EncodedRequest {
  /** Path and query string. */
  readonly path: string;
  /** The JSON body, or undefined for a rule without one. */
  readonly body: string | undefined;
}

/**
 * The client half of a google.api.http binding: fills the path variables from the request
 * (percent-encoded), puts the body field(s) in a JSON body and, for rules with a body field or
 * none, every remaining field in the query string (`a.b=1&tags=x&tags=y&labels[k]=v`).
 */
export class RequestEncoder {
  readonly rule: HttpRule;
  readonly #input: MessageType;
  readonly #template: PathTemplate;
  readonly #index: FieldIndex | undefined;
  readonly #bodyNode: FieldNode | undefined;
  readonly #variables: readonly { key: string; nodes: readonly FieldNode[] }[];
  readonly #literalWholeBody: boolean;

  constructor(input: MessageType, rule: HttpRule, template: PathTemplate) {
    this.rule = rule;
    this.#input = input;
    this.#template = template;
    this.#literalWholeBody = template.literal && rule.body === '*';
    this.#index = this.#literalWholeBody ? undefined : fieldIndexOf(input);
    this.#variables = template.variables.map((variable) => {
      const nodes = resolveFieldPath(fieldIndexOf(input), variable.fieldPath);
      if (!nodes)
        throw new Error(`${rule.path}: no field ${variable.fieldPath.join('.')} in ${input.fullName}`);
      return { key: variable.fieldPath.join('.'), nodes };
    });
    if (rule.body !== '*' && rule.body !== '') {
      const nodes = resolveFieldPath(fieldIndexOf(input), [rule.body]);
      if (!nodes)
        throw new Error(`${rule.method} ${rule.path}: body field ${rule.body} is not in ${input.fullName}`);
      this.#bodyNode = nodes[0];
    }
  }

  /**
   * The rule a client uses for `method`: its first rule a client can fill (no bare wildcard).
   * Streamed requests have no single message to fill a path from: they use a rule without
   * variables and with the whole body, else the default `POST /pkg.Service/Method`, which the
   * server always serves too.
   */
  static forMethod(method: MethodDescriptor): RequestEncoder {
    for (const rule of method.httpRules) {
      const template = parsePathTemplate(rule.path);
      if (method.requestStream && !(template.literal && rule.body === '*')) continue;
      if (expandTemplate(template, new Map()) === undefined) continue;
      return new RequestEncoder(method.input, rule, template);
    }
    const rule: HttpRule = { method: 'POST', path: method.path, body: '*', responseBody: '' };
    return new RequestEncoder(method.input, rule, parsePathTemplate(rule.path));
  }

  encode(message: unknown): EncodedRequest {
    const json = this.#input.toJson(message as Record<string, unknown>) as Record<string, JsonValue>;
    if (this.#literalWholeBody) return { path: this.#template.source, body: JSON.stringify(json) };
    const index = this.#index as FieldIndex;
    const values = new Map<string, string>();
    for (const { key, nodes } of this.#variables) {
      values.set(key, textOf(takePath(json, nodes), nodes[nodes.length - 1] as FieldNode));
    }
    let path = expandTemplate(this.#template, values) as string;
    let body: string | undefined;
    if (this.rule.body === '*') {
      body = JSON.stringify(json);
    } else {
      if (this.#bodyNode) {
        const value = json[this.#bodyNode.jsonName];
        delete json[this.#bodyNode.jsonName];
        body = JSON.stringify(value ?? this.#bodyNode.defaultJson() ?? {});
      }
      const pairs: string[] = [];
      queryPairs(json, index, '', pairs);
      if (pairs.length > 0) path += `?${pairs.join('&')}`;
    }
    return { path, body };
  }
}

/** Removes and returns the value at `nodes` from a ProtoJSON object. */
function takePath(json: Record<string, JsonValue>, nodes: readonly FieldNode[]): JsonValue | undefined {
  let target: Record<string, JsonValue> | undefined = json;
  for (let i = 0; i < nodes.length - 1 && target; i++) {
    const next: JsonValue | undefined = target[(nodes[i] as FieldNode).jsonName];
    target = next !== null && typeof next === 'object' && !Array.isArray(next) ? next : undefined;
  }
  if (!target) return undefined;
  const key = (nodes[nodes.length - 1] as FieldNode).jsonName;
  const value = target[key];
  delete target[key];
  return value;
}

function textOf(value: JsonValue | undefined, node: FieldNode): string {
  const json = value ?? node.defaultJson();
  if (json === null || typeof json === 'object') {
    throw new StatusError(Status.INVALID_ARGUMENT, `field ${node.protoName} cannot be sent in a URL path`);
  }
  return String(json);
}

function queryPairs(json: Record<string, JsonValue>, index: FieldIndex, prefix: string, out: string[]): void {
  for (const [key, value] of Object.entries(json)) {
    const node = index.get(key);
    if (!node || value === null) continue;
    const name = prefix + node.protoName;
    if (node.map) {
      for (const [k, v] of Object.entries(value as Record<string, JsonValue>)) {
        out.push(`${encodeURIComponent(`${name}[${k}]`)}=${queryText(v, name)}`);
      }
    } else if (Array.isArray(value)) {
      for (const v of value) out.push(`${encodeURIComponent(name)}=${queryText(v, name)}`);
    } else if (typeof value === 'object') {
      const children = node.children();
      if (!children) throw unsendable(name);
      queryPairs(value, children, `${name}.`, out);
    } else {
      out.push(`${encodeURIComponent(name)}=${queryText(value, name)}`);
    }
  }
}

function queryText(value: JsonValue, name: string): string {
  if (value !== null && typeof value === 'object') throw unsendable(name);
  return encodeURIComponent(String(value));
}

function unsendable(name: string): StatusError {
  return new StatusError(Status.INVALID_ARGUMENT, `field ${name} cannot be sent as a query parameter`);
}

/** Parses the JSON of a response: unknown fields are skipped (a server may be newer than us). */
export function responseReader(
  output: MessageType,
  rule: HttpRule,
): (json: unknown) => Record<string, unknown> {
  const options = { ignoreUnknownFields: true };
  if (!rule.responseBody) return (json) => output.fromJson(json, options);
  const field = rule.responseBody;
  return (json) => output.fromJson({ [field]: json }, options);
}
