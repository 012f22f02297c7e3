// The log view: virtual scrolling over the buffer's filtered index. Only the rows on screen exist
// in the DOM (a small pool, reused); the scroll height comes from a sizer. Every value from the log
// goes in as text (`textContent`, text nodes), never as markup; control characters and bidi
// overrides are shown as visible escapes, as in the TUI, so a message cannot fake another row.

const GAP_REASONS = {
  lagged: "viewer fell behind",
  evicted: "no longer in server history",
  restart: "server restarted",
};

/// Visible escapes for what would act on the display: C0 controls (tab aside), C1, bidi controls,
/// and Unicode tag characters (invisible ASCII look-alikes: hidden text for whoever copies the row).
// eslint-disable-next-line no-control-regex
const HOSTILE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u{e0000}-\u{e007f}]/gu;
export function visible(text) {
  return String(text).replace(HOSTILE, (c) => {
    switch (c) {
      case "\n": return "\\n";
      case "\r": return "\\r";
      case "\u001b": return "\\e";
      default: return `\\u{${c.codePointAt(0).toString(16)}}`;
    }
  });
}

/// The same, except line breaks: for the detail view, where they are kept.
// eslint-disable-next-line no-control-regex
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u0000-\u0008\u000b-\u001f\u007f-\u009f\u{e0000}-\u{e007f}]/gu;
export function visibleKeepLines(text) {
  return String(text).replace(BIDI, (c) => (c === "\u001b" ? "\\e" : `\\u{${c.codePointAt(0).toString(16)}}`));
}

/// The TUI's words for a gap row, exactly.
export function gapText(row) {
  const why = GAP_REASONS[row.reason] ?? visible(row.reason);
  switch (row.missed) {
    case 0: return `... entries missed (${why})`;
    case 1: return `... 1 entry missed (${why})`;
    default: return `... ${row.missed.toLocaleString("en-US")} entries missed (${why})`;
  }
}

