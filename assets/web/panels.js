// The panels around the log: entry detail, the source/instance/region picker, the key help, the
// rate sparkline. Each builds its DOM from text only.

import { KINDS, LEVELS, levelIndex } from "./filter.js";
import { formatTime, visible, visibleKeepLines } from "./view.js";

const $ = (id) => document.getElementById(id);

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

/// The entry's exact JSON in the protocol's field order.
export function entryJson(e) {
  const out = { timestamp: e.timestamp, level: e.level, source: e.source, message: e.message };
  if (e.meta && Object.keys(e.meta).length) out.meta = e.meta;
  for (const k of ["instance", "region", "seq"]) if (e[k] !== undefined && e[k] !== null) out[k] = e[k];
  for (const [k, v] of Object.entries(e)) if (!(k in out) && k !== "meta") out[k] = v;
  return JSON.stringify(out);
}

export class Detail {
  constructor(app) {
    this.app = app;
    this.entry = null;
    $("detail-close").addEventListener("click", () => this.close());
    $("detail-copy").addEventListener("click", () => this.copy());
    $("detail-rid").addEventListener("click", () => {
      const rid = this.entry?.meta?.requestId;
      if (typeof rid === "string") app.setRequestId(rid);
    });
  }

  get open() {
    return !$("detail").hidden;
  }

  /// Shows a copy of the entry, so it stays open even if the entry leaves the buffer.
  show(e) {
    this.entry = e;
    const now = Date.now();
    $("detail-title").textContent = `${e.level} · ${visible(e.source)}`;
    const fields = $("detail-fields");
    fields.replaceChildren();
    const add = (k, v) => {
      if (v === undefined || v === null || v === "") return;
      fields.append(el("dt", k), el("dd", visible(v)));
    };
    add("time (UTC)", formatTime(e.timestamp, "utc", now));
    add("time (local)", formatTime(e.timestamp, "local", now));
    add("relative", formatTime(e.timestamp, "relative", now).trim());
    add("level", e.level);
    add("source", e.source);
    add("instance", e.instance);
    add("region", e.region);
    add("seq", e.seq);
    $("detail-message").textContent = visibleKeepLines(e.message);
    const meta = e.meta && Object.keys(e.meta).length ? JSON.stringify(e.meta, null, 2) : "{}";
    $("detail-json").textContent = visibleKeepLines(meta);
    $("detail-rid").hidden = typeof e.meta?.requestId !== "string";
    $("detail").hidden = false;
  }

  close() {
    $("detail").hidden = true;
    this.entry = null;
    this.app.focusLog();
  }

  async copy() {
    if (!this.entry) return;
    const text = entryJson(this.entry);
    try {
      // Needs a secure context (https, localhost); plain http elsewhere falls back below.
      await navigator.clipboard.writeText(text);
      this.app.notice("copied the entry as JSON");
    } catch {
      const area = document.createElement("textarea");
      area.value = text;
      document.body.append(area);
      area.select();
      const ok = document.execCommand("copy");
      area.remove();
      this.app.notice(ok ? "copied the entry as JSON" : "the browser refused the clipboard");
    }
  }
}

export class Picker {
  constructor(app) {
    this.app = app;
    this.narrow = { source: "", instance: "", region: "" };
    $("picker-close").addEventListener("click", () => this.close());
  }

  get open() {
    return !$("picker").hidden;
  }

  toggle() {
    if (this.open) this.close();
    else {
      $("picker").hidden = false;
      this.render();
      $("picker-lists").querySelector("input")?.focus();
    }
  }

  close() {
    $("picker").hidden = true;
    this.app.focusLog();
  }

  /// Builds each column once: heading, the narrowing field, all/none, and the list.
  build() {
    this.columns = {};
    const lists = $("picker-lists");
    for (const kind of KINDS) {
      const col = el("div");
      const narrow = el("input");
      narrow.type = "text";
      narrow.placeholder = "type to narrow";
      narrow.dataset.kind = kind;
      narrow.addEventListener("input", () => {
        this.narrow[kind] = narrow.value;
        this.render();
      });
      const all = el("button", "all / none");
      all.addEventListener("click", () => {
        const hidden = this.app.filter.hidden[kind];
        const names = this.listed(kind);
        const anyShown = names.some(([n]) => !hidden.has(n));
        for (const [n] of names) anyShown ? hidden.add(n) : hidden.delete(n);
        // With nothing typed, the choice is about every name, including those not seen yet.
        if (!this.narrow[kind]) this.app.filter.hideNew[kind] = anyShown;
        this.app.filtersChanged();
        this.render();
      });
      const list = el("div");
      col.append(el("h3", `${kind}s`), narrow, all, list);
      lists.append(col);
      this.columns[kind] = { list, shown: "", rows: new Map() };
    }
  }

