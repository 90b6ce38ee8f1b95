/**
 * Name patterns of access policies (the hub's grants, a server's call rules): `*` stands for
 * any run of characters, dots and slashes included; everything else is literal. `shop.v1.*`
 * matches `shop.v1.Orders` and `shop.v1.Orders/GetOrder`; `*` alone matches everything.
 */
export type NamePattern = string;

const compiled = new Map<string, RegExp>();

/**
 * True when `name` matches `pattern` (in any case with `ignoreCase`: Eureka's app names).
 * Compiled patterns are cached: policies are small and asked on every call.
 */
export function matchesPattern(pattern: NamePattern, name: string, ignoreCase = false): boolean {
  if (pattern === '*') return true;
  if (ignoreCase) return matchesPattern(pattern.toLowerCase(), name.toLowerCase());
  if (!pattern.includes('*')) return pattern === name;
  let regex = compiled.get(pattern);
  if (!regex) {
    const source = pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
      .join('.*');
    regex = new RegExp(`^${source}$`, 's');
    if (compiled.size > 1000) compiled.clear();
    compiled.set(pattern, regex);
  }
  return regex.test(name);
}

export function matchesAny(patterns: readonly NamePattern[], name: string, ignoreCase = false): boolean {
  return patterns.some((pattern) => matchesPattern(pattern, name, ignoreCase));
}

/** A list of patterns from configuration: a string, an array of strings, or absent. */
export function readPatterns(value: unknown, where: string): NamePattern[] {
  if (value === undefined) return [];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.some((item) => typeof item !== 'string' || item.length === 0)) {
    throw new TypeError(`${where}: expected a pattern or a list of patterns (non-empty strings)`);
  }
  return list as string[];
}
