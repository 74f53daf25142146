"use client";
// The live channel to rg-notify (docs/notify.md): one WebSocket per tab at /ws, subprotocol
// resumego.v1, authenticated by the session cookie.  It reconnects with backoff and asks
// for what it missed (`since=<last seq>`: each notification's per-user `seq`).  While it is down, `connected` is false and the
// preview polls GET renders/{id} instead, so the app works with or without the hub.

export type NotifyMessage = {
  id?: number;
  seq?: number;
  type: string;
  run_id?: string;
  resume_id?: string;
  state?: string;
  pdf_url?: string;
  error?: { code?: string; message?: string; retryable?: boolean } | string;
  last_seq?: number;
  at?: string;
};

type Listener = (m: NotifyMessage) => void;
type StatusListener = (connected: boolean) => void;

export class NotifyClient {
  private ws: WebSocket | null = null;
  private listeners = new Set<Listener>();
  private statusListeners = new Set<StatusListener>();
  private lastSeq = 0;
  private retry = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = true;
  connected = false;

  constructor(private url: () => string) {}

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.open();
  }

  stop() {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(1000);
    this.setConnected(false);
  }

  on(l: Listener) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  onStatus(l: StatusListener) {
    this.statusListeners.add(l);
    return () => this.statusListeners.delete(l);
  }

  private setConnected(c: boolean) {
    if (this.connected === c) return;
    this.connected = c;
    this.statusListeners.forEach((l) => l(c));
  }

  private open() {
    let ws: WebSocket;
    try {
      const base = this.url();
      ws = new WebSocket(this.lastSeq ? `${base}?since=${this.lastSeq}` : base, "resumego.v1");
    } catch {
      this.later();
      return;
    }
    this.ws = ws;
    ws.onmessage = (ev) => {
      let m: NotifyMessage;
      try {
        m = JSON.parse(String(ev.data));
      } catch {
        return;
      }
      if (m.type === "ready") {
        this.retry = 0;
        if (typeof m.last_seq === "number" && m.last_seq > this.lastSeq) this.lastSeq = m.last_seq;
        this.setConnected(true);
      } else if (m.type === "resync" && typeof m.last_seq === "number") {
        this.lastSeq = m.last_seq;
      }
      if (typeof m.seq === "number") {
        // The hub sends each seq once, in order; one already applied (a reconnect's seam)
        // is skipped.
        if (m.seq <= this.lastSeq) return;
        this.lastSeq = m.seq;
      }
      this.listeners.forEach((l) => l(m));
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.setConnected(false);
      // 4401: the session is gone; the API will say so too.  Do not hammer the hub.
      if (ev.code === 4401) this.retry = Math.max(this.retry, 4);
      this.later();
    };
    ws.onerror = () => {
      /* onclose follows */
    };
  }

  private later() {
    if (this.stopped) return;
    const delay = Math.min(30000, 500 * 2 ** this.retry) * (0.75 + Math.random() * 0.5);
    this.retry = Math.min(this.retry + 1, 6);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.stopped) this.open();
    }, delay);
  }
}

let shared: NotifyClient | null = null;
export function notifyClient(): NotifyClient {
  shared ??= new NotifyClient(() => (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
  return shared;
}
