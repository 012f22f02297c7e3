// The dashboard: wires the stream, the buffer, the filters and the view, and keeps the URL in step
// with the view. Arrivals only mark the screen dirty; it is drawn at most once per animation frame,
// so a burst of thousands of entries is one layout, and a key press is never stuck behind a flood.

import { Buffer } from "./buffer.js";
import { LEVELS, ViewFilter, compileRegex, levelIndex, parsePredicate } from "./filter.js";
import { Detail, Picker, Spark, entryJson, renderHelp } from "./panels.js";
import { Stream, tokenUsable } from "./stream.js";
import { LogView, visible } from "./view.js";

/// Entries held, as the TUI's default `--buffer`; the oldest leave first.
const CAPACITY = 100000;
const TOKEN_KEY = "vg.token";
const TIME_MODES = ["utc", "local", "relative"];

/// Keys and what they do: the handler below and the help overlay both read it.
const KEYMAP = [
  ["space", "pause / resume (resuming jumps to live)"],
  ["↑ k / ↓ j", "select the previous / next row (stops following)"],
  ["PgUp / PgDn", "page up / down"],
  ["g / Home", "go to the oldest entry"],
  ["G / End", "go to the newest entry and follow"],
  ["1 … 6", "show / hide trace, debug, info, warn, error, fatal"],
  ["s", "pick sources, instances and regions"],
  ["/", "search messages (regex; (?i) for any case)"],
  ["n / N", "next (newer) / previous (older) match"],
  ["f", "show only matching entries / all"],
  ["Enter", "open the selected entry"],
  ["y", "copy the selected entry as JSON"],
  ["r", "only the selected entry's requestId / all"],
  ["t", "time: UTC / local / relative"],
  ["c", "clear the buffer"],
  ["Esc", "close a panel, else clear the search, else the requestId filter"],
  ["?", "this help"],
];

const $ = (id) => document.getElementById(id);

class App {
  constructor() {
    const root = document.querySelector('meta[name="vg-root"]')?.content || "/";
    this.root = new URL(root, location.href);
    this.buffer = new Buffer(CAPACITY);
    this.filter = new ViewFilter();
    this.following = true;
    this.paused = false;
    this.newWhilePaused = 0;
    this.errorsWhilePaused = 0;
    this.newBelow = 0;
    this.selected = null;
    this.timeMode = "utc";
    this.gaps = 0;
    this.missed = 0;
    this.conn = { kind: "connecting", attempt: 1 };
    this.noticeText = "";
    this.noticeUntil = 0;
    this.matchCount = null;
    this.searchError = "";
    this.dirty = true;
    this.countsDirty = true;
    this.hello = null;
    this.live = false;
    this.firstRowsShown = false;
    this.view = new LogView($("log"), $("sizer"), this);
    this.detail = new Detail(this);
    this.picker = new Picker(this);
    this.spark = new Spark($("spark"), $("rate"));
    this.stream = new Stream(this.root, {
      hello: (h) => this.onHello(h),
      entries: (es) => this.onEntries(es),
      gap: (g) => this.onGap(g),
      live: () => {
        this.live = true;
        this.redraw();
      },
      state: (s) => {
        this.conn = s;
        this.redraw();
      },
      notice: (text) => this.notice(text),
      needToken: (reason) => this.askToken(reason),
    });
  }

