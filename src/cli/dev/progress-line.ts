/**
 * The "starting 3/5: orders, payments…" line. On a terminal it is one line rewritten in
 * place, which log lines printed meanwhile push down (`above`); elsewhere (a pipe, CI) each
 * new text is printed once as a line of its own, and repeats are dropped.
 */
export class ProgressLine {
  readonly #write: (text: string) => void;
  readonly #tty: boolean;
  /** What the terminal shows on the progress line now; '' when nothing. */
  #shown = '';
  #last = '';

  readonly #columns: () => number | undefined;

  /** `columns`: the terminal's width, to keep the line on one row (a wrapped line cannot be rewritten). */
  constructor(
    write: (text: string) => void,
    tty: boolean,
    columns: () => number | undefined = () => undefined,
  ) {
    this.#write = write;
    this.#tty = tty;
    this.#columns = columns;
  }

  /** Shows `text` as the progress; '' clears it. */
  set(text: string): void {
    if (text === this.#last) return;
    this.#last = text;
    if (!this.#tty) {
      if (text !== '') this.#write(`${text}\n`);
      return;
    }
    const width = this.#columns();
    const fitted =
      width !== undefined && text.length >= width ? `${text.slice(0, Math.max(0, width - 2))}…` : text;
    this.#write(`\r\x1b[2K${fitted}`);
    this.#shown = fitted;
  }

  /** Writes log text (whole lines) above the progress line, which is drawn again below it. */
  above(text: string): void {
    if (!this.#tty || this.#shown === '') {
      this.#write(text);
      return;
    }
    this.#write(`\r\x1b[2K${text}${this.#shown}`);
  }

  /** Removes the progress line for good (on a terminal), leaving the cursor at a line start. */
  done(): void {
    if (this.#tty && this.#shown !== '') this.#write('\r\x1b[2K');
    this.#shown = '';
    this.#last = '';
  }
}

/** "starting 3/5: orders, payments" (the names of those not yet ready, at most `max` of them). */
export function progressText(ready: number, total: number, waiting: readonly string[], max = 4): string {
  const names = waiting.slice(0, max).join(', ') + (waiting.length > max ? ', …' : '');
  return `starting ${ready}/${total}${names ? `: ${names}` : ''}`;
}
