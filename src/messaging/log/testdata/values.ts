/** A record value that says which record it is and has recognisable bytes. */
export function valueFor(id: string, size: number): Buffer {
  const buf = Buffer.alloc(size);
  const tag = Buffer.from(`${id}|`);
  for (let i = 0; i < size; i++) buf[i] = tag[i % tag.length]!;
  return buf;
}