  start() {
    this.view.measure();
    this.buildLevels();
    this.bindControls();
    renderHelp(KEYMAP);
    this.readUrl();
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) this.stream.setToken(token);
    this.connect();
    setInterval(() => {
      this.spark.draw();
      this.picker.render();
      if (this.timeMode === "relative" || (this.noticeUntil && Date.now() > this.noticeUntil) || this.conn.kind === "reconnecting") this.redraw();
    }, 1000);
    window.addEventListener("resize", () => this.redraw());
    window.addEventListener("hashchange", () => {
      if (location.hash.slice(1) !== this.filter.toParams().toString()) {
        const { since, until } = this.filter;
        this.readUrl();
        if (since !== this.filter.since || until !== this.filter.until) this.connect();
      }
    });
    this.focusLog();
  }

  connect() {
    this.buffer.clear();
    this.selected = null;
    this.following = true;
    this.stream.start({ since: this.filter.since, until: this.filter.until }, CAPACITY);
    this.redraw();
  }

  // --- arrivals -------------------------------------------------------------------------------

  onHello(h) {
    this.hello = h;
    this.live = false;
    if (h.oldest_time) $("since").title = `the server's history starts at ${h.oldest_time}`;
  }

  onEntries(entries) {
    // The backfill is history, not arrivals: the rate counts what comes live.
    if (this.live) this.spark.note(entries);
    const f = this.filter;
    // The match count follows arrivals and evictions, so a live search stays counted without
    // re-running the regex over the whole buffer.
    const counting = f.regex && this.matchCount !== null && !this.searchDirty;
    for (const raw of entries) {
      const e = normalize(raw);
      if (!e) continue;
      const dropped = this.dropsShownRow();
      if (dropped && counting) {
        const leaving = this.buffer.get(this.buffer.start);
        if (!leaving.gap && f.matches(leaving)) this.matchCount--;
      }
      if (this.buffer.push(e, f)) {
        if (counting && f.matches(e)) this.matchCount++;
        if (this.paused) {
          this.newWhilePaused++;
          if (levelIndex(e.level) >= 4) this.errorsWhilePaused++;
        } else if (!this.following) this.newBelow++;
      }
      if (dropped) this.rowDropped();
    }
    this.countsDirty = true;
    this.redraw();
  }

  onGap(g) {
    const last = this.buffer.get(this.buffer.end - 1);
    this.gaps++;
    this.missed += g.missed ?? 0;
    const dropped = this.dropsShownRow();
    this.buffer.push({ gap: true, missed: g.missed ?? 0, reason: g.reason, from_seq: g.from_seq, to_seq: g.to_seq, timestamp: last?.timestamp }, this.filter);
    if (dropped) this.rowDropped();
    this.redraw();
  }

  /// Whether the next push evicts a row the view shows.
  dropsShownRow() {
    const b = this.buffer;
    return b.length === b.capacity && b.shownLength > 0 && b.shownAt(0) === b.start;
  }

  /// A held view stays on the same rows while the oldest leave under it.
  rowDropped() {
    if (this.following) return;
    // Applied once per frame: at thousands of arrivals a second, one scroll write, not thousands.
    this.view.pendingShift++;
    if (this.selected !== null && this.selected < this.buffer.start) {
      this.selected = null;
      this.notice("the row you were viewing was dropped (the buffer is full)");
    }
  }

  // --- drawing -------------------------------------------------------------------------------

  redraw() {
    if (this.dirty && this.frame) return;
    this.dirty = true;
    this.frame ??= requestAnimationFrame(() => {
      this.frame = null;
      this.dirty = false;
      this.draw();
    });
  }

  draw() {
    if (this.searchDirty) this.countMatches();
    this.view.render();
    if (!this.firstRowsShown && this.buffer.shownLength > 0) {
      // When the first rows reached the page, for the benchmark (docs/benchmarks.md).
      this.firstRowsShown = true;
      performance.mark("vg-first-rows");
    }
    $("empty").hidden = this.buffer.shownLength > 0;
    $("empty").textContent = this.buffer.length > 0 ? "no entries match the filters" : "waiting for entries…";
    if (this.countsDirty) {
      this.countsDirty = false;
      for (const [i, name] of LEVELS.entries()) {
        const b = this.levelButtons[i];
        b.setAttribute("aria-pressed", String(!this.filter.hiddenLevels.has(name)));
        b.querySelector(".count").textContent = compact(this.buffer.levelCounts[i]);
      }
    }
    this.drawStatus();
  }

  drawStatus() {
    const paused = $("paused");
    paused.hidden = !(this.paused || (!this.following && this.newBelow > 0));
    if (this.paused) paused.textContent = `PAUSED +${this.newWhilePaused.toLocaleString("en-US")} new (${this.errorsWhilePaused.toLocaleString("en-US")} errors)`;
    else paused.textContent = `+${this.newBelow.toLocaleString("en-US")} new below · G follows`;
    $("pause").textContent = this.paused ? "resume" : "pause";
    $("pause").setAttribute("aria-pressed", String(this.paused));
    $("conn").textContent = connText(this.conn);
    $("conn").dataset.state = this.conn.kind;
    if (this.noticeUntil && Date.now() > this.noticeUntil) {
      this.noticeText = "";
      this.noticeUntil = 0;
    }
    $("notice").textContent = this.noticeText;
    const b = this.buffer;
    const gaps = this.gaps ? `gaps ${this.gaps} (${this.missed.toLocaleString("en-US")} missed)` : "gaps 0";
    $("counts").textContent = `recv ${compact(b.received)} shown ${compact(b.shownLength - b.gapsHeld)} │ ${gaps} │ buf ${Math.round((b.length / b.capacity) * 100)}%`;
    $("filters").textContent = this.filterSummary();
    const m = $("matches");
    m.textContent = this.searchError || (this.filter.regex ? `${(this.matchCount ?? 0).toLocaleString("en-US")} matches` : "");
    m.classList.toggle("error", Boolean(this.searchError));
    $("search").classList.toggle("invalid", Boolean(this.searchError));
  }

  filterSummary() {
    const f = this.filter;
    const parts = [];
    if (f.hiddenLevels.size) parts.push(`-${[...f.hiddenLevels].join(",")}`);
    for (const kind of ["source", "instance", "region"]) {
      const total = this.buffer.names[kind].size;
      const hidden = [...f.hidden[kind]].filter((n) => this.buffer.names[kind].has(n)).length;
      if (hidden) parts.push(`${kind}s ${total - hidden}/${total}`);
    }
    if (f.onlyMatches && f.regex) parts.push(`/${f.search}/`);
    if (f.requestId !== null) parts.push(`requestId=${f.requestId}`);
    for (const w of f.where) parts.push(w.text);
    if (f.since) parts.push(`since ${f.since}`);
    if (f.until) parts.push(`until ${f.until}`);
    return visible(parts.join(" "));
  }

  countMatches() {
    this.searchDirty = false;
    const f = this.filter;
    if (!f.regex) {
      this.matchCount = null;
      return;
    }
    // Among the rows the other controls let through (the same with "only matches" on).
    let n = 0;
    const b = this.buffer;
    for (let i = 0; i < b.shownLength; i++) {
      const row = b.get(b.shownAt(i));
      if (!row.gap && f.matches(row)) n++;
    }
    this.matchCount = n;
  }

  notice(text) {
    this.noticeText = text;
    this.noticeUntil = Date.now() + 4000;
    this.redraw();
  }

  // --- controls ------------------------------------------------------------------------------

  buildLevels() {
    this.levelButtons = LEVELS.map((name, i) => {
      const b = document.createElement("button");
      b.dataset.level = name;
      b.title = `show / hide ${name} (${i + 1})`;
      const key = document.createElement("span");
      key.className = "key";
      key.textContent = String(i + 1);
      const label = document.createElement("span");
      label.className = `name lv-${name}`;
      label.textContent = name;
      const count = document.createElement("span");
      count.className = "count";
      count.textContent = "0";
      b.append(key, label, count);
      b.addEventListener("click", () => this.toggleLevel(i));
      $("levels").append(b);
      return b;
    });
  }

  bindControls() {
    const search = $("search");
    search.addEventListener("input", () => this.setSearch(search.value));
    search.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") {
        ev.preventDefault();
        if (!search.value) this.setOnlyMatches(false);
        if (!this.searchError) {
          if (!this.following) this.findMatch(1);
          this.focusLog();
        }
      } else if (ev.key === "Escape") {
        ev.preventDefault();
        this.clearSearch();
        this.focusLog();
      }
      // One key, one action: the page-wide handler must not act on it again.
      if (ev.key === "Enter" || ev.key === "Escape") ev.stopPropagation();
    });
    $("next").addEventListener("click", () => this.findMatch(1));
    $("prev").addEventListener("click", () => this.findMatch(-1));
    $("only").addEventListener("change", () => this.setOnlyMatches($("only").checked));
    $("pick").addEventListener("click", () => this.picker.toggle());
    $("pause").addEventListener("click", () => this.togglePause());
    $("export").addEventListener("click", () => this.exportView());
    $("help-open").addEventListener("click", () => ($("help").hidden = !$("help").hidden));
    $("help-close").addEventListener("click", () => {
      $("help").hidden = true;
      this.focusLog();
    });
    const where = $("where");
    where.addEventListener("keydown", (ev) => {
      if (ev.key !== "Enter" || !where.value.trim()) return;
      ev.preventDefault();
      try {
        this.filter.where.push(parsePredicate(where.value.trim()));
        where.value = "";
        where.classList.remove("invalid");
        where.title = "";
        this.filtersChanged();
      } catch (e) {
        where.classList.add("invalid");
        where.title = e.message;
        this.notice(`where: ${e.message}`);
      }
    });
    $("window").addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.filter.since = $("since").value.trim();
      this.filter.until = $("until").value.trim();
      this.writeUrl();
      this.connect();
    });
    $("token-form").addEventListener("submit", (ev) => {
      const token = $("token").value.trim();
      if (!tokenUsable(token)) {
        ev.preventDefault();
        $("token-error").hidden = false;
        $("token-error").textContent = "a browser can send only letters, digits and !#$%&'*+-.^_`|~ (use a hex or base64url token)";
        return;
      }
      sessionStorage.setItem(TOKEN_KEY, token);
      this.stream.setToken(token);
      // Resume, not restart: when a token is asked for again mid-session, nothing arrives twice.
      this.stream.resume();
    });
    document.addEventListener("keydown", (ev) => this.onKey(ev));
  }

  askToken(reason) {
    $("token-reason").textContent = reason;
    $("token-error").hidden = true;
    $("token").value = "";
    const dialog = $("token-dialog");
    if (!dialog.open) dialog.showModal();
  }

  onKey(ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const target = ev.target;
    const typing = target instanceof HTMLInputElement && target.type !== "checkbox";
    if (ev.key === "Escape") {
      if ($("token-dialog").open) return;
      ev.preventDefault();
      if (typing) {
        // Esc in a field leaves the field (a picker's filter text is cleared first), nothing more.
        if (target.dataset.kind && target.value) {
          target.value = "";
          target.dispatchEvent(new Event("input"));
        } else if (target.dataset.kind) this.picker.close();
        else target.blur();
        if (!target.dataset.kind) this.focusLog();
        return;
      }
      if (!$("help").hidden) $("help").hidden = true;
      else if (this.picker.open) this.picker.close();
      else if (this.detail.open) this.detail.close();
      else if (this.filter.search) this.clearSearch();
      else if (this.filter.requestId !== null) this.setRequestId(null);
      this.focusLog();
      return;
    }
    if (typing || target instanceof HTMLButtonElement && (ev.key === " " || ev.key === "Enter")) return;
    if ($("token-dialog").open) return;
    const b = this.buffer;
    const handled = () => ev.preventDefault();
    switch (ev.key) {
      case " ": handled(); this.togglePause(); break;
      case "/": handled(); $("search").focus(); $("search").select(); break;
      case "n": handled(); this.findMatch(1); break;
      case "N": handled(); this.findMatch(-1); break;
      case "f": handled(); this.setOnlyMatches(!this.filter.onlyMatches); break;
      case "1": case "2": case "3": case "4": case "5": case "6":
        handled(); this.toggleLevel(Number(ev.key) - 1); break;
      case "g": case "Home": handled(); this.moveTo(0); break;
      case "G": case "End": handled(); this.follow(); break;
      case "ArrowUp": case "k": handled(); this.moveBy(-1); break;
      case "ArrowDown": case "j": handled(); this.moveBy(1); break;
      case "PageUp": handled(); this.moveBy(-this.view.pageRows); break;
      case "PageDown": handled(); this.moveBy(this.view.pageRows); break;
      case "Enter": {
        handled();
        const row = b.get(this.selected ?? b.shownAt(b.shownLength - 1));
        if (row && !row.gap) this.detail.show(row);
        break;
      }
      case "y": {
        handled();
        const row = this.detail.entry ?? b.get(this.selected);
        if (row && !row.gap) {
          this.detail.entry ??= row;
          this.detail.copy();
        }
        break;
      }
      case "r": handled(); this.pivotRequestId(); break;
      case "s": handled(); this.picker.toggle(); break;
      case "t": handled(); this.timeMode = TIME_MODES[(TIME_MODES.indexOf(this.timeMode) + 1) % 3]; this.redraw(); break;
      case "c": handled(); this.buffer.clear(); this.selected = null; this.gaps = 0; this.missed = 0; this.countsDirty = true; this.redraw(); break;
      case "?": handled(); $("help").hidden = !$("help").hidden; break;
      default: break;
    }
  }

  focusLog() {
    $("log").focus({ preventScroll: true });
  }

  toggleLevel(i) {
    const name = LEVELS[i];
    const hidden = this.filter.hiddenLevels;
    if (hidden.has(name)) hidden.delete(name);
    else hidden.add(name);
    this.filtersChanged();
  }

  togglePause() {
    if (this.paused) {
      this.paused = false;
      this.follow();
    } else {
      this.paused = true;
      this.following = false;
      this.newWhilePaused = 0;
      this.errorsWhilePaused = 0;
    }
    this.redraw();
  }

  follow() {
    this.following = true;
    this.paused = false;
    this.newBelow = 0;
    this.selected = null;
    this.redraw();
  }

  /// Moves the selection by `delta` rows of the view; moving stops following (as scrolling does).
  moveBy(delta) {
    const b = this.buffer;
    if (!b.shownLength) return;
    const at = this.selected === null ? (delta < 0 ? b.shownLength : this.view.firstVisible - 1) : b.positionOf(this.selected);
    const pos = at + delta;
    if (pos >= b.shownLength && delta > 0 && !this.paused) {
      this.follow();
      return;
    }
    this.moveTo(Math.max(0, Math.min(b.shownLength - 1, pos)));
  }

  moveTo(pos) {
    const b = this.buffer;
    if (!b.shownLength) return;
    this.following = false;
    this.selected = b.shownAt(pos);
    this.view.scrollToPosition(pos);
    this.redraw();
  }

  select(abs, open) {
    this.following = false;
    this.selected = abs;
    const row = this.buffer.get(abs);
    if (open && row && !row.gap) this.detail.show(row);
    this.redraw();
  }

  onScroll() {
    const el = this.view.el;
    const atBottom = el.scrollTop + el.clientHeight >= el.scrollHeight - this.view.rowHeight / 2;
    if (this.following && !atBottom && el.scrollTop < this.view.lastScrollTop) this.following = false;
    else if (!this.following && !this.paused && atBottom && el.scrollTop > this.view.lastScrollTop) this.follow();
    this.view.lastScrollTop = el.scrollTop;
    this.redraw();
  }

  setSearch(text) {
    const f = this.filter;
    f.search = text;
    if (!text) {
      f.regex = null;
      this.searchError = "";
    } else {
      try {
        f.regex = compileRegex(text);
        this.searchError = "";
      } catch (e) {
        // The last pattern that compiled stays in force, as in the TUI.
        this.searchError = e.message;
      }
    }
    if (f.onlyMatches) this.buffer.refilter(f);
    this.searchDirty = true;
    this.writeUrl();
    this.redraw();
  }

  clearSearch() {
    $("search").value = "";
    this.filter.onlyMatches = false;
    $("only").checked = false;
    this.setSearch("");
    this.buffer.refilter(this.filter);
  }

  setOnlyMatches(on) {
    this.filter.onlyMatches = on;
    $("only").checked = on;
    this.filtersChanged();
  }

  /// `n` (dir 1, newer) / `N` (dir -1, older): the next matching row from the selection, wrapping.
  findMatch(dir) {
    const f = this.filter;
    const b = this.buffer;
    if (!f.regex || !b.shownLength) return;
    const total = b.shownLength;
    const from = this.selected === null ? (dir > 0 ? -1 : total) : b.positionOf(this.selected);
    for (let step = 1; step <= total; step++) {
      const raw = from + dir * step;
      const pos = ((raw % total) + total) % total;
      const row = b.get(b.shownAt(pos));
      if (!row.gap && f.matches(row)) {
        if (raw !== pos) this.notice("search wrapped around");
        this.moveTo(pos);
        return;
      }
    }
    this.notice("no match in the buffer");
  }

  pivotRequestId() {
    if (this.filter.requestId !== null) {
      this.setRequestId(null);
      return;
    }
    const row = this.detail.entry ?? this.buffer.get(this.selected);
    const rid = row?.meta?.requestId;
    if (typeof rid === "string") this.setRequestId(rid);
    else this.notice("the selected entry has no requestId");
  }

  setRequestId(rid) {
    this.filter.requestId = rid;
    this.filtersChanged();
  }

  /// A control changed: recompute the filtered index, keep the selection in view, save the URL.
  filtersChanged() {
    this.buffer.refilter(this.filter);
    this.countsDirty = true;
    this.searchDirty = true;
    this.renderChips();
    this.writeUrl();
    if (!this.following && this.selected !== null) {
      this.view.scrollToPosition(Math.min(this.buffer.positionOf(this.selected), this.buffer.shownLength - 1));
    }
    this.redraw();
  }

  renderChips() {
    const chip = (text, remove) => {
      const c = document.createElement("span");
      c.className = "chip";
      c.append(document.createTextNode(visible(text)));
      const x = document.createElement("button");
      x.textContent = "×";
      x.title = "remove";
      x.addEventListener("click", remove);
      c.append(x);
      return c;
    };
    $("wheres").replaceChildren(
      ...this.filter.where.map((w, i) =>
        chip(w.text, () => {
          this.filter.where.splice(i, 1);
          this.filtersChanged();
        }),
      ),
    );
    $("rid").replaceChildren(...(this.filter.requestId !== null ? [chip(`requestId=${this.filter.requestId}`, () => this.setRequestId(null))] : []));
  }

  writeUrl() {
    const params = this.filter.toParams().toString();
    if (location.hash.slice(1) !== params) history.replaceState(null, "", params ? `#${params}` : location.pathname + location.search);
  }

  readUrl() {
    const { filter, errors } = ViewFilter.fromParams(new URLSearchParams(location.hash.slice(1)));
    this.filter = filter;
    $("search").value = filter.search;
    $("only").checked = filter.onlyMatches;
    $("since").value = filter.since;
    $("until").value = filter.until;
    if (errors.length) this.notice(errors.join("; "));
    this.buffer.refilter(filter);
    this.renderChips();
    this.searchDirty = true;
    this.countsDirty = true;
    this.redraw();
  }

  exportView() {
    const b = this.buffer;
    const lines = [];
    for (let i = 0; i < b.shownLength; i++) {
      const row = b.get(b.shownAt(i));
      if (!row.gap) lines.push(entryJson(row));
    }
    const blob = new Blob([lines.join("\n") + (lines.length ? "\n" : "")], { type: "application/x-ndjson" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `vg-logs-${new Date().toISOString().replace(/[:.]/g, "-")}.ndjson`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    this.notice(`exported ${lines.length.toLocaleString("en-US")} entries`);
  }
}

/// An entry as the view needs it; anything that is not one is dropped.
function normalize(e) {
  if (!e || typeof e !== "object" || typeof e.message !== "string") return null;
  const level = typeof e.level === "string" && LEVELS.includes(e.level.toLowerCase()) ? e.level.toLowerCase() : "info";
  e.level = level;
  if (typeof e.source !== "string") e.source = "app";
  if (typeof e.timestamp !== "string") e.timestamp = "";
  if (e.instance !== undefined && typeof e.instance !== "string") e.instance = String(e.instance);
  if (e.region !== undefined && typeof e.region !== "string") e.region = String(e.region);
  return e;
}

function connText(s) {
  switch (s.kind) {
    case "connecting": return s.attempt > 1 ? `◌ connecting (attempt ${s.attempt})` : "◌ connecting";
    case "connected": return s.loading ? "● connected, loading history" : "● connected";
    case "reconnecting": return `◌ reconnecting in ${Math.max(0, Math.ceil((s.at - Date.now()) / 1000))}s │ ${s.reason}`;
    case "token": return `○ ${s.reason}`;
    default: return `○ disconnected: ${s.reason}`;
  }
}

function compact(n) {
  if (n < 1000) return String(n);
  if (n < 1e6) return `${(n / 1000).toFixed(n < 1e4 ? 1 : 0)}k`;
  return `${(n / 1e6).toFixed(1)}M`;
}

const app = new App();
app.start();
// For the browser tests and the benchmark: read-only figures, never log content as markup.
window.vgDashboard = app;
