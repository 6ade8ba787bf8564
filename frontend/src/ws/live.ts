// A websocket that reconnects and resumes each stream after the last seq it saw (see docs/live.md).

export interface LiveMessage {
  type: string;
  [key: string]: unknown;
}

/** message type -> [stream name, field holding the items] */
export type StreamFields = Record<string, [string, string]>;

export const JOB_STREAMS: StreamFields = {
  "job.log": ["log", "chunks"],
  "job.tasks": ["tasks", "events"],
  "job.samples": ["samples", "samples"],
};
export const RUNTIME_STREAMS: StreamFields = { "runtime.log": ["log", "lines"] };

export interface LiveOptions {
  path: string; // e.g. /ws/jobs/42/
  streams?: string[]; // ?streams=
  cursors?: Record<string, number>;
  fields: StreamFields;
  onMessage: (message: LiveMessage) => void;
  onStatus?: (status: "connecting" | "open" | "closed" | "refused", detail?: string) => void;
}

const FINAL_CODES = new Set([4401, 4403, 4404, 1000]);

export function wsUrl(path: string): string {
  const proto = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${window.location.host}${path}`;
}

export class LiveSocket {
  cursors: Record<string, number>;
  private socket: WebSocket | null = null;
  private closed = false;
  private attempts = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private options: LiveOptions) {
    this.cursors = { ...(options.cursors ?? {}) };
    this.connect();
  }

  private url(): string {
    const params = new URLSearchParams();
    if (this.options.streams) params.set("streams", this.options.streams.join(","));
    for (const [name, seq] of Object.entries(this.cursors)) if (seq > 0) params.set(`${name}_after`, String(seq));
    const query = params.toString();
    return wsUrl(this.options.path + (query ? `?${query}` : ""));
  }

  private connect(): void {
    if (this.closed) return;
    this.options.onStatus?.("connecting");
    const socket = new WebSocket(this.url());
    this.socket = socket;
    socket.onopen = () => {
      this.attempts = 0;
      this.options.onStatus?.("open");
    };
    socket.onmessage = (event) => {
      let frame: LiveMessage;
      try {
        frame = JSON.parse(String(event.data));
      } catch {
        return;
      }
      const messages = frame.type === "batch" ? (frame.messages as LiveMessage[]) : [frame];
      for (const message of messages) this.handle(message);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.closed) return;
      if (event.code >= 4400 && event.code < 4500) {
        this.options.onStatus?.("refused", event.reason || String(event.code));
        return;
      }
      this.options.onStatus?.("closed");
      if (FINAL_CODES.has(event.code)) return; // the server ended it on purpose
      const delay = Math.min(10_000, 500 * 2 ** this.attempts++);
      this.timer = setTimeout(() => this.connect(), delay);
    };
  }

  private handle(message: LiveMessage): void {
    if (message.type === "synced") {
      const cursors = (message.cursors ?? {}) as Record<string, number>;
      for (const [name, seq] of Object.entries(cursors)) this.cursors[name] = Math.max(this.cursors[name] ?? 0, seq);
    } else {
      const stream = this.options.fields[message.type];
      if (stream) {
        const items = (message[stream[1]] ?? []) as { seq?: number }[];
        for (const item of items)
          if (typeof item.seq === "number") this.cursors[stream[0]] = Math.max(this.cursors[stream[0]] ?? 0, item.seq);
      }
    }
    this.options.onMessage(message);
  }

  send(message: object): boolean {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.socket?.close(1000);
    this.socket = null;
  }
}
