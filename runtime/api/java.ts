/**
 * Java semantics that API Gateway's mapping templates inherit from the JVM they run on:
 * `java.util.regex` patterns and replacement strings, `String` methods, commons-lang's
 * `StringEscapeUtils.escapeJavaScript`, `java.util.Base64` and `URLEncoder`/`URLDecoder`.
 * The local VTL emulator (vtl.ts) calls these instead of JavaScript's look-alikes, whose
 * results differ in exactly the cases that matter for injection (`'`, `/`, `$1`, `\s`).
 */

/** An exception a Java method would throw; it makes the template fail, as on AWS. */
export class JavaException extends Error {
  constructor(javaClass: string, message: string) {
    super(`${javaClass}: ${message}`);
    this.name = "JavaException";
  }
}

/** A pattern construct this emulator does not translate; the template fails loudly. */
export class UnsupportedPatternError extends Error {
  constructor(pattern: string, construct: string) {
    super(`Java pattern ${JSON.stringify(pattern)}: ${construct} is not supported locally`);
    this.name = "UnsupportedPatternError";
  }
}

// commons-lang 2.6 escapeJavaStyleString(str, escapeSingleQuotes=true, escapeForwardSlash=true).
export function escapeJavaScript(value: string): string {
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    const hex = code.toString(16).toUpperCase();
    if (code > 0x7f) {
      out += `\\u${hex.padStart(4, "0")}`;
    } else if (code < 32) {
      const named: Record<number, string> = { 8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r" };
      out += named[code] ?? `\\u${hex.padStart(4, "0")}`;
    } else {
      const ch = value[i];
      out += ch === "'" || ch === '"' || ch === "\\" || ch === "/" ? `\\${ch}` : ch;
    }
  }
  return out;
}

/** `String.compareTo`: UTF-16 code unit difference, then length difference. */
export function compareTo(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const diff = a.charCodeAt(i) - b.charCodeAt(i);
    if (diff !== 0) return diff;
  }
  return a.length - b.length;
}

/** `String.trim`: strips every char at or below U+0020, unlike JavaScript's Unicode trim. */
export function javaTrim(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && value.charCodeAt(start) <= 32) start++;
  while (end > start && value.charCodeAt(end - 1) <= 32) end--;
  return value.slice(start, end);
}

const LINE_TERMINATORS = "\\n\\r\\u0085\\u2028\\u2029";
const JAVA_SPACE = " \\t\\n\\x0B\\f\\r";
/** Java's `\p{...}` POSIX classes (US-ASCII only, as Java defines them by default). */
const POSIX_CLASSES: Record<string, string> = {
  Lower: "a-z",
  Upper: "A-Z",
  ASCII: "\\x00-\\x7F",
  Alpha: "a-zA-Z",
  Digit: "0-9",
  Alnum: "a-zA-Z0-9",
  Punct: "!-\\/:-@\\[-`{-~",
  Graph: "!-~",
  Print: " -~",
  Blank: " \\t",
  Cntrl: "\\x00-\\x1F\\x7F",
  XDigit: "0-9a-fA-F",
  Space: JAVA_SPACE,
};
const JS_SYNTAX = new Set("^$\\.*+?()[]{}|/-".split(""));

interface Translated {
  source: string;
  flags: string;
  groups: number;
}

const cache = new Map<string, Translated>();

/**
 * Translates a `java.util.regex` pattern into an equivalent JavaScript source, or throws.
 * Differences handled: `.` and `$` know Java's five line terminators, `\s` is ASCII-only,
 * `\A` `\z` `\Z` `\Q..\E` `\p{Alpha}`-style classes, leading inline flags, and Java's
 * rejection of a `{` that is not a quantifier. Constructs with no faithful translation
 * (possessive quantifiers, atomic groups, class unions and intersections, mid-pattern flags)
 * throw rather than silently matching differently. Patterns run without the `u` flag, so a
 * surrogate pair counts as two characters where Java counts one code point.
 */