  listed(kind) {
    const narrow = this.narrow[kind].toLowerCase();
    return [...this.app.buffer.names[kind].entries()]
      .filter(([name]) => name.toLowerCase().includes(narrow))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /// Brings the lists up to date (names seen, with counts). Called on open, on typing and about
  /// once a second; rows are rebuilt only when the names listed change, so a click or the focus is
  /// never lost to a redraw.
  render() {
    if (!this.open) return;
    if (!this.columns) this.build();
    for (const kind of KINDS) {
      const column = this.columns[kind];
      const names = this.listed(kind);
      const key = names.map(([n]) => n).join("\u0000");
      if (key !== column.shown) {
        column.shown = key;
        column.rows.clear();
        column.list.replaceChildren();
        for (const [name] of names) {
          const label = el("label");
          const box = el("input");
          box.type = "checkbox";
          box.dataset.name = name;
          box.dataset.kindList = kind;
          box.addEventListener("change", () => {
            if (box.checked) this.app.filter.hidden[kind].delete(name);
            else this.app.filter.hidden[kind].add(name);
            this.app.filtersChanged();
          });
          const count = el("span", "", "count");
          label.append(box, el("span", visible(name)), count);
          column.list.append(label);
          column.rows.set(name, { box, count });
        }
      }
      for (const [name, n] of names) {
        const row = column.rows.get(name);
        row.box.checked = !this.app.filter.hidden[kind].has(name);
        row.count.textContent = String(n);
      }
    }
  }
}

/// Per-second arrivals, coloured by the worst level in that second, newest on the right.
export class Spark {
  constructor(canvas, label) {
    this.canvas = canvas;
    this.label = label;
    this.seconds = []; // [{at, n, worst, errors}]
  }

  note(entries) {
    const at = Math.floor(Date.now() / 1000);
    let last = this.seconds[this.seconds.length - 1];
    if (!last || last.at !== at) {
      last = { at, n: 0, worst: 0, errors: 0 };
      this.seconds.push(last);
      if (this.seconds.length > 120) this.seconds.shift();
    }
    for (const e of entries) {
      const lv = levelIndex(e.level);
      last.n++;
      if (lv > last.worst) last.worst = lv;
      if (lv >= 4) last.errors++;
    }
  }

  draw() {
    const now = Math.floor(Date.now() / 1000);
    const ctx = this.canvas.getContext("2d");
    const { width, height } = this.canvas;
    ctx.clearRect(0, 0, width, height);
    const bars = 40;
    const byAt = new Map(this.seconds.map((s) => [s.at, s]));
    const series = [];
    for (let i = bars - 1; i >= 0; i--) series.push(byAt.get(now - 1 - i));
    const max = Math.max(1, ...series.map((s) => s?.n ?? 0));
    const style = getComputedStyle(document.documentElement);
    const w = width / bars;
    series.forEach((s, i) => {
      if (!s || !s.n) return;
      const bh = Math.max(2, Math.round((s.n / max) * height));
      ctx.fillStyle = style.getPropertyValue(`--${LEVELS[Math.min(s.worst, 4)]}`).trim() || "#888";
      ctx.fillRect(i * w, height - bh, Math.max(1, w - 1), bh);
    });
    const last = byAt.get(now - 1);
    this.label.textContent = `${last?.n ?? 0}/s${last?.errors ? ` ${last.errors} err/s` : ""}`;
  }
}

/// The key help, generated from the keymap so the two cannot disagree.
export function renderHelp(keymap) {
  const table = $("help-keys");
  table.replaceChildren();
  for (const [keys, what] of keymap) {
    const tr = el("tr");
    tr.append(el("td", keys), el("td", what));
    table.append(tr);
  }
}
