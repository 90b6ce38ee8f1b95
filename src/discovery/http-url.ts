/**
 * Parses the http(s) URL of a registry server, throwing a TypeError that names the registry
 * (`what`: "hub", "eureka", "consul") and the expected form (`shape`).
 */
export function registryUrl(url: string, what: string, shape: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`${what} url ${JSON.stringify(url)}: expected ${shape}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new TypeError(`${what} url ${JSON.stringify(url)}: expected http:// or https://`);
  }
  return parsed;
}
