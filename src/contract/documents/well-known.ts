/**
 * The JSON forms of the well-known types, as protojson writes them (they are not objects of
 * their fields). Undefined for any other message.
 */
import { scalarSchema } from './scalars.ts';
import type { JsonSchema } from './schema-types.ts';

const WRAPPERS: Record<string, string> = {
  'google.protobuf.DoubleValue': 'double',
  'google.protobuf.FloatValue': 'float',
  'google.protobuf.Int64Value': 'int64',
  'google.protobuf.UInt64Value': 'uint64',
  'google.protobuf.Int32Value': 'int32',
  'google.protobuf.UInt32Value': 'uint32',
  'google.protobuf.BoolValue': 'bool',
  'google.protobuf.StringValue': 'string',
  'google.protobuf.BytesValue': 'bytes',
};

const ANY_VALUE: JsonSchema = { description: 'Any JSON value.' };

export function wellKnownSchema(fullName: string): JsonSchema | undefined {
  const wrapped = WRAPPERS[fullName];
  if (wrapped) return { ...scalarSchema(wrapped), description: `A ${wrapped} that may be absent.` };
  switch (fullName) {
    case 'google.protobuf.Timestamp':
      return {
        type: 'string',
        format: 'date-time',
        description: 'RFC 3339, UTC ("Z"), with 0, 3, 6 or 9 fractional digits: "2026-01-02T03:04:05.678Z".',
      };
    case 'google.protobuf.Duration':
      return {
        type: 'string',
        pattern: '^-?[0-9]+(\\.[0-9]{1,9})?s$',
        description: 'Seconds with up to 9 fractional digits and an "s" suffix: "1.5s".',
      };
    case 'google.protobuf.FieldMask':
      return {
        type: 'string',
        description: 'Comma-separated lowerCamelCase field paths: "user.displayName,photo".',
      };
    case 'google.protobuf.Struct':
      return {
        type: 'object',
        additionalProperties: ANY_VALUE,
        description: 'Any JSON object.',
      };
    case 'google.protobuf.Value':
      return { ...ANY_VALUE };
    case 'google.protobuf.ListValue':
      return { type: 'array', items: ANY_VALUE, description: 'Any JSON array.' };
    case 'google.protobuf.Any':
      return {
        type: 'object',
        properties: {
          '@type': { type: 'string', description: 'The type URL: "type.googleapis.com/<full name>".' },
        },
        additionalProperties: true,
        description:
          'A message of any type: "@type" names it, and its JSON members follow (a well-known type puts its JSON in "value").',
      };
    case 'google.protobuf.Empty':
      return { type: 'object', properties: {}, additionalProperties: false };
    default:
      return undefined;
  }
}
