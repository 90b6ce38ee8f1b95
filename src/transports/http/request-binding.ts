import type { JsonValue, MessageType } from '../../contract/descriptors.ts';
import { StatusError } from '../../contract/errors.ts';
import type { HttpRule } from '../../contract/http-rules.ts';
import { Status } from '../../contract/status.ts';
import {
  type FieldIndex,
  type FieldNode,
  fieldIndexOf,
  jsonFromText,
  parentObject,
  resolveFieldPath,
  takeMember,
} from './field-index.ts';
import { type PathTemplate, type TemplateVariable, variableValue } from './path-template.ts';

interface BoundVariable {
  readonly variable: TemplateVariable;
  readonly nodes: readonly FieldNode[];
}

/** `name[key]` in a query parameter addresses one entry of a map field. */
const MAP_KEY = /^([^[\]]+)\[([^\]]*)\]$/;

/**
 * Builds the request message of one HTTP rule (google.api.http binding, server side): the body
 * (all of it for `body: "*"`, one field otherwise), then query parameters for every other field
 * (not with `body: "*"`), then path variables, which win. The result is one ProtoJSON object
 * parsed once by `MessageType.fromJson`, so every value is checked by the JSON mapping.
 */
export class RequestBinder {
  readonly #input: MessageType;
  readonly #rule: HttpRule;
  readonly #variables: readonly BoundVariable[];
  readonly #bodyNodes: readonly FieldNode[] | undefined;
  readonly #index: FieldIndex | undefined;
  /** `body: "*"` and no path variables: the body is the request as it stands. */
  readonly #wholeBody: boolean;

  constructor(input: MessageType, rule: HttpRule, template: PathTemplate) {
    this.#input = input;
    this.#rule = rule;
    this.#wholeBody = rule.body === '*' && template.variables.length === 0;
    this.#index = this.#wholeBody ? undefined : fieldIndexOf(input);
    const index = this.#index;
    this.#variables = template.variables.map((variable) => {
      const nodes = index && resolveFieldPath(index, variable.fieldPath);
      const leaf = nodes?.at(-1);
      if (!nodes || !leaf || leaf.repeated || leaf.map) {
        throw new Error(
          `${rule.method} ${rule.path}: path variable ${variable.fieldPath.join('.')} is not a singular field of ${input.fullName}`,
        );
      }
      return { variable, nodes };
    });
    if (rule.body !== '*' && rule.body !== '') {
      this.#bodyNodes = index && resolveFieldPath(index, rule.body.split('.'));
      if (!this.#bodyNodes)
        throw new Error(`${rule.method} ${rule.path}: body field ${rule.body} is not in ${input.fullName}`);
    }
  }

  /** Whether requests on this rule carry a body. */
  get takesBody(): boolean {
    return this.#rule.body !== '';
  }

  /**
   * The request message. `body` is the parsed JSON body (undefined when there is none),
   * `segments` the request path's segments, `query` the raw query string.
   */
  bind(segments: readonly string[], query: string | undefined, body: unknown): Record<string, unknown> {
    if (this.#wholeBody) return this.#input.fromJson(body === undefined ? {} : body);
    let json: Record<string, unknown>;
    if (this.#rule.body === '*') {
      if (body !== undefined && (body === null || typeof body !== 'object' || Array.isArray(body))) {
        throw new StatusError(
          Status.INVALID_ARGUMENT,
          `the body must be a JSON object (${this.#input.fullName})`,
        );
      }
      json = (body as Record<string, unknown> | undefined) ?? {};
    } else {
      json = {};
      if (query) this.#bindQuery(json, query);
      if (this.#bodyNodes && body !== undefined) {
        const nodes = this.#bodyNodes;
        const leaf = nodes[nodes.length - 1] as FieldNode;
        const parent = parentObject(json, nodes);
        takeMember(parent, leaf);
        parent[leaf.jsonName] = body;
      }
    }
    for (const { variable, nodes } of this.#variables) {
      const leaf = nodes[nodes.length - 1] as FieldNode;
      const parent = parentObject(json, nodes);
      takeMember(parent, leaf);
      parent[leaf.jsonName] = jsonFromText(leaf, variableValue(variable, segments));
    }
    return this.#input.fromJson(json);
  }

  #bindQuery(json: Record<string, unknown>, query: string): void {
    const index = this.#index as FieldIndex;
    for (const [key, text] of new URLSearchParams(query)) {
      const mapMatch = MAP_KEY.exec(key);
      const path = (mapMatch ? (mapMatch[1] as string) : key).split('.');
      const nodes = resolveFieldPath(index, path);
      const leaf = nodes?.at(-1);
      if (!nodes || !leaf || Boolean(mapMatch) !== leaf.map) {
        throw new StatusError(
          Status.INVALID_ARGUMENT,
          `unknown query parameter ${JSON.stringify(key)} for ${this.#input.fullName}`,
        );
      }
      const parent = parentObject(json, nodes);
      const existing = takeMember(parent, leaf);
      if (leaf.map) {
        const entries = (existing ?? {}) as Record<string, unknown>;
        // A map field's node describes its value type, so the text converts like a field's.
        entries[(mapMatch as RegExpExecArray)[2] as string] = jsonFromText(leaf, text);
        parent[leaf.jsonName] = entries;
      } else if (leaf.repeated) {
        const list = (existing ?? []) as unknown[];
        list.push(jsonFromText(leaf, text));
        parent[leaf.jsonName] = list;
      } else {
        if (existing !== undefined) {
          throw new StatusError(
            Status.INVALID_ARGUMENT,
            `query parameter ${JSON.stringify(key)} given more than once`,
          );
        }
        parent[leaf.jsonName] = jsonFromText(leaf, text);
      }
    }
  }
}

/**
 * Turns a response message into the JSON the rule answers: the whole message, or only the
 * `response_body` field (its default when unset).
 */
export function responseSelector(output: MessageType, rule: HttpRule): (message: unknown) => JsonValue {
  if (!rule.responseBody) return (message) => output.toJson(message as Record<string, unknown>);
  const node = fieldIndexOf(output).get(rule.responseBody);
  if (!node)
    throw new Error(
      `${rule.method} ${rule.path}: response_body ${rule.responseBody} is not in ${output.fullName}`,
    );
  return (message) => {
    const json = output.toJson(message as Record<string, unknown>) as Record<string, JsonValue>;
    return json[node.jsonName] ?? node.defaultJson();
  };
}
