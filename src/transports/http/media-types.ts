/** The content types this transport speaks. */
export const JSON_CONTENT_TYPE = 'application/json';
/** Newline-delimited JSON: one message per line (response streams, request streams). */
export const NDJSON_CONTENT_TYPE = 'application/x-ndjson';
export const SSE_CONTENT_TYPE = 'text/event-stream';

/** Media types accepted for a body of JSON messages, one per line. */
const NDJSON_TYPES = new Set([
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/x-jsonlines',
]);

/** The media type of a Content-Type header, lower case, without parameters. */
export function mediaType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

/** application/json or any +json type; no Content-Type at all is taken as JSON too. */
export function isJsonType(contentType: string | undefined): boolean {
  const type = mediaType(contentType);
  return type === undefined || type === '' || type === 'application/json' || type.endsWith('+json');
}

export function isNdjsonType(contentType: string | undefined): boolean {
  const type = mediaType(contentType);
  return type !== undefined && NDJSON_TYPES.has(type);
}
