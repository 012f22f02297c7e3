// The connection to the server as a state machine, shown in the status bar instead of thrown:
// connecting → live, and on a drop, reconnecting in N s → connecting, resuming exactly after the
// last entry received (`after=SEQ&boot=ID`). Stops for good only on what retrying cannot fix
// (an invalid filter, a refused origin).
//
// The token travels as a WebSocket subprotocol (`vg.token.<token>`, next to `vg.v1`), the form the
// server accepts from browsers, which cannot set headers on a WebSocket; never in the URL.

const BACKOFF_FIRST = 250;
const BACKOFF_MAX = 10000;
/// Header token characters: what a subprotocol may hold (the server's rule).
const TOKEN_CHARS = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;

export function tokenUsable(token) {
  return TOKEN_CHARS.test(token);
}

export class Stream {
  /// `root`: the URL the API paths are relative to. `handlers`: hello, entries, gap, live, state,
  /// needToken (called when the server refuses the token; returns nothing, `setToken` resumes).
  constructor(root, handlers) {
    this.root = root;
    this.on = handlers;
    this.token = null;
    this.window = { since: "", until: "" };
    this.tail = 0;
    this.lastSeq = null;
    this.boot = null;
    this.socket = null;
    this.attempt = 0;
    this.timer = null;
    this.stopped = false;
  }

  setToken(token) {
    this.token = token || null;
  }

  /// Starts (or restarts from scratch, forgetting the resume point) with this history window.
  start(window, tail) {
    this.window = window;
    this.tail = tail;
    this.lastSeq = null;
    this.boot = null;
    this.stopped = false;
    this.attempt = 0;
    this.reconnectNow();
  }

  /// Connects again at once, resuming after the last entry received (if any): after a token was
  /// entered, or a `lagged` gap.
  resume() {
    this.stopped = false;
    this.attempt = 0;
    this.reconnectNow();
  }

  reconnectNow() {
    clearTimeout(this.timer);
    if (this.socket) {
      const old = this.socket;
      this.socket = null;
      old.onclose = old.onmessage = old.onerror = null;
      old.close(1000);
    }
    this.connect();
  }

  authHeaders() {
    return this.token ? { Authorization: `Bearer ${this.token}` } : {};
  }

  connect() {
    this.generation = (this.generation ?? 0) + 1;
    this.attempt++;
    this.state({ kind: "connecting", attempt: this.attempt });
    this.open();
  }

  /// A WebSocket refused at the handshake tells the page nothing about why; a plain request does:
  /// 401 (a token is needed, or this one is wrong), 403 (origin), or no answer at all. Asked only
  /// after a refusal, so a page load costs no extra round trip.
  async explain(fallback) {
    const attempt = this.generation;
    let probe;
    try {
      probe = await fetch(new URL("api/logs?limit=0", this.root), {
        headers: this.authHeaders(),
        cache: "no-store",
      });
    } catch (e) {
      if (attempt === this.generation) this.retry(`cannot reach the server (${e.message})`);
      return;
    }
    // A newer attempt (a restart, a resume) has made this one moot.
    if (this.stopped || attempt !== this.generation) return;
    if (probe.status === 401) {
      const reason = this.token ? "the server refused this token" : "this server needs a token";
      this.state({ kind: "token", reason });
      this.on.needToken(reason);
    } else if (probe.status === 403) {
      const text = (await probe.text()).trim();
      if (attempt === this.generation) this.stop(`refused: ${text}`);
    } else {
      this.retry(probe.ok ? fallback : `the server answered ${probe.status}`);
    }
  }

  open() {
    const url = new URL("api/logs/stream", this.root);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const q = url.searchParams;
    if (this.lastSeq !== null && this.boot) {
      q.set("after", String(this.lastSeq));
      q.set("boot", this.boot);
    } else if (this.tail > 0) {
      q.set("tail", String(this.tail));
    }
    if (this.window.since) q.set("since", this.window.since);
    if (this.window.until) q.set("until", this.window.until);
    const protocols = ["vg.v1"];
    if (this.token) protocols.push(`vg.token.${this.token}`);
    let socket;
    try {
      socket = new WebSocket(url, protocols);
    } catch (e) {
      this.retry(e.message);
      return;
    }
    this.socket = socket;
    let greeted = false;
    this.lastError = null;
    socket.onmessage = (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (Array.isArray(frame)) frame = { type: "entries", entries: frame };
      else if (frame && frame.type === undefined && frame.message !== undefined) frame = { type: "entries", entries: [frame] };
      switch (frame?.type) {
        case "hello":
          greeted = true;
          this.attempt = 0;
          this.boot = frame.boot ?? null;
          this.on.hello(frame);
          this.state({ kind: "connected", loading: true });
          break;
        case "entries": {
          const fresh = [];
          for (const e of frame.entries ?? []) {
            // Never the same entry twice, whatever a server or a resume sends.
            if (typeof e.seq === "number") {
              if (this.lastSeq !== null && e.seq <= this.lastSeq) continue;
              this.lastSeq = e.seq;
            }
            fresh.push(e);
          }
          if (fresh.length) this.on.entries(fresh);
          break;
        }
        case "gap":
          if (frame.reason === "lagged" && this.lastSeq !== null && this.boot) {
            // The entries may still be in history: resume from the last one received, at once, so
            // only what history no longer holds is lost (reported as `evicted`).
            this.reconnectNow();
            return;
          }
          this.on.gap(frame);
          break;
        case "live":
          this.state({ kind: "connected", loading: false });
          this.on.live();
          break;
        case "error":
          // Before a 1008 close this is the reason the stream stops; otherwise a passing notice.
          this.lastError = String(frame.message);
          this.on.notice(`server: ${frame.message}`);
          break;
        default:
          break;
      }
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (event.code === 1008 || event.code === 1009) {
        this.stop(this.lastError ?? (event.reason || `closed by the server (code ${event.code})`));
      } else if (!greeted && event.code !== 1013) {
        this.explain("the connection was refused");
      } else {
        this.retry(event.code === 1013 ? "the server is full" : event.reason || "connection lost");
      }
    };
  }

  retry(reason) {
    if (this.stopped) return;
    const wait = Math.min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** Math.min(this.attempt, 6));
    const jittered = Math.round(wait * (0.5 + Math.random() * 0.5));
    this.state({ kind: "reconnecting", at: Date.now() + jittered, reason });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), jittered);
  }

  stop(reason) {
    this.stopped = true;
    clearTimeout(this.timer);
    this.state({ kind: "disconnected", reason });
  }

  state(s) {
    this.current = s;
    this.on.state(s);
  }
}
