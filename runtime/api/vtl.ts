import { Compile, parse } from "velocityjs";
import * as java from "./java";

/**
 * The local stand-in for API Gateway's mapping-template engine: velocityjs, with the places
 * where it behaves like JavaScript changed to behave like Velocity 1.7 on the JVM, as API
 * Gateway runs it. What changes, and why a template tested here then behaves the same on AWS:
 *
 * - `#if`, `&&`, `||`, `!`: only null and false are false. An empty string, `0` and an empty
 *   list are true; a bare literal (`#if("x")`, `#if(1)`) is false, as Velocity 1.7 does.
 * - `==` compares numbers by value, same-type values with equals(), and anything else by its
 *   text; `<` and friends compare numbers only. Integer `/` truncates; `/ 0` gives null.
 * - `#set($x = <null>)` leaves `$x` unchanged; blanks before `#set` go where Velocity's
 *   lexer drops them.
 * - `#foreach` fails past 1000 iterations (API Gateway's limit); `$foreach.first`/`.last`.
 * - Methods are Java's: `String.length()`, `.matches()` (whole string, Java regex),
 *   `.replaceAll()` (Java regex and `$1` replacement), `.substring()` (throws when out of
 *   range), `Map.get()` (exact key), `List.get()`; JavaScript-only methods give null.
 * - Values render as Java prints them (`{a=1}`, `[a, b]`); lists from JSON render as JSON.
 * - Null references render as an empty string (silent mode), as the issue asks.
 * - `#include` and `#parse` fail, as on API Gateway.
 */

/** Method request parameters, URL-decoded, as `$input.params()` exposes them. */
export interface MethodParams {
  path: Record<string, string>;
  querystring: Record<string, string>;
  header: Record<string, string>;
}

/** The `$context` values a template can read. */
export interface ContextValues {
  requestId: string;
  stage: string;
  httpMethod: string;
  resourcePath: string;
  /** Request path as the client sent it, e.g. `/devices/1174001`. */
  path: string;
  /**
   * Milliseconds since the epoch. API Gateway does not document whether templates get it as a
   * number or as text, so text is passed on as given. `null`, or a number that is not finite
   * (a clock that cannot tell the time), leaves it out of `$context`, as if none was given.
   */
  requestTimeEpoch: number | string | null;
  sourceIp: string;
  /** The API key used; null when the method does not require one. */
  apiKey: string | null;
  userAgent: string;
}

export interface TemplateInputs {
  /** Method request parameters. @default none */
  params?: Partial<MethodParams>;
  /**
   * `$input.body`: the method request payload in a request template, the integration
   * response body in a response template. @default ""
   */
  body?: string;
  /** @default a GET on `/` at the epoch, stage "local", from 127.0.0.1 */
  context?: Partial<ContextValues>;
  /** `$stageVariables`. @default none */
  stageVariables?: Record<string, string>;
}

export interface RenderResult {
  text: string;
  /** `$context.responseOverride.status`, when the template set it. */
  status?: number;
  /** `$context.responseOverride.header.*` values the template set. */
  headers: Record<string, string>;
}

/** A template that failed to render; API Gateway answers 500 for it. */
export class TemplateError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TemplateError";
  }
}

/** API Gateway stops a `#foreach` here; the emulator fails beyond it instead of truncating. */
export const FOREACH_LIMIT = 1000;

/** A parsed template, reusable across renders. */
export interface CompiledTemplate {
  readonly source: string;
  readonly ast: unknown[];
}

