/** Schemas of protobuf scalar values in the canonical JSON mapping. */
import type { JsonSchema } from './schema-types.ts';

const INT32 = { type: 'integer', format: 'int32', minimum: -2147483648, maximum: 2147483647 };
const UINT32 = { type: 'integer', format: 'uint32', minimum: 0, maximum: 4294967295 };
const INT64 = { type: 'string', format: 'int64', pattern: '^-?[0-9]+$' };
const UINT64 = { type: 'string', format: 'uint64', pattern: '^[0-9]+$' };
const FLOAT_SPECIALS = { type: 'string', enum: ['NaN', 'Infinity', '-Infinity'] };

/** The schema of one scalar field value (not repeated), by protobuf scalar type. */
export function scalarSchema(type: string): JsonSchema {
  switch (type) {
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return { ...INT32 };
    case 'uint32':
    case 'fixed32':
      return { ...UINT32 };
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return { ...INT64 };
    case 'uint64':
    case 'fixed64':
      return { ...UINT64 };
    case 'float':
    case 'double':
      return { oneOf: [{ type: 'number', format: type }, { ...FLOAT_SPECIALS }] };
    case 'bool':
      return { type: 'boolean' };
    case 'string':
      return { type: 'string' };
    case 'bytes':
      return { type: 'string', format: 'byte', contentEncoding: 'base64' };
    default:
      throw new Error(`unsupported protobuf scalar type ${type}`);
  }
}

/** Map keys are JSON member names: the key type only constrains their spelling. */
export function mapKeySchema(keyType: string): JsonSchema | undefined {
  switch (keyType) {
    case 'string':
      return undefined;
    case 'bool':
      return { enum: ['true', 'false'] };
    case 'uint32':
    case 'fixed32':
    case 'uint64':
    case 'fixed64':
      return { pattern: '^[0-9]+$' };
    default:
      return { pattern: '^-?[0-9]+$' };
  }
}
