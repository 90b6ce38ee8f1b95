/**
 * The `grpc-message` trailer is percent-encoded UTF-8: bytes outside printable ASCII
 * (0x20–0x7E) and '%' itself become "%XX" (the gRPC HTTP/2 protocol spec).
 */

// Printable ASCII except '%': nothing to encode, which is the common case.
const PLAIN = /^[\x20-\x24\x26-\x7e]*$/;
const HEX = '0123456789ABCDEF';

export function encodeGrpcMessage(message: string): string {
  if (PLAIN.test(message)) return message;
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    if (byte >= 0x20 && byte <= 0x7e && byte !== 0x25) out += String.fromCharCode(byte);
    else out += `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
  }
  return out;
}

/**
 * Decodes "%XX" sequences back to UTF-8. Malformed sequences are kept as they are, as the
 * spec asks of receivers: a status message is never a reason to fail.
 */
export function decodeGrpcMessage(value: string): string {
  if (!value.includes('%')) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (
      c === 0x25 &&
      i + 2 < value.length &&
      isHex(value.charCodeAt(i + 1)) &&
      isHex(value.charCodeAt(i + 2))
    ) {
      bytes.push(Number.parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) {
      bytes.push(c);
    } else {
      // Not ASCII: the peer broke the rule; keep the character (a whole surrogate pair).
      const char = String.fromCodePoint(value.codePointAt(i)!);
      for (const b of Buffer.from(char, 'utf8')) bytes.push(b);
      i += char.length - 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}