export function translatePattern(pattern: string): Translated {
  const cached = cache.get(pattern);
  if (cached) return cached;

  let flags = "";
  let i = 0;
  const inline = /^\(\?([a-zA-Z]+)\)/.exec(pattern);
  if (inline) {
    for (const flag of inline[1]) {
      if (flag === "i" || flag === "s" || flag === "m") flags += flag;
      else throw new UnsupportedPatternError(pattern, `inline flag (?${flag})`);
    }
    i = inline[0].length;
  }
  const dotAll = flags.includes("s");

  let out = "";
  // Whether the previous token can take a quantifier; Java rejects `**` and a leading `*`.
  let quantifiable = false;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === "\\") {
      const [text, length] = translateEscape(pattern, i, false);
      out += text;
      i += length;
      quantifiable = true;
    } else if (c === "[") {
      const [text, length] = translateClass(pattern, i);
      out += text;
      i += length;
      quantifiable = true;
    } else if (c === ".") {
      out += dotAll ? "[\\s\\S]" : `[^${LINE_TERMINATORS}]`;
      i++;
      quantifiable = true;
    } else if (c === "$") {
      out += flags.includes("m")
        ? `(?=[${LINE_TERMINATORS}]|(?![\\s\\S]))`
        : `(?=(?:\\r\\n|[${LINE_TERMINATORS}])?(?![\\s\\S]))`;
      i++;
      quantifiable = false;
    } else if (c === "(") {
      const rest = pattern.slice(i);
      if (rest.startsWith("(?>")) throw new UnsupportedPatternError(pattern, "atomic group");
      const group = /^\((\?(?::|=|!|<=|<!|<[a-zA-Z][a-zA-Z0-9]*>))?/.exec(rest);
      if (rest.startsWith("(?") && !group?.[1]) {
        throw new UnsupportedPatternError(pattern, "inline flags inside the pattern");
      }
      const opener = group?.[0] ?? "(";
      out += opener;
      i += opener.length;
      quantifiable = false;
    } else if (c === "*" || c === "+" || c === "?" || c === "{") {
      let quantifier = c;
      if (c === "{") {
        const bounds = /^\{\d+(,\d*)?\}/.exec(pattern.slice(i));
        if (!bounds) throw new JavaException("PatternSyntaxException", `Illegal repetition`);
        quantifier = bounds[0];
      }
      if (!quantifiable) {
        throw new JavaException("PatternSyntaxException", `Dangling meta character '${c}'`);
      }
      i += quantifier.length;
      if (pattern[i] === "+") throw new UnsupportedPatternError(pattern, "possessive quantifier");
      if (pattern[i] === "?") {
        quantifier += "?";
        i++;
      }
      out += quantifier;
      quantifiable = false;
    } else {
      out += c;
      i++;
      quantifiable = c !== "|" && c !== "^";
    }
  }

  let groups: number;
  try {
    groups = (new RegExp(`${out}|`, flags).exec("")?.length ?? 1) - 1;
  } catch (error) {
    throw new JavaException("PatternSyntaxException", (error as Error).message);
  }
  const translated = { source: out, flags, groups };
  cache.set(pattern, translated);
  return translated;
}

function escapeLiteral(ch: string, inClass: boolean): string {
  if (inClass) return "\\]^-[".includes(ch) ? `\\${ch}` : ch;
  return JS_SYNTAX.has(ch) ? `\\${ch}` : ch;
}

function hexEscape(code: number): string {
  return `\\u${code.toString(16).padStart(4, "0")}`;
}

