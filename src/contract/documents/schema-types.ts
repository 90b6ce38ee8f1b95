import type { JsonValue } from '../descriptors.ts';

/** A JSON Schema (or any JSON object of an API document). */
export type JsonSchema = { [key: string]: JsonValue };
