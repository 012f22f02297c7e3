// The scrollback: a bounded ring of rows (entries and gap rows) and the index of those the filter
// lets through, kept up to date as rows arrive at the back and leave at the front, as the TUI's
// buffer does. Rows are named by an absolute number that never changes while the row is held, so
// the selection and the view's position survive evictions.

import { LEVELS, NONE, levelIndex } from "./filter.js";

export class Buffer {
  constructor(capacity) {
    this.capacity = capacity;
    this.rows = new Array(capacity);
    this.start = 0; // absolute number of the oldest row held
    this.end = 0; // one past the newest
    // The filtered index: absolute row numbers, oldest first, from `shownHead` on.
    this.shown = [];
    this.shownHead = 0;
    this.levelCounts = new Array(LEVELS.length).fill(0);
    this.names = { source: new Map(), instance: new Map(), region: new Map() };
    this.received = 0;
    // Gap rows held; they are always shown, so `shownLength - gapsHeld` counts shown entries.
    this.gapsHeld = 0;
    // Bumped by `clear`, which reuses row numbers: the view keys its cached rows by both.
    this.generation = 0;
  }

  get length() {
    return this.end - this.start;
  }

  get shownLength() {
    return this.shown.length - this.shownHead;
  }

  /// The absolute row number at position `i` of the filtered index.
  shownAt(i) {
    return this.shown[this.shownHead + i];
  }

  get(abs) {
    return abs >= this.start && abs < this.end ? this.rows[abs % this.capacity] : undefined;
  }

  /// Appends a row; returns whether the filter shows it. Evicts the oldest when full.
  push(row, filter) {
    if (this.length === this.capacity) this.evict();
    const abs = this.end++;
    this.rows[abs % this.capacity] = row;
    if (row.gap) this.gapsHeld++;
    else {
      this.received++;
      this.levelCounts[levelIndex(row.level)]++;
      this.count(row, 1, filter);
    }
    const shown = row.gap || filter.passes(row);
    if (shown) this.shown.push(abs);
    return shown;
  }

  evict() {
    const abs = this.start++;
    const row = this.rows[abs % this.capacity];
    this.rows[abs % this.capacity] = undefined;
    if (row.gap) this.gapsHeld--;
    else {
      this.levelCounts[levelIndex(row.level)]--;
      this.count(row, -1);
    }
    if (this.shownHead < this.shown.length && this.shown[this.shownHead] === abs) {
      this.shownHead++;
      // Compact now and then instead of shifting on every eviction (O(n) each).
      if (this.shownHead > 65536 && this.shownHead * 2 > this.shown.length) {
        this.shown = this.shown.slice(this.shownHead);
        this.shownHead = 0;
      }
    }
  }

  count(row, delta, filter) {
    for (const [kind, name] of [["source", row.source], ["instance", row.instance ?? NONE], ["region", row.region ?? NONE]]) {
      const map = this.names[kind];
      const known = map.get(name);
      // "None" chosen with nothing typed in the picker also hides names first seen later.
      if (known === undefined && filter?.hideNew[kind]) filter.hidden[kind].add(name);
      const n = (known ?? 0) + delta;
      // Names that leave the buffer stay listed (with 0) so a hidden one can still be shown again.
      map.set(name, n);
    }
  }

  /// Recomputes the filtered index after a control changed: one pass over what is held.
  refilter(filter) {
    const shown = [];
    for (let abs = this.start; abs < this.end; abs++) {
      const row = this.rows[abs % this.capacity];
      if (row.gap || filter.passes(row)) shown.push(abs);
    }
    this.shown = shown;
    this.shownHead = 0;
  }

  /// Position in the filtered index of the first row at or after `abs` (binary search).
  positionOf(abs) {
    let lo = this.shownHead;
    let hi = this.shown.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.shown[mid] < abs) lo = mid + 1;
      else hi = mid;
    }
    return lo - this.shownHead;
  }

  clear() {
    this.generation++;
    this.rows = new Array(this.capacity);
    this.start = this.end = 0;
    this.shown = [];
    this.shownHead = 0;
    this.gapsHeld = 0;
    this.levelCounts.fill(0);
    for (const map of Object.values(this.names)) map.clear();
  }
}