/** Translates the escape at `start`; returns its JavaScript text and its length in `pattern`. */
function translateEscape(pattern: string, start: number, inClass: boolean): [string, number] {
  const next = pattern[start + 1];
  if (next === undefined) {
    throw new JavaException("PatternSyntaxException", "Unexpected internal error");
  }
  const rest = pattern.slice(start);
  if (next === "Q") {
    const end = pattern.indexOf("\\E", start + 2);
    const quoted = pattern.slice(start + 2, end === -1 ? undefined : end);
    const text = Array.from(quoted, (ch) => escapeLiteral(ch, inClass)).join("");
    return [text, end === -1 ? pattern.length - start : end + 2 - start];
  }
  if ("dDwWtnrf".includes(next)) return [`\\${next}`, 2];
  if (next === "b" || next === "B") {
    if (inClass) throw new UnsupportedPatternError(pattern, "\\b inside a class");
    return [`\\${next}`, 2];
  }
  if (next === "s") return [inClass ? JAVA_SPACE : `[${JAVA_SPACE}]`, 2];
  if (next === "S") {
    if (inClass) throw new UnsupportedPatternError(pattern, "\\S inside a class");
    return [`[^${JAVA_SPACE}]`, 2];
  }
  if (!inClass && next === "A") return ["(?<![\\s\\S])", 2];
  if (!inClass && next === "z") return ["(?![\\s\\S])", 2];
  if (!inClass && next === "Z") return [`(?=(?:\\r\\n|[${LINE_TERMINATORS}])?(?![\\s\\S]))`, 2];
  if (next === "a") return ["\\x07", 2];
  if (next === "e") return ["\\x1B", 2];
  const control = /^\\c[A-Za-z]/.exec(rest);
  if (control) return [control[0], 3];
  const octal = /^\\0([0-3][0-7]{2}|[0-7]{1,2})/.exec(rest);
  if (octal) return [hexEscape(Number.parseInt(octal[1], 8)), octal[0].length];
  const hex = /^\\x([0-9a-fA-F]{2})/.exec(rest);
  if (hex) return [hex[0], 4];
  const braced = /^\\x\{([0-9a-fA-F]{1,6})\}/.exec(rest);
  if (braced) {
    const chars = String.fromCodePoint(Number.parseInt(braced[1], 16));
    return [Array.from(chars, (ch) => hexEscape(ch.charCodeAt(0))).join(""), braced[0].length];
  }
  const unicode = /^\\u([0-9a-fA-F]{4})/.exec(rest);
  if (unicode) return [unicode[0], 6];
  if (!inClass && /[1-9]/.test(next)) return [`\\${next}`, 2];
  const named = /^\\k<[a-zA-Z][a-zA-Z0-9]*>/.exec(rest);
  if (!inClass && named) return [named[0], named[0].length];
  const posix = /^\\([pP])(?:\{(?:Is)?([A-Za-z]+)\}|([A-Za-z]))/.exec(rest);
  if (posix) {
    const range = POSIX_CLASSES[posix[2] ?? posix[3]];
    if (!range) throw new UnsupportedPatternError(pattern, `class ${posix[0]}`);
    if (posix[1] === "P") {
      if (inClass) throw new UnsupportedPatternError(pattern, `${posix[0]} inside a class`);
      return [`[^${range}]`, posix[0].length];
    }
    return [inClass ? range : `[${range}]`, posix[0].length];
  }
  if (/[a-zA-Z0-9]/.test(next)) {
    if ("hHvVRXGN".includes(next)) throw new UnsupportedPatternError(pattern, `\\${next}`);
    throw new JavaException(
      "PatternSyntaxException",
      `Illegal/unsupported escape sequence \\${next}`,
    );
  }
  return [next === "\\" ? "\\\\" : escapeLiteral(next, inClass), 2];
}

/** Translates the character class opening at `start`. */
function translateClass(pattern: string, start: number): [string, number] {
  let i = start + 1;
  let out = "[";
  if (pattern[i] === "^") {
    out += "^";
    i++;
  }
  if (pattern[i] === "]") throw new UnsupportedPatternError(pattern, "']' first in a class");
  while (i < pattern.length && pattern[i] !== "]") {
    const c = pattern[i];
    if (c === "[") throw new UnsupportedPatternError(pattern, "nested class (union)");
    if (c === "&" && pattern[i + 1] === "&") {
      throw new UnsupportedPatternError(pattern, "class intersection");
    }
    if (c === "\\") {
      const [text, length] = translateEscape(pattern, i, true);
      out += text;
      i += length;
    } else {
      out += c;
      i++;
    }
  }
  if (i >= pattern.length) {
    throw new JavaException("PatternSyntaxException", "Unclosed character class");
  }
  return [`${out}]`, i + 1 - start];
}

/** `String.matches(regex)`: the whole string must match. */
export function matches(value: string, pattern: string): boolean {
  const { source, flags } = translatePattern(pattern);
  return new RegExp(`^(?:${source})(?![\\s\\S])`, flags).test(value);
}

/** Applies a Java replacement string (`$1`, `${name}`, `\$`) to one match. */
function expandReplacement(replacement: string, groups: number, match: RegExpExecArray): string {
  let out = "";
  for (let i = 0; i < replacement.length; i++) {
    const c = replacement[i];
    if (c === "\\") {
      i++;
      if (i >= replacement.length) {
        throw new JavaException("IllegalArgumentException", "character to be escaped is missing");
      }
      out += replacement[i];
    } else if (c === "$") {
      i++;
      if (i >= replacement.length) {
        throw new JavaException(
          "IllegalArgumentException",
          "Illegal group reference: group index is missing",
        );
      }
      if (replacement[i] === "{") {
        const end = replacement.indexOf("}", i);
        const name = end === -1 ? "" : replacement.slice(i + 1, end);
        if (!match.groups || !(name in match.groups)) {
          throw new JavaException("IllegalArgumentException", `No group with name {${name}}`);
        }
        out += match.groups[name] ?? "";
        i = end;
        continue;
      }
      if (!/[0-9]/.test(replacement[i])) {
        throw new JavaException("IllegalArgumentException", "Illegal group reference");
      }
      let group = Number(replacement[i]);
      while (i + 1 < replacement.length && /[0-9]/.test(replacement[i + 1])) {
        const wider = group * 10 + Number(replacement[i + 1]);
        if (wider > groups) break;
        group = wider;
        i++;
      }
      if (group > groups) throw new JavaException("IndexOutOfBoundsException", `No group ${group}`);
      out += match[group] ?? "";
    } else {
      out += c;
    }
  }
  return out;
}

