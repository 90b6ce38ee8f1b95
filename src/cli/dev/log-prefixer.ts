/** Prefixing and colouring the output of several processes that share one terminal. */

/** ANSI foreground colours given to services in turn; red is left for errors. */
const PALETTE = [36, 32, 35, 33, 34, 96, 92, 95, 93, 94] as const;
const HUB_COLOUR = 90;

/**
 * Whether to colour: never with NO_COLOR (any non-empty value, https://no-color.org), always
 * with FORCE_COLOR (other than "0"/"false"), else when the output is a terminal.
 */
export function useColour(env: NodeJS.ProcessEnv, isTty: boolean): boolean {
  if (env.NO_COLOR) return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '0' && force !== 'false') return true;
  return isTty;
}

/** The colour of the i-th service, and of the hub. */
export function colourOf(index: number | 'hub'): number {
  return index === 'hub' ? HUB_COLOUR : (PALETTE[index % PALETTE.length] as number);
}

/** `name │ ` padded to `width`, coloured when asked. */
export function prefixFor(name: string, width: number, colour: number | undefined): string {
  const label = `${name.padEnd(width)} │ `;
  return colour === undefined ? label : `\x1b[${colour}m${label}\x1b[0m`;
}

/**
 * Splits a stream's chunks into lines and writes each with a prefix. A partial last line is
 * held until its end arrives, or until `flush()` (the process exited without a newline).
 */
export class LinePrefixer {
  readonly #prefix: string;
  readonly #write: (text: string) => void;
  #partial = '';

  constructor(prefix: string, write: (text: string) => void) {
    this.#prefix = prefix;
    this.#write = write;
  }

  push(chunk: string): void {
    const text = this.#partial + chunk;
    const end = text.lastIndexOf('\n');
    if (end === -1) {
      this.#partial = text;
      return;
    }
    this.#partial = text.slice(end + 1);
    const lines = text.slice(0, end).split('\n');
    this.#write(lines.map((line) => `${this.#prefix}${line.replace(/\r$/, '')}\n`).join(''));
  }

  flush(): void {
    if (this.#partial === '') return;
    const line = this.#partial;
    this.#partial = '';
    this.#write(`${this.#prefix}${line}\n`);
  }
}
