/** One REST binding of a method, from `google.api.http` (or the default POST route). */
export interface HttpRule {
  readonly method: string;
  /** The path template as written: "/v1/{name=shelves/*}/books". */
  readonly path: string;
  /** "*" (the whole request), a field name, or "" (no body: everything from path and query). */
  readonly body: string;
  /** "" for the whole response, or the field of the response that is the body. */
  readonly responseBody: string;
}

const VERBS = ['get', 'put', 'post', 'delete', 'patch'] as const;

interface RawRule {
  get?: string;
  put?: string;
  post?: string;
  delete?: string;
  patch?: string;
  custom?: { kind?: string; path?: string };
  body?: string;
  response_body?: string;
  responseBody?: string;
  additional_bindings?: RawRule | RawRule[];
  additionalBindings?: RawRule | RawRule[];
}

/**
 * The HTTP rules of a method from its parsed options (protobufjs `parsedOptions`), or the
 * default `POST /<package>.<Service>/<Method>` with the whole request as body.
 */
export function httpRulesFromOptions(
  parsedOptions: ReadonlyArray<Record<string, unknown>> | undefined,
  defaultPath: string,
): HttpRule[] {
  const rules: HttpRule[] = [];
  for (const option of parsedOptions ?? []) {
    const raw = option['(google.api.http)'] as RawRule | undefined;
    if (raw) collect(raw, rules);
  }
  if (rules.length === 0) rules.push({ method: 'POST', path: defaultPath, body: '*', responseBody: '' });
  return rules;
}

function collect(raw: RawRule, out: HttpRule[]): void {
  const rule = toRule(raw);
  if (rule) out.push(rule);
  const extra = raw.additional_bindings ?? raw.additionalBindings;
  for (const binding of Array.isArray(extra) ? extra : extra ? [extra] : []) collect(binding, out);
}

function toRule(raw: RawRule): HttpRule | undefined {
  const body = raw.body ?? '';
  const responseBody = raw.response_body ?? raw.responseBody ?? '';
  for (const verb of VERBS) {
    const path = raw[verb];
    if (typeof path === 'string') return { method: verb.toUpperCase(), path, body, responseBody };
  }
  if (raw.custom?.kind && raw.custom.path) {
    return { method: raw.custom.kind.toUpperCase(), path: raw.custom.path, body, responseBody };
  }
  return undefined;
}