/** `String.replaceAll` / `replaceFirst` with Java pattern and replacement syntax. */
export function replacePattern(
  value: string,
  pattern: string,
  replacement: string,
  all: boolean,
): string {
  const { source, flags, groups } = translatePattern(pattern);
  const regex = new RegExp(source, `${flags}g`);
  let out = "";
  let last = 0;
  for (const match of value.matchAll(regex)) {
    const index = match.index ?? 0;
    out += value.slice(last, index) + expandReplacement(replacement, groups, match);
    last = index + match[0].length;
    if (!all) break;
  }
  return out + value.slice(last);
}

/** `String.split(regex, limit)`, including Java's dropping of trailing empty strings. */
export function split(value: string, pattern: string, limit = 0): string[] {
  const { source, flags } = translatePattern(pattern);
  const parts: string[] = [];
  let index = 0;
  for (const match of value.matchAll(new RegExp(source, `${flags}g`))) {
    const start = match.index ?? 0;
    const end = start + match[0].length;
    if (limit > 0 && parts.length >= limit - 1) break;
    // Java 8+: a zero-width match at the very start yields no leading empty string.
    if (start === 0 && end === 0) continue;
    parts.push(value.slice(index, start));
    index = end;
  }
  if (index === 0 && parts.length === 0) return [value];
  parts.push(value.slice(index));
  if (limit === 0) {
    while (parts.length > 0 && parts[parts.length - 1] === "") parts.pop();
  }
  return parts;
}

/** `java.util.Base64.getDecoder().decode`, as strict as the JDK, then UTF-8 text. */
export function base64Decode(value: string): string {
  const body = value.replace(/={1,2}$/, "");
  const padding = value.length - body.length;
  const invalid = /[^A-Za-z0-9+/]/.exec(body);
  if (invalid) {
    const code = invalid[0].charCodeAt(0).toString(16);
    throw new JavaException("IllegalArgumentException", `Illegal base64 character ${code}`);
  }
  const tail = body.length % 4;
  if (tail === 1 || (padding > 0 && (tail === 0 || padding !== 4 - tail))) {
    throw new JavaException(
      "IllegalArgumentException",
      "Input byte array has wrong 4-byte ending unit",
    );
  }
  return Buffer.from(body, "base64").toString("utf8");
}

export function base64Encode(value: string): string {
  return Buffer.from(value, "utf8").toString("base64");
}

/** `URLEncoder.encode(s, "UTF-8")`: form encoding, space as `+`, `*` `-` `.` `_` kept. */
export function urlEncode(value: string): string {
  return Array.from(value, (ch) => {
    if (/[A-Za-z0-9.*_-]/.test(ch)) return ch;
    if (ch === " ") return "+";
    return Array.from(
      Buffer.from(ch, "utf8"),
      (byte) => `%${byte.toString(16).toUpperCase().padStart(2, "0")}`,
    ).join("");
  }).join("");
}

/** `URLDecoder.decode(s, "UTF-8")`: `+` is a space; a broken `%` escape throws. */
export function urlDecode(value: string): string {
  let out = "";
  let i = 0;
  while (i < value.length) {
    const c = value[i];
    if (c === "+") {
      out += " ";
      i++;
    } else if (c === "%") {
      const bytes: number[] = [];
      while (value[i] === "%") {
        const hex = value.slice(i + 1, i + 3);
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) {
          throw new JavaException(
            "IllegalArgumentException",
            "URLDecoder: Illegal hex characters in escape (%) pattern",
          );
        }
        bytes.push(Number.parseInt(hex, 16));
        i += 3;
      }
      out += Buffer.from(bytes).toString("utf8");
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
