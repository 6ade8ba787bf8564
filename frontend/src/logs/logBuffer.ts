// The output of a job as lines, built from numbered log chunks (docs/live.md) that may arrive twice, out of
// order or with gaps (a socket that reconnects, a page fetched over HTTP racing the live stream).
//
// Chunks are applied strictly in seq order: a chunk after a gap waits in `pending` until the missing ones
// come (the caller refetches `jobs/{id}/logs/?after=<missingAfter()>`). Lines live in fixed-size blocks;
// beyond `maxLines` the oldest blocks are dropped (and counted), so memory stays bounded however loud a job is.
// Each line's level (levels.ts) is found as it comes, in order, so a traceback is known whole.

import { type Level, LevelTracker } from "./levels";

// "task": what a job's tasks printed, each line prefixed with its task (monitoring/task_output.py).
export type Stream = "stdout" | "stderr" | "system" | "task";

export interface Chunk {
  seq: number;
  stream: Stream;
  text: string;
}

export interface Line {
  number: number; // 1-based over the whole output, including dropped lines
  stream: Stream;
  text: string;
  level: Level;
}

const STREAM_CODES: Stream[] = ["stdout", "stderr", "system", "task"];
const code = (stream: Stream) => Math.max(0, STREAM_CODES.indexOf(stream));

interface Block {
  texts: string[];
  streams: number[];
  levels: Level[];
}

export interface LogBufferOptions {
  maxLines?: number;
  blockSize?: number;
  maxPending?: number;
}

export class LogBuffer {
  readonly maxLines: number;
  readonly blockSize: number;
  readonly maxPending: number;
  /** The last seq applied: every chunk up to it is in the buffer. */
  lastSeq = 0;
  /** Lines dropped from the front to cap memory. */
  dropped = 0;
  /** Bumped on every change: a cheap "did it change" for views. */
  version = 0;

  private blocks: Block[] = [];
  private count = 0;
  private open = false; // the last line has no newline yet
  // Streams whose own latest line has no newline yet, even when another stream's lines came after it: an unbuffered
  // print() writes "text" and "\n" apart, and the supervisor may read stderr in between.
  private unterminated = new Set<number>();
  private levels = new LevelTracker();
  private openLineState = false; // the tracker's state before the open line (classified again as it grows)
  private pending = new Map<number, Chunk>();
  private listeners = new Set<() => void>();

  constructor(options: LogBufferOptions = {}) {
    this.blockSize = options.blockSize ?? 1024;
    this.maxLines = Math.max(options.maxLines ?? 200_000, this.blockSize * 2);
    this.maxPending = options.maxPending ?? 10_000;
  }

  /** Lines held now (after dropping). */
  get length(): number {
    return this.count;
  }

  /** Lines ever seen, including dropped ones. */
  get total(): number {
    return this.count + this.dropped;
  }

  /** Apply chunks; returns true if anything changed. Duplicates and already-applied seqs are ignored. */
  add(chunks: Iterable<Chunk>): boolean {
    let changed = false;
    for (const chunk of chunks) {
      if (chunk.seq <= this.lastSeq || this.pending.has(chunk.seq)) continue;
      if (chunk.seq === this.lastSeq + 1) {
        this.apply(chunk);
        changed = true;
        let next = this.pending.get(this.lastSeq + 1);
        while (next) {
          this.pending.delete(next.seq);
          this.apply(next);
          next = this.pending.get(this.lastSeq + 1);
        }
      } else if (this.pending.size < this.maxPending) {
        this.pending.set(chunk.seq, chunk);
      }
    }
    if (changed) this.changed();
    return changed;
  }

  /** The seq to refetch after when chunks are missing (a gap before pending ones), else null. */
  missingAfter(): number | null {
    return this.pending.size > 0 ? this.lastSeq : null;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** The line at index i of the held lines (0 = oldest held). */
  line(index: number): Line {
    const block = this.blocks[Math.floor(index / this.blockSize)];
    const offset = index % this.blockSize;
    return {
      number: this.dropped + index + 1,
      stream: STREAM_CODES[block.streams[offset]],
      text: block.texts[offset],
      level: block.levels[offset],
    };
  }

  lines(start = 0, end = this.count): Line[] {
    const out: Line[] = [];
    for (let i = Math.max(0, start); i < Math.min(end, this.count); i++) out.push(this.line(i));
    return out;
  }

  /** All held text (for copy / tests). */
  text(): string {
    return this.lines()
      .map((l) => l.text)
      .join("\n");
  }

  clear(): void {
    this.blocks = [];
    this.count = 0;
    this.dropped = 0;
    this.open = false;
    this.unterminated.clear();
    this.levels.reset();
    this.lastSeq = 0;
    this.pending.clear();
    this.changed();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    this.version++;
    for (const listener of this.listeners) listener();
  }

  private apply(chunk: Chunk): void {
    this.lastSeq = chunk.seq;
    const stream = code(chunk.stream);
    const parts = chunk.text.split("\n");
    const continues = this.unterminated.has(stream);
    if (chunk.text !== "") {
      if (chunk.text.endsWith("\n")) this.unterminated.delete(stream);
      else this.unterminated.add(stream);
    }
    // "a\nb\n" -> ["a", "b", ""]: the last part is the start of a line still open ("" if none).
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      const last = i === parts.length - 1;
      if (last && part === "") {
        if (i > 0) this.open = false;
        break;
      }
      const sameLine = i === 0 && this.open && this.lastStream() === stream;
      if (i === 0 && part === "" && continues && !sameLine) {
        continue; // the newline that ends this stream's line from before the other stream's lines: no empty line
      }
      if (sameLine) {
        this.appendToLast(part);
      } else {
        this.push(part, stream);
      }
      this.open = last; // every part but the last was ended by a newline
    }
    if (parts.length > 1 && parts[parts.length - 1] === "") this.open = false;
  }

  private lastStream(): number {
    const block = this.blocks[this.blocks.length - 1];
    return block ? block.streams[block.streams.length - 1] : -1;
  }

  private appendToLast(text: string): void {
    const block = this.blocks[this.blocks.length - 1];
    const last = block.texts.length - 1;
    block.texts[last] += text;
    block.levels[last] = this.levels.classify(block.texts[last], block.streams[last], this.openLineState);
  }

  private push(text: string, stream: number): void {
    let block = this.blocks[this.blocks.length - 1];
    if (!block || block.texts.length >= this.blockSize) {
      block = { texts: [], streams: [], levels: [] };
      this.blocks.push(block);
    }
    this.openLineState = this.levels.state(stream);
    block.texts.push(text);
    block.streams.push(stream);
    block.levels.push(this.levels.classify(text, stream));
    this.count++;
    while (this.count > this.maxLines && this.blocks.length > 1) {
      const first = this.blocks.shift()!;
      this.count -= first.texts.length;
      this.dropped += first.texts.length;
    }
  }
}

/** What a terminal would show of a line with carriage returns (progress bars): the text after the last \r. */
export function visibleText(text: string): string {
  const trimmed = text.endsWith("\r") ? text.slice(0, -1) : text;
  const cr = trimmed.lastIndexOf("\r");
  return cr >= 0 ? trimmed.slice(cr + 1) : trimmed;
}