export function compileTemplate(source: string): CompiledTemplate {
  try {
    return { source, ast: dropSetIndentation(parse(source) as unknown[]) };
  } catch (error) {
    throw new TemplateError(`template does not parse: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * Velocity 1.7 lexes spaces and tabs before `#set` as part of the directive, unless they
 * continue a run of text: `$x #set(..)` and a `#set` line after a `#set` line lose them,
 * `a  #set(..)` keeps them. velocityjs keeps text runs whole, so a text node of only spaces
 * and tabs right before a `#set` is exactly what Velocity drops.
 */
function dropSetIndentation(asts: unknown[]): unknown[] {
  return asts
    .filter((ast, i) => {
      const next = asts[i + 1] as { type?: string } | undefined;
      return !(typeof ast === "string" && /^[ \t]+$/.test(ast) && next?.type === "set");
    })
    .map((ast) => (Array.isArray(ast) ? dropSetIndentation(ast) : ast));
}

export function renderTemplate(
  template: string | CompiledTemplate,
  inputs: TemplateInputs = {},
): RenderResult {
  const compiled = typeof template === "string" ? compileTemplate(template) : template;
  const params: MethodParams = {
    path: { ...inputs.params?.path },
    querystring: { ...inputs.params?.querystring },
    header: { ...inputs.params?.header },
  };
  const responseOverride: Record<string, unknown> = { header: {} };
  const variables = {
    input: createInput(params, inputs.body ?? ""),
    util: createUtil(),
    context: createContext(inputs.context ?? {}, responseOverride),
    stageVariables: { ...inputs.stageVariables },
  };
  const macros = {
    include: () => {
      throw new TemplateError("#include is not available on API Gateway");
    },
    parse: () => {
      throw new TemplateError("#parse is not available on API Gateway");
    },
  };

  let text: string;
  try {
    text = new JavaVelocity(compiled.ast, { customMethodHandlers: [javaMethodHandler] }).render(
      variables,
      macros,
      true,
    );
  } catch (error) {
    if (error instanceof TemplateError) throw error;
    throw new TemplateError(`template failed: ${(error as Error).message}`, { cause: error });
  }
  return { text, ...overrides(responseOverride) };
}

function overrides(responseOverride: Record<string, unknown>): Omit<RenderResult, "text"> {
  const headers: Record<string, string> = {};
  const header = responseOverride.header;
  if (isMap(header)) {
    for (const [name, value] of Object.entries(header)) {
      if (value !== undefined && value !== null) headers[name] = javaString(value);
    }
  }
  const raw = responseOverride.status;
  const status = typeof raw === "number" ? raw : Number.parseInt(String(raw ?? ""), 10);
  return Number.isInteger(status) ? { status, headers } : { headers };
}

function createContext(
  values: Partial<ContextValues>,
  responseOverride: Record<string, unknown>,
): Record<string, unknown> {
  const given = values.requestTimeEpoch === undefined ? 0 : values.requestTimeEpoch;
  const epoch = typeof given === "number" && !Number.isFinite(given) ? null : given;
  return {
    requestId: values.requestId ?? "00000000-0000-0000-0000-000000000000",
    extendedRequestId: values.requestId ?? "00000000-0000-0000-0000-000000000000",
    stage: values.stage ?? "local",
    httpMethod: values.httpMethod ?? "GET",
    resourcePath: values.resourcePath ?? "/",
    path: values.path ?? `/${values.stage ?? "local"}${values.resourcePath ?? "/"}`,
    protocol: "HTTP/1.1",
    ...(epoch === null ? {} : { requestTimeEpoch: epoch }),
    // Only a whole number of milliseconds is a time that can be printed.
    ...(Number.isInteger(epoch) ? { requestTime: clfTime(epoch as number) } : {}),
    identity: {
      sourceIp: values.sourceIp ?? "127.0.0.1",
      apiKey: values.apiKey ?? null,
      userAgent: values.userAgent ?? "",
    },
    responseOverride,
  };
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `$context.requestTime`: `03/Dec/2026:18:33:00 +0000`. */
function clfTime(epoch: number): string {
  const d = new Date(epoch);
  const two = (n: number) => String(n).padStart(2, "0");
  const date = `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}`;
  return `${date}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}

function createInput(params: MethodParams, body: string): Record<string, unknown> {
  let parsed: { value: unknown } | undefined;
  const root = () => {
    if (!parsed) {
      try {
        parsed = { value: markJson(JSON.parse(body)) };
      } catch {
        throw new TemplateError("$input.path/$input.json: the body is not JSON");
      }
    }
    return parsed.value;
  };
  return {
    body,
    params: (name?: unknown) => {
      if (name === undefined) {
        return {
          path: { ...params.path },
          querystring: { ...params.querystring },
          header: { ...params.header },
        };
      }
      if (typeof name !== "string") return undefined;
      for (const source of [params.path, params.querystring, params.header]) {
        if (Object.hasOwn(source, name)) return source[name];
      }
      return "";
    },
    path: (expression: unknown) =>
      typeof expression === "string" ? jsonPath(root(), expression) : undefined,
    json: (expression: unknown) => {
      if (typeof expression !== "string") return undefined;
      const value = jsonPath(root(), expression);
      return value === undefined ? "" : JSON.stringify(value);
    },
  };
}

/** The JSONPath subset templates use: `$`, `.name`, `['name']`, `[0]`. */
function jsonPath(root: unknown, expression: string): unknown {
  if (!expression.startsWith("$"))
    throw new TemplateError(`JSONPath ${expression} must start with $`);
  const step = /^(?:\.([A-Za-z_][\w-]*)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\])/;
  let rest = expression.slice(1);
  let value = root;
  while (rest.length > 0) {
    const match = step.exec(rest);
    if (!match) throw new TemplateError(`JSONPath ${expression} is not supported locally`);
    rest = rest.slice(match[0].length);
    const key = match[1] ?? match[3] ?? match[4];
    if (Array.isArray(value) && match[2] !== undefined) value = value[Number(match[2])];
    else if (isMap(value) && key !== undefined && Object.hasOwn(value, key)) value = value[key];
    else return undefined;
  }
  return value;
}

function createUtil(): Record<string, unknown> {
  const text =
    <T>(fn: (value: string) => T) =>
    (value: unknown) =>
      typeof value === "string" ? fn(value) : undefined;
  return {
    escapeJavaScript: text(java.escapeJavaScript),
    parseJson: text((value) => {
      try {
        return markJson(JSON.parse(value));
      } catch (error) {
        throw new TemplateError(`$util.parseJson: ${(error as Error).message}`);
      }
    }),
    base64Encode: text(java.base64Encode),
    base64Decode: text(java.base64Decode),
    urlEncode: text(java.urlEncode),
    urlDecode: text(java.urlDecode),
  };
}

/** Lists parsed from JSON print as JSON on API Gateway (json-smart); Velocity lists don't. */
const jsonLists = new WeakSet<unknown[]>();

function markJson(value: unknown): unknown {
  if (Array.isArray(value)) {
    jsonLists.add(value);
    for (const item of value) markJson(item);
  } else if (isMap(value)) {
    for (const item of Object.values(value)) markJson(item);
  }
  return value;
}

function isMap(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** How Java's toString() prints a value. */
export function javaString(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return value;
  if (typeof value === "number")
    return Number.isFinite(value)
      ? String(value)
      : value > 0
        ? "Infinity"
        : value < 0
          ? "-Infinity"
          : "NaN";
  if (typeof value === "boolean") return String(value);
  if (Array.isArray(value)) {
    if (jsonLists.has(value)) return JSON.stringify(value);
    return `[${value.map(javaString).join(", ")}]`;
  }
  if (isMap(value)) {
    return `{${Object.entries(value)
      .map(([key, item]) => `${key}=${javaString(item)}`)
      .join(", ")}}`;
  }
  return "";
}

function javaEquals(left: unknown, right: unknown): boolean {
  if (left === undefined) left = null;
  if (right === undefined) right = null;
  if (left === null || right === null) return left === right;
  if (typeof left === "number" && typeof right === "number") return left === right;
  if (
    typeof left === typeof right &&
    (typeof left !== "object" || Array.isArray(left) === Array.isArray(right))
  ) {
    if (typeof left !== "object") return left === right;
    return javaString(left) === javaString(right);
  }
  return javaString(left) === javaString(right);
}

// --- Java methods -----------------------------------------------------------------------

type Args = unknown[];
type Method<T> = (self: T, args: Args) => unknown;

const isInt = (value: unknown): value is number =>
  typeof value === "number" && Number.isInteger(value);
const isText = (value: unknown): value is string => typeof value === "string";

function outOfBounds(message: string): never {
  throw new java.JavaException("StringIndexOutOfBoundsException", message);
}

const STRING_METHODS: Record<string, Method<string>> = {
  length: (s) => s.length,
  isEmpty: (s) => s.length === 0,
  toString: (s: string) => s,
  trim: (s) => java.javaTrim(s),
  toLowerCase: (s) => s.toLowerCase(),
  toUpperCase: (s) => s.toUpperCase(),
  matches: (s, [regex]) => (isText(regex) ? java.matches(s, regex) : undefined),
  replaceAll: (s, [regex, replacement]) =>
    isText(regex) && isText(replacement)
      ? java.replacePattern(s, regex, replacement, true)
      : undefined,
  replaceFirst: (s, [regex, replacement]) =>
    isText(regex) && isText(replacement)
      ? java.replacePattern(s, regex, replacement, false)
      : undefined,
  replace: (s, [target, replacement]) =>
    isText(target) && isText(replacement) ? s.split(target).join(replacement) : undefined,
  split: (s, [regex, limit]) => {
    if (!isText(regex) || (limit !== undefined && !isInt(limit))) return undefined;
    return java.split(s, regex, limit ?? 0);
  },
  substring: (s, [begin, end]) => {
    if (!isInt(begin) || (end !== undefined && !isInt(end))) return undefined;
    const stop = end ?? s.length;
    if (begin < 0 || stop > s.length || begin > stop) {
      outOfBounds(`begin ${begin}, end ${stop}, length ${s.length}`);
    }
    return s.slice(begin, stop);
  },
  charAt: (s, [index]) => {
    if (!isInt(index)) return undefined;
    if (index < 0 || index >= s.length) outOfBounds(`index ${index}, length ${s.length}`);
    return s[index];
  },
  contains: (s, [part]) => (isText(part) ? s.includes(part) : undefined),
  startsWith: (s, [prefix, offset]) =>
    isText(prefix) && (offset === undefined || isInt(offset))
      ? s.startsWith(prefix, offset ?? 0)
      : undefined,
  endsWith: (s, [suffix]) => (isText(suffix) ? s.endsWith(suffix) : undefined),
  indexOf: (s, [part, from]) =>
    isText(part) && (from === undefined || isInt(from))
      ? s.indexOf(part, Math.max(0, from ?? 0))
      : undefined,
  lastIndexOf: (s, [part]) => (isText(part) ? s.lastIndexOf(part) : undefined),
  equals: (s, [other]) => s === other,
  equalsIgnoreCase: (s, [other]) => isText(other) && s.toLowerCase() === other.toLowerCase(),
  compareTo: (s, [other]) => (isText(other) ? java.compareTo(s, other) : undefined),
  compareToIgnoreCase: (s, [other]) =>
    isText(other) ? java.compareTo(s.toLowerCase(), other.toLowerCase()) : undefined,
  concat: (s, [other]) => (isText(other) ? s + other : undefined),
};

const NUMBER_METHODS: Record<string, Method<number>> = {
  toString: (n: number) => javaString(n),
  intValue: (n) => Math.trunc(n),
  longValue: (n) => Math.trunc(n),
  doubleValue: (n) => n,
  equals: (n, [other]) => n === other,
  compareTo: (n, [other]) => (typeof other === "number" ? Math.sign(n - other) : undefined),
  // Static methods reached through an instance, a common API Gateway idiom.
  parseInt: (_n, [text]) => parseInteger(text),
  parseLong: (_n, [text]) => parseInteger(text),
};

function parseInteger(text: unknown): number | undefined {
  if (!isText(text)) return undefined;
  if (!/^[+-]?\d+$/.test(text)) {
    throw new java.JavaException("NumberFormatException", `For input string: "${text}"`);
  }
  return Number.parseInt(text, 10);
}

const BOOLEAN_METHODS: Record<string, Method<boolean>> = {
  toString: (b: boolean) => String(b),
  booleanValue: (b) => b,
  equals: (b, [other]) => b === other,
};

const LIST_METHODS: Record<string, Method<unknown[]>> = {
  size: (list) => list.length,
  isEmpty: (list) => list.length === 0,
  get: (list, [index]) => {
    if (!isInt(index)) return undefined;
    if (index < 0 || index >= list.length) {
      throw new java.JavaException(
        "IndexOutOfBoundsException",
        `Index: ${index}, Size: ${list.length}`,
      );
    }
    return list[index];
  },
  contains: (list, [item]) => list.some((entry) => javaEquals(entry, item)),
  indexOf: (list, [item]) => list.findIndex((entry) => javaEquals(entry, item)),
  add: (list, [item]) => {
    list.push(item ?? null);
    return true;
  },
  toString: (list: unknown[]) => javaString(list),
};

const MAP_METHODS: Record<string, Method<Record<string, unknown>>> = {
  get: (map, [key]) => (isText(key) && Object.hasOwn(map, key) ? map[key] : undefined),
  containsKey: (map, [key]) => isText(key) && Object.hasOwn(map, key),
  put: (map, [key, value]) => {
    if (!isText(key)) return undefined;
    const previous = Object.hasOwn(map, key) ? map[key] : undefined;
    map[key] = value ?? null;
    return previous;
  },
  remove: (map, [key]) => {
    if (!isText(key) || !Object.hasOwn(map, key)) return undefined;
    const previous = map[key];
    delete map[key];
    return previous;
  },
  keySet: (map) => Object.keys(map),
  values: (map) => Object.values(map),
  entrySet: (map) => Object.entries(map).map(([key, value]) => ({ key, value })),
  size: (map) => Object.keys(map).length,
  isEmpty: (map) => Object.keys(map).length === 0,
  toString: (map: Record<string, unknown>) => javaString(map),
};

function methodTable(target: unknown): Record<string, Method<never>> | undefined {
  if (typeof target === "string") return STRING_METHODS;
  if (typeof target === "number") return NUMBER_METHODS;
  if (typeof target === "boolean") return BOOLEAN_METHODS;
  if (Array.isArray(target)) return LIST_METHODS;
  if (isMap(target)) return MAP_METHODS;
  return undefined;
}

function callJava(target: unknown, name: string, args: Args): unknown {
  const table = methodTable(target);
  // Own entries only: `valueOf`, `hasOwnProperty` and friends are not Java methods.
  if (!table || !Object.hasOwn(table, name)) return undefined;
  return (table[name] as Method<unknown>)(target, args);
}

/** Functions of `$input` and `$util` are called as they are; everything else is Java. */
function isApiFunction(target: unknown, name: string): boolean {
  return isMap(target) && Object.hasOwn(target, name) && typeof target[name] === "function";
}

interface MethodCall {
  property: string;
  context: unknown;
  params: unknown[];
}

const javaMethodHandler = {
  uid: "java-semantics",
  match: ({ property, context }: MethodCall) => !isApiFunction(context, property),
  resolve: ({ property, context, params }: MethodCall) => callJava(context, property, params),
};

// --- The engine -------------------------------------------------------------------------

/** The velocityjs AST, as far as this file reads it. */
interface Ast {
  type: string;
  id?: string;
  value?: unknown;
  operator?: string;
  expression?: Ast[];
  condition?: Ast;
  from?: Ast;
  to?: string;
  pos?: unknown;
  path?: Ast[];
  equal?: [Ast, Ast];
}

/** velocityjs's internals that the Java semantics below replace or call. */
interface VelocityInternals {
  context: Record<string, unknown>;
  local: Record<string, Record<string, unknown>>;
  conditions: string[];
  contextId: string;
  runState: { stop: boolean; break: boolean };
  render(context: object, macros: object, silence: boolean): string;
  renderAstList(asts: Ast[], contextId?: string): string;
  getLiteral(ast: Ast): unknown;
  getReferences(ast: Ast, isVal?: boolean): unknown;
  getAttributes(property: Ast, baseRef: unknown, ast: Ast): unknown;
  getContext(id: string): Record<string, unknown>;
  getPathKeys(ref: Ast): string[];
  resolveSetPath(
    context: Record<string, unknown>,
    ref: Ast,
    keys: string[],
  ): {
    blocked: boolean;
    rootRef?: unknown;
    shouldSetRoot?: boolean;
    baseRef?: Record<string, unknown>;
    key?: string;
  };
}

// velocityjs declares these members protected or not at all; this is the typed boundary.
const VelocityBase = Compile as unknown as new (
  asts: unknown[],
  config: { customMethodHandlers: (typeof javaMethodHandler)[] },
) => VelocityInternals;

let loopIds = 0;

class JavaVelocity extends VelocityBase {
  /** Values rendered into the output print as Java prints them; null prints nothing. */
  getReferences(ast: Ast, isVal?: boolean): unknown {
    const value = super.getReferences(ast, isVal);
    if (!isVal) return value;
    return value === null || value === undefined ? "" : javaString(value);
  }

  /** `$a.b` reads map key `b`, or calls Java getter `getB()`/`isB()`; nothing else. */
  getAttributes(property: Ast, baseRef: unknown, ast: Ast): unknown {
    if (property.type !== "property") return super.getAttributes(property, baseRef, ast);
    const name = property.id ?? "";
    if (isMap(baseRef)) return Object.hasOwn(baseRef, name) ? baseRef[name] : undefined;
    const capital = name.charAt(0).toUpperCase() + name.slice(1);
    const table = methodTable(baseRef);
    const getter = [`get${capital}`, `is${capital}`].find(
      (method) => table && Object.hasOwn(table, method),
    );
    return getter ? callJava(baseRef, getter, []) : undefined;
  }

  /** Velocity 1.7's ASTNode.evaluate(): what `#if` and the logical operators see. */
  truthy(ast: Ast | undefined): boolean {
    if (!ast) return false;
    if (ast.type === "math") {
      const [left, right] = ast.expression ?? [];
      switch (ast.operator) {
        case "||":
          return this.truthy(left) || this.truthy(right);
        case "&&":
          return this.truthy(left) && this.truthy(right);
        case "not":
          return !this.truthy(left);
        case "parenthesis":
          return this.truthy(left);
        case "==":
        case "!=":
        case "<":
        case ">":
        case "<=":
        case ">=":
          return this.getExpression(ast) === true;
        default:
          // Arithmetic nodes have no truth value in Velocity 1.7.
          return false;
      }
    }
    if (ast.type === "references") {
      const value = this.getReferences(ast);
      return value !== null && value !== undefined && value !== false;
    }
    if (ast.type === "bool") return ast.value === "true";
    return false;
  }

  getExpression(ast: Ast): unknown {
    if (ast.type !== "math") return this.getLiteral(ast);
    const [left, right] = ast.expression ?? [];
    switch (ast.operator) {
      case "||":
      case "&&":
      case "not":
        return this.truthy(ast);
      case "parenthesis":
        return this.getExpression(left);
      case "minus": {
        const value = this.getExpression(left);
        return typeof value === "number" ? -value : undefined;
      }
      case "==":
        return javaEquals(this.getExpression(left), this.getExpression(right));
      case "!=":
        return !javaEquals(this.getExpression(left), this.getExpression(right));
      default:
        return this.arithmetic(ast.operator ?? "", left, right);
    }
  }

  arithmetic(operator: string, leftAst: Ast, rightAst: Ast): unknown {
    const left = this.getExpression(leftAst);
    const right = this.getExpression(rightAst);
    const comparison = ["<", ">", "<=", ">="].includes(operator);
    if (typeof left !== "number" || typeof right !== "number") {
      // Velocity 1.7 compares numbers only; `+` joins text; anything else is null.
      if (comparison) return false;
      const present = left !== null && left !== undefined && right !== null && right !== undefined;
      if (operator === "+" && present && (typeof left === "string" || typeof right === "string")) {
        return javaString(left) + javaString(right);
      }
      return undefined;
    }
    switch (operator) {
      case "<":
        return left < right;
      case ">":
        return left > right;
      case "<=":
        return left <= right;
      case ">=":
        return left >= right;
      case "+":
        return left + right;
      case "-":
        return left - right;
      case "*":
        return left * right;
    }
    const integral =
      Number.isInteger(left) &&
      Number.isInteger(right) &&
      leftAst.type !== "decimal" &&
      rightAst.type !== "decimal";
    if (integral && right === 0) return undefined;
    if (operator === "/") return integral ? Math.trunc(left / right) : left / right;
    if (operator === "%") return left % right;
    return undefined;
  }

  setValue(ast: Ast): void {
    const [ref, valueAst] = ast.equal as [Ast, Ast];
    const value =
      valueAst.type === "math" ? this.getExpression(valueAst) : this.getLiteral(valueAst);
    // Velocity 1.7 (directive.set.null.allowed=false): a null value leaves the target as it was.
    if (value === null || value === undefined) return;
    const id = ref.id ?? "";
    const context = this.contextId.startsWith("macro:") ? this.context : this.getContext(id);
    if (!ref.path) {
      context[id] = value;
      return;
    }
    const target = this.resolveSetPath(context, ref, this.getPathKeys(ref));
    if (target.blocked) return;
    if (target.shouldSetRoot) context[id] = target.rootRef;
    if (target.baseRef && target.key !== undefined) target.baseRef[target.key] = value;
  }

  getBlockIf(block: Ast[]): string {
    let chosen = false;
    const body: Ast[] = [];
    for (const ast of block) {
      const isBranch = ast.type === "if" || ast.type === "elseif" || ast.type === "else";
      if (!isBranch) {
        if (chosen) body.push(ast);
        continue;
      }
      if (chosen) break;
      chosen = ast.type === "else" || this.truthy(ast.condition);
    }
    return this.renderAstList(body, this.contextId);
  }

  getBlockEach(block: Ast[]): string {
    const head = block[0];
    const source = this.getLiteral({ ...(head.from as Ast), pos: head.pos });
    const items = Array.isArray(source) ? source : isMap(source) ? Object.values(source) : [];
    const name = head.to ?? "";
    const contextId = `foreach:java:${loopIds++}`;
    const local: Record<string, unknown> = {};
    let out = "";
    for (let index = 0; index < items.length; index++) {
      if (this.runState.break) break;
      if (index >= FOREACH_LIMIT) {
        throw new TemplateError(`#foreach went past API Gateway's ${FOREACH_LIMIT} iterations`);
      }
      local[name] = items[index];
      local.foreach = {
        count: index + 1,
        index,
        hasNext: index + 1 < items.length,
        first: index === 0,
        last: index + 1 === items.length,
      };
      local.velocityCount = index + 1;
      this.local[contextId] = local;
      out += this.renderAstList(block.slice(1), contextId);
    }
    if (items.length > 0) {
      this.runState.break = false;
      this.local[contextId] = {};
      this.conditions.shift();
      this.contextId = this.conditions[0] || "";
    }
    return out;
  }
}
