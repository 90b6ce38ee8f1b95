/**
 * The native protocol's constants: the frame header, frame types, flags, settings and GOAWAY
 * codes. docs/native-protocol.md describes each byte; keep the two in step.
 */

/** [u32 payload length][u8 type][u8 flags][u32 stream id], big-endian. */
export const HEADER_BYTES = 10;

export const FrameType = {
  HELLO: 0x01,
  REQUEST: 0x02,
  MESSAGE: 0x03,
  END: 0x04,
  HEADERS: 0x05,
  STATUS: 0x06,
  CANCEL: 0x07,
  WINDOW: 0x08,
  PING: 0x09,
  PONG: 0x0a,
  GOAWAY: 0x0b,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

const frameTypeNames: string[] = [];
for (const [name, code] of Object.entries(FrameType)) frameTypeNames[code] = name;

export function frameTypeName(type: number): string {
  return frameTypeNames[type] ?? `UNKNOWN(0x${type.toString(16)})`;
}

/** REQUEST flags. */
export const RequestFlag = {
  /** The payload carries the method path (and, with a non-zero method id, binds the id to it). */
  METHOD_PATH: 0x01,
  /** The request message follows the metadata block (unary and server-streaming calls). */
  HAS_MESSAGE: 0x02,
} as const;

/** STATUS flags. */
export const StatusFlag = {
  /** The response message follows the details (unary and client-streaming calls, status OK). */
  HAS_MESSAGE: 0x02,
  /** Response headers precede the trailers (they were not sent in a HEADERS frame). */
  HAS_HEADERS: 0x04,
} as const;

/** HELLO settings: (u16 id, u32 value) pairs; unknown ids are ignored. */
export const Setting = {
  /** Largest message the sender accepts (its frame limit follows: see framePayloadLimit). */
  MAX_MESSAGE_BYTES: 1,
  /** Most calls the sender serves at once on this connection (servers only). */
  MAX_CONCURRENT_STREAMS: 2,
  /** Credit, in bytes, each stream starts with for messages sent to the sender. */
  INITIAL_WINDOW_BYTES: 3,
  /** Largest metadata block the sender accepts. */
  MAX_METADATA_BYTES: 4,
} as const;

/** Why a connection is going away. */
export const GoawayCode = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  FRAME_SIZE_ERROR: 2,
  HANDSHAKE_TIMEOUT: 3,
  KEEPALIVE_TIMEOUT: 4,
  UNSUPPORTED_VERSION: 5,
  INTERNAL_ERROR: 6,
  FRAME_TIMEOUT: 7,
  FLOW_CONTROL_ERROR: 8,
  IDLE_TIMEOUT: 9,
  /** The client abused the connection (a flood of abandoned calls, a frame trickled in tiny reads). */
  ENHANCE_YOUR_CALM: 10,
} as const;
export type GoawayCode = (typeof GoawayCode)[keyof typeof GoawayCode];

const goawayNames: string[] = [];
for (const [name, code] of Object.entries(GoawayCode)) goawayNames[code] = name;

export function goawayCodeName(code: number): string {
  return goawayNames[code] ?? `CODE_${code}`;
}

/** Room in a frame besides its message: the request path, status message and details. */
const FRAME_SLACK_BYTES = 64 * 1024;

/**
 * The largest frame payload a peer accepts, from its settings: one message, headers and
 * trailers (a STATUS may carry both) and slack for the rest. Longer is a FRAME_SIZE_ERROR.
 */
export function framePayloadLimit(maxMessageBytes: number, maxMetadataBytes: number): number {
  return maxMessageBytes + 2 * maxMetadataBytes + FRAME_SLACK_BYTES;
}

/** A status message longer than this is cut (in characters), so a STATUS always fits. */
export const MAX_STATUS_MESSAGE_CHARS = 4096;
/** Status details bigger than this in all are dropped (with a note), so a STATUS always fits. */
export const MAX_STATUS_DETAILS_BYTES = 32 * 1024;

/** The first four bytes of every HELLO payload: "SBN" and a zero, so garbage is caught at once. */
export const MAGIC = Buffer.from([0x53, 0x42, 0x4e, 0x00]);
export const PROTOCOL_VERSION = 1;

/** A REQUEST timeout meaning "no deadline". */
export const NO_TIMEOUT = 0xffffffff;

/** Method ids a connection may bind; beyond this the client sends paths. */
export const MAX_METHOD_IDS = 4096;

/** HELLO payloads are tiny: a connection whose first frame is bigger is not speaking this protocol. */
export const MAX_HELLO_BYTES = 1024;

/** Largest stream id; a client that reaches it opens a new connection. */
export const MAX_STREAM_ID = 0x7fffffff;
