// What the view lets through: level toggles, name pickers, `--where` predicates, the requestId
// pivot and the search. Pure functions over entries, so the buffer can re-run them over everything
// it holds when a control changes, and the view state can live in the URL.

export const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"];
export const KINDS = ["source", "instance", "region"];
/// Entries without an instance or region are listed under this name, as in the TUI.
export const NONE = "(none)";

export function levelIndex(name) {
  const at = LEVELS.indexOf(name);
  return at < 0 ? 2 : at;
}

// Longest operators first so `>=` is not read as `>` (the server's order).
const OPERATORS = [">=", "<=", "!=", "!~", "==", "=", "~", ">", "<"];

/// Parses `KEY OP VALUE` as the server does; throws an Error whose message says what to fix.
export function parsePredicate(text) {
  for (let i = 0; i < text.length; i++) {
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (!op) continue;
    const key = text.slice(0, i).trim();
    const value = text.slice(i + op.length).trim();
    if (!key) throw new Error(`no field name before '${op}'`);
    const number = numeric(value);
    if ([">", ">=", "<", "<="].includes(op) && number === null) {
      throw new Error(`'${op}' compares numbers, and '${value}' is not one`);
    }
    let regex = null;
    if (op === "~" || op === "!~") regex = compileRegex(value);
    return { text, path: key.split("."), op: op === "==" ? "=" : op, value, number, regex };
  }
  throw new Error("no operator; use KEY=VALUE, KEY!=VALUE, KEY>N, KEY>=N, KEY<N, KEY<=N, KEY~REGEX or KEY!~REGEX");
}

function numeric(text) {
  if (typeof text !== "string" || text.trim() === "") return null;
  const n = Number(text.trim());
  return Number.isFinite(n) ? n : null;
}

function lookup(meta, path) {
  if (!meta || typeof meta !== "object") return undefined;
  // A key that itself contains dots ("fly.app") wins over a nested path, as on the server.
  const joined = path.join(".");
  if (Object.hasOwn(meta, joined)) return meta[joined];
  let value = meta;
  for (const key of path) {
    if (value === null || typeof value !== "object" || !Object.hasOwn(value, key)) return undefined;
    value = value[key];
  }
  return value;
}

/// The server's predicate semantics: a missing field satisfies only `!=` and `!~`; ordering compares
/// numbers (numeric strings count); `=` is numeric when both sides are numbers, else text.
export function predicateMatches(p, meta) {
  const field = lookup(meta, p.path);
  if (field === undefined) return p.op === "!=" || p.op === "!~";
  const fieldNumber = typeof field === "number" ? field : typeof field === "string" ? numeric(field) : null;
  const text = typeof field === "string" ? field : JSON.stringify(field);
  const equal = () => (fieldNumber !== null && p.number !== null ? fieldNumber === p.number : text === p.value);
  const ordered = (test) => fieldNumber !== null && p.number !== null && test(fieldNumber, p.number);
  switch (p.op) {
    case "=": return equal();
    case "!=": return !equal();
    case ">": return ordered((a, b) => a > b);
    case ">=": return ordered((a, b) => a >= b);
    case "<": return ordered((a, b) => a < b);
    case "<=": return ordered((a, b) => a <= b);
    case "~": return p.regex.test(text);
    case "!~": return !p.regex.test(text);
    default: return false;
  }
}

/// A search or predicate regex. The TUI's patterns are Rust regexes; the common case-insensitive
/// prefix `(?i)` is turned into the JavaScript flag so links and habits carry over.
export function compileRegex(pattern) {
  let flags = "u";
  let source = pattern;
  if (source.startsWith("(?i)")) {
    flags += "i";
    source = source.slice(4);
  }
  try {
    return new RegExp(source, flags);
  } catch (e) {
    throw new Error(`invalid regex: ${e.message.replace(/^Invalid regular expression: /, "")}`);
  }
}

/// Every control's position. Kept as plain data so it round-trips through the URL.
export class ViewFilter {
  constructor() {
    this.hiddenLevels = new Set();
    this.hidden = { source: new Set(), instance: new Set(), region: new Set() };
    // Whether names not seen yet start hidden (after "none" in the picker with nothing typed).
    this.hideNew = { source: false, instance: false, region: false };
    this.where = []; // parsed predicates
    this.requestId = null;
    this.search = ""; // the pattern text as typed
    this.regex = null; // the last pattern that compiled
    this.onlyMatches = false;
    this.since = "";
    this.until = "";
  }

  /// Whether a log entry is shown (gap rows are always shown, and never reach here).
  passes(e) {
    if (this.hiddenLevels.has(e.level)) return false;
    if (this.hidden.source.size && this.hidden.source.has(e.source)) return false;
    if (this.hidden.instance.size && this.hidden.instance.has(e.instance ?? NONE)) return false;
    if (this.hidden.region.size && this.hidden.region.has(e.region ?? NONE)) return false;
    if (this.requestId !== null && lookup(e.meta, ["requestId"]) !== this.requestId) return false;
    for (const p of this.where) if (!predicateMatches(p, e.meta)) return false;
    if (this.onlyMatches && this.regex && !this.matches(e)) return false;
    return true;
  }

  matches(e) {
    if (!this.regex) return false;
    this.regex.lastIndex = 0;
    return this.regex.test(e.message);
  }

  /// The view as URL parameters: what a colleague needs to see the same thing.
  toParams() {
    const p = new URLSearchParams();
    if (this.hiddenLevels.size) p.set("hide", [...this.hiddenLevels].join(","));
    for (const kind of KINDS) {
      for (const name of this.hidden[kind]) p.append(`x${kind}`, name);
    }
    const hideNew = KINDS.filter((k) => this.hideNew[k]);
    if (hideNew.length) p.set("xnew", hideNew.join(","));
    for (const w of this.where) p.append("where", w.text);
    if (this.requestId !== null) p.set("rid", this.requestId);
    if (this.search) p.set("q", this.search);
    if (this.onlyMatches) p.set("only", "1");
    if (this.since) p.set("since", this.since);
    if (this.until) p.set("until", this.until);
    return p;
  }

  /// The view a URL describes; parts that do not parse are reported in `errors` and left out.
  static fromParams(p) {
    const f = new ViewFilter();
    const errors = [];
    for (const name of (p.get("hide") ?? "").split(",")) {
      if (LEVELS.includes(name)) f.hiddenLevels.add(name);
    }
    for (const kind of KINDS) for (const name of p.getAll(`x${kind}`)) f.hidden[kind].add(name);
    for (const kind of (p.get("xnew") ?? "").split(",")) if (KINDS.includes(kind)) f.hideNew[kind] = true;
    for (const text of p.getAll("where")) {
      try {
        f.where.push(parsePredicate(text));
      } catch (e) {
        errors.push(`where ${text}: ${e.message}`);
      }
    }
    f.requestId = p.get("rid");
    f.search = p.get("q") ?? "";
    if (f.search) {
      try {
        f.regex = compileRegex(f.search);
      } catch (e) {
        errors.push(`search: ${e.message}`);
      }
    }
    f.onlyMatches = p.get("only") === "1";
    f.since = p.get("since") ?? "";
    f.until = p.get("until") ?? "";
    return { filter: f, errors };
  }
}