export function formatTime(ts, mode, now) {
  const t = Date.parse(ts);
  if (Number.isNaN(t)) return visible(ts);
  if (mode === "local") {
    const d = new Date(t);
    const p = (n, w = 2) => String(n).padStart(w, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
  }
  if (mode === "relative") {
    const s = Math.max(0, (now - t) / 1000);
    if (s < 60) return `${s.toFixed(1)}s ago`.padStart(12);
    if (s < 3600) return `${Math.floor(s / 60)}m${Math.floor(s % 60)}s ago`.padStart(12);
    return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m ago`.padStart(12);
  }
  return new Date(t).toISOString();
}

export function metaText(meta) {
  if (!meta || typeof meta !== "object") return "";
  const parts = [];
  for (const [k, v] of Object.entries(meta)) {
    const text = typeof v === "string" ? (/[\s"=]/.test(v) || v === "" ? JSON.stringify(v) : v) : JSON.stringify(v);
    parts.push(`${k}=${text}`);
    if (parts.length > 24) break;
  }
  return visible(parts.join(" "));
}

export class LogView {
  constructor(container, sizer, app) {
    this.el = container;
    this.sizer = sizer;
    this.app = app;
    this.pool = [];
    this.rowHeight = 20;
    this.lastScrollTop = 0;
    // Rows that left the top of a held view since the last frame (see `App.rowDropped`).
    this.pendingShift = 0;
    container.addEventListener("scroll", () => app.onScroll());
  }

  measure() {
    const v = getComputedStyle(document.documentElement).getPropertyValue("--row");
    this.rowHeight = parseFloat(v) || 20;
  }

  get pageRows() {
    return Math.max(1, Math.floor(this.el.clientHeight / this.rowHeight) - 1);
  }

  /// The first filtered position on screen.
  get firstVisible() {
    return Math.floor(this.el.scrollTop / this.rowHeight);
  }

  scrollToPosition(pos, align) {
    const h = this.rowHeight;
    const top = pos * h;
    if (align === "bottom") this.el.scrollTop = this.el.scrollHeight;
    else if (top < this.el.scrollTop) this.el.scrollTop = top;
    else if (top + h > this.el.scrollTop + this.el.clientHeight) this.el.scrollTop = top + h - this.el.clientHeight;
  }

  /// Lays out the rows on screen. Reads the app's state, changes only the DOM.
  render() {
    const { buffer, filter } = this.app;
    const total = buffer.shownLength;
    const h = this.rowHeight;
    this.sizer.style.height = `${total * h}px`;
    if (this.app.following) this.el.scrollTop = this.el.scrollHeight;
    else if (this.pendingShift) this.el.scrollTop = Math.max(0, this.el.scrollTop - this.pendingShift * h);
    this.pendingShift = 0;
    const first = Math.min(total, Math.floor(this.el.scrollTop / h));
    const count = Math.min(total - first, Math.ceil(this.el.clientHeight / h) + 1);
    while (this.pool.length < count) {
      const div = document.createElement("div");
      div.className = "r";
      div.addEventListener("click", () => this.app.select(Number(div.dataset.abs), true));
      this.el.append(div);
      this.pool.push(div);
    }
    const highlight = filter.regex ? new RegExp(filter.regex.source, `${filter.regex.flags}g`) : null;
    const now = Date.now();
    for (let i = 0; i < this.pool.length; i++) {
      const div = this.pool[i];
      if (i >= count) {
        div.hidden = true;
        continue;
      }
      const abs = buffer.shownAt(first + i);
      div.hidden = false;
      div.style.transform = `translateY(${(first + i) * h}px)`;
      // Same row, same search, same clock column: nothing to redo.
      const key = `${buffer.generation}|${abs}|${filter.search}|${this.app.timeMode === "relative" ? Math.floor(now / 1000) : this.app.timeMode}`;
      div.classList.toggle("sel", abs === this.app.selected);
      if (div.dataset.key === key) continue;
      div.dataset.key = key;
      div.dataset.abs = String(abs);
      this.fill(div, buffer.get(abs), highlight, now);
    }
  }

  fill(div, row, highlight, now) {
    div.replaceChildren();
    if (row.gap) {
      div.className = "r gap";
      const t = document.createElement("span");
      t.className = "t";
      t.textContent = row.timestamp ? formatTime(row.timestamp, this.app.timeMode, now) : "";
      const g = document.createElement("span");
      g.textContent = gapText(row);
      div.append(t, " ", g);
      return;
    }
    div.className = "r";
    const span = (cls, text) => {
      const s = document.createElement("span");
      s.className = cls;
      s.textContent = text;
      return s;
    };
    const origin = `${visible(row.source)}${row.instance ? `[${visible(row.instance)}]` : ""}${row.region ? ` ${visible(row.region)}` : ""}`;
    const msg = document.createElement("span");
    msg.className = "msg";
    appendHighlighted(msg, visible(row.message), highlight);
    // Spaces as text between the columns, so a selected and copied row reads as a line.
    const time = span("t", "");
    const stamp = formatTime(row.timestamp, this.app.timeMode, now);
    const cut = this.app.timeMode === "utc" ? stamp.indexOf("T") + 1 : 0;
    // The date part on its own, so a phone's narrow screen can leave it out.
    if (cut > 0) time.append(span("d", stamp.slice(0, cut)), stamp.slice(cut));
    else time.textContent = stamp;
    div.append(
      time,
      " ",
      span(`lv lv-${row.level}`, row.level),
      " ",
      span("o", origin),
      " ",
      msg,
      "  ",
      span("m", metaText(row.meta)),
    );
  }
}

/// Appends `text` to `parent` with the regex's matches wrapped in `<mark>`: text nodes only.
export function appendHighlighted(parent, text, regex) {
  if (!regex) {
    parent.textContent = text;
    return 0;
  }
  regex.lastIndex = 0;
  let at = 0;
  let found = 0;
  for (const m of text.matchAll(regex)) {
    if (m[0].length === 0) continue;
    if (m.index > at) parent.append(document.createTextNode(text.slice(at, m.index)));
    const mark = document.createElement("mark");
    mark.textContent = m[0];
    parent.append(mark);
    at = m.index + m[0].length;
    if (++found > 100) break;
  }
  if (at < text.length) parent.append(document.createTextNode(text.slice(at)));
  return found;
}
