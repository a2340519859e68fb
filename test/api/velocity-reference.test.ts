import * as childProcess from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { buildOpenApi } from "../../runtime/api/openapi";
import {
  type ContextValues,
  compileTemplate,
  type MethodParams,
  renderTemplate,
} from "../../runtime/api/vtl";
import { HOSTILE } from "./hostile";

/**
 * Differential test: every template of the deployed document, and the emulator's Java
 * behaviours, rendered by the emulator and by Apache Velocity 1.7 with commons-lang (the
 * engine and library API Gateway documents), on the same inputs. Outputs must be identical.
 * The reference comes from Debian packages that test/api/velocity/install-reference.sh
 * installs (.ci/run calls it).
 */

const JARS = ["velocity.jar", "commons-lang.jar", "commons-collections3.jar"].map(
  (jar) => `/usr/share/java/${jar}`,
);

interface Case {
  name: string;
  template: string;
  params: MethodParams;
  body: string;
  context: ContextValues;
}

interface Outcome {
  text?: string;
  status?: number | null;
  headers?: Record<string, string>;
  error?: string;
}

const CONTEXT: ContextValues = {
  requestId: "c0ffee00-0000-4000-8000-000000000000",
  stage: "v1",
  httpMethod: "GET",
  resourcePath: "/devices/{deviceId}",
  path: "/v1/devices/1174001",
  requestTimeEpoch: Date.parse("2026-12-03T00:30:00Z"),
  sourceIp: "203.0.113.9",
  apiKey: "key",
  userAgent: "differential",
};

const params = (querystring: Record<string, string> = {}, deviceId = "1174001"): MethodParams => ({
  path: { deviceId },
  querystring,
  header: { Accept: "application/json", from: "header-value" },
});

/** A token of the old shape, with no window: refused now. */
const token = (deviceId: string, period: string) =>
  Buffer.from(JSON.stringify({ deviceId, period })).toString("base64url");

/** A token as the readings template issues it; the window defaults to CONTEXT's default one. */
const windowToken = (
  deviceId: string,
  period: string,
  from = "2026-12-02T00:30:00Z",
  to = "2026-12-03T00:30:00Z",
) => Buffer.from(JSON.stringify({ deviceId, period, from, to })).toString("base64url");

const DAY: [string, string] = ["2026-12-02T00:00:00Z", "2026-12-02T23:59:59Z"];

/** `to` alone, at month, leap-year, century, epoch and four-digit-year boundaries. */
const ONLY_TO = [
  "2026-11-01T00:00:00Z",
  "2026-03-01T05:06:07Z",
  "2028-03-01T00:00:00Z",
  "2000-03-01T12:00:00.5Z",
  "2100-03-01T12:00:00Z",
  "2027-01-01T00:00:00Z",
  "1970-01-01T00:00:00Z",
  "1969-07-20T20:17:40Z",
  "0001-01-01T00:00:00Z",
  "0000-03-01T00:00:00Z",
  "0000-01-01T12:00:00Z",
  "9999-12-31T23:59:59Z",
  "2026-02-31T10:00:00Z",
  "2100-02-29T00:00:00Z",
  "2000-02-29T00:00:00Z",
];

/** One-line templates pinning the semantics the emulator claims, beyond what the real templates use. */
const SNIPPETS = [
  `#set($e = "")#if($e)T#{else}F#end#if(!$e)T#{else}F#end#if("x")T#{else}F#end#if(1)T#{else}F#end`,
  `#set($z = 0)#if($z)T#{else}F#end#set($l = [])#if($l)T#{else}F#end#if($nope)T#{else}F#end`,
  `#set($a = 7 / 2)#set($b = -7 / 2)#set($c = -7 % 3)#set($d = 7.5 / 2)$a $b $c $d`,
  `#set($x = 1)#set($x = 7 / 0)$x #set($y = 'kept')#set($y = $nope.value)$y`,
  `#if("1" == 1)T#{else}F#end#if("1.0" == 1)T#{else}F#end#if($n1 == $n2)T#{else}F#end#if($n1 == "")T#{else}F#end#if($n1 != "")T#{else}F#end`,
  `#if("a" < "b")T#{else}F#end#set($s = "a")$s.compareTo("b") $s.compareTo("a") $s.compareTo("ab")`,
  `#set($x = "minute" + '#' + 5)$x #set($i = 5)#set($i = $i * 2147483647)$i`,
  `#set($s = "abc1")$s.matches('[a-z]+') #set($t = "abc")$t.matches('[a-z]+') $t.matches('ab') $t.matches('a.c')`,
  `#set($s = "a.b.c")$s.replaceAll('\\.(\\w)', '[$1]') $s.replaceAll('\\.', '\\$') $s.replaceFirst('\\.', '-')`,
  `#set($s = "it's")#set($e = $util.escapeJavaScript($s))$e $e.replaceAll("\\\\'", "'")`,
  `#set($s = "a b\tc")$s.matches('a\\sb\\sc') $s.replaceAll('\\s', '_') $s.matches('\\S+')`,
  `#set($s = "abcdef")$s.length() $s.substring(1, 3) $s.substring(4) $s.indexOf("c") $s.contains("cd") $s.startsWith("ab") $s.endsWith("f") $s.isEmpty() $s.toUpperCase() $s.charAt(2)`,
  `#set($s = "a,b,,")#foreach($p in $s.split(','))[$p]#end #set($d = "123")#foreach($x in $d.split(''))[$x]#end`,
  `#set($s = "  x ")[$s.trim()] [$s.length()] [$s.empty] [$!s.length]`,
  `#set($l = ["a", "b"])$l $l.size() $l.get(1) $l.contains("a") #set($m = {"k": 1, "j": "x"})$m $m.get("k") $m.size() $m.keySet()`,
  `#foreach($i in ['a','b','c'])$foreach.count$foreach.index$i$foreach.hasNext$foreach.first$foreach.last$velocityCount|#end`,
  `#set($c = 0)#foreach($i in [1..1000])#set($c = $c + 1)#end$c`,
  `$input.params('deviceId') $input.params('from') $input.params('Accept') [$input.params('none')]`,
  `$input.params().path.get('deviceId') $input.params().querystring.get('from') [$!input.params().querystring.get('From')]`,
  `$input.path('$.Items').size() $input.path('$.Items[0].temperature.N') $input.path('$.Count') $input.json('$.Items[0].time') $input.path('$.list')`,
  `$input.path('$.Items[0]') [$!input.path('$.missing')]`,
  `$util.base64Encode('é{"a":1}') $util.base64Decode('eyJhIjoxfQ==') $util.base64Decode('eyJhIjoxfQ')`,
  `$util.urlEncode('a b/é*~-._') $util.urlDecode('a+b%2F%C3%A9')`,
  `#set($j = $util.parseJson('{"a": [1, "x"], "b": {"c": true}}'))$j.a $j.b $j.a.get(1) $j.b.c`,
  `#set($v = '"/<>&')$util.escapeJavaScript($v)`,
  `$context.requestId $context.stage $context.httpMethod $context.resourcePath $context.path $context.requestTimeEpoch $context.requestTime $context.identity.sourceIp $context.identity.apiKey`,
  `#set($context.responseOverride.status = 429)#set($context.responseOverride.header.Retry-After = "1")x`,
  `a\n  #set($x = 1)\nb\n#if(true)\n  c\n#end\nd`,
  `#set($a = 1)\n  #set($b = 2)\n\t#set($c = 3)\n$a $b #set($d = 4)$d\n#if(true)\n  #set($e = 5)\n  $e\n#end\n#foreach($i in [1])\n  #set($f = $i)\n#end$f`,
  `#set($s = "x{")[$!s.replaceAll('x\\{', 'y')]`,
];

/** Escape strings from the hostile list, as a path/query value or as the template input. */
function escapeCases(): string[] {
  return [
    ...HOSTILE,
    "é",
    "😀",
    "\u0000\u0001\u001f\u007f\u0080\u00ff\u0100\u0fff\u1000\uffff",
    "\b\f\n\r\t/'\"\\",
  ];
}

function buildCases(): Case[] {
  const document = buildOpenApi({
    tables: { readings: "readings-abc123", metadata: "metadata-abc123" },
    region: "us-east-1",
    credentialsRoleArn: "arn:aws:iam::123456789012:role/read-api",
  });
  const cases: Case[] = [];
  const add = (name: string, template: string, p: MethodParams, body = "{}", context = CONTEXT) =>
    cases.push({ name, template, params: p, body, context });

  const itemsBody = JSON.stringify({
    Items: [{ time: { S: "2026-12-02T10:00:00Z" }, temperature: { N: "21.5" } }],
    Count: 1,
    list: ["a", 1],
  });
  for (const [i, snippet] of SNIPPETS.entries()) {
    add(`snippet ${i}: ${snippet}`, snippet, params({ from: "query-value" }), itemsBody);
  }
  for (const value of escapeCases()) {
    add(`escapeJavaScript ${JSON.stringify(value)}`, "$util.escapeJavaScript($input.params('v'))", {
      path: { v: value },
      querystring: {},
      header: {},
    });
  }

  const query: Record<string, string>[] = [
    {},
    {
      from: "2026-12-02T00:00:00Z",
      to: "2026-12-02T23:59:59.999Z",
      order: "desc",
      limit: "1000",
      resolution: "hour",
    },
    { limit: "1" },
    { order: "asc", resolution: "day" },
    { from: "2026-12-02T11:00:00Z", to: "2026-12-02T10:00:00Z" },
    { next: token("1174001", "minute#2026-12-02T10:00:00Z") },
    { next: token("1174001", "minute#2026-12-02T10:00:00Z"), resolution: "hour" },
    { next: token("1174002", "minute#2026-12-02T10:00:00Z") },
    { next: token("1174001", "minute#2026-11-01T10:00:00Z") },
    { next: Buffer.from('{"pk":"auth","sk":"token"}').toString("base64url") },
    { next: "A" },
    { next: "AB" },
    // Tokens that carry their window: of the default window, of an explicit one, replayed
    // against another window, forged with from after to, another device or resolution.
    { next: windowToken("1174001", "minute#2026-12-02T10:00:00Z") },
    { next: windowToken("1174001", "minute#2026-12-02T10:00:00Z"), order: "desc", limit: "7" },
    { next: windowToken("1174001", "minute#2026-12-02T00:30:00Z") },
    { next: windowToken("1174001", "minute#2026-12-02T00:29:59Z") },
    {
      next: windowToken("1174001", "hour#2026-12-02T10:00:00Z", ...DAY),
      from: "2026-12-02T00:00:00.5Z",
      to: "2026-12-02T23:59:59.999Z",
      resolution: "hour",
    },
    { next: windowToken("1174001", "minute#2026-12-02T10:00:00Z", ...DAY), from: DAY[0] },
    { next: windowToken("1174001", "minute#2026-12-02T10:00:00Z", ...DAY), to: DAY[1] },
    { next: windowToken("1174001", "minute#2026-12-02T10:00:00Z", ...DAY), from: DAY[1] },
    {
      next: windowToken("1174001", "minute#2026-12-02T10:00:00Z", ...DAY),
      from: "2026-12-02T00:00:01Z",
      to: DAY[1],
    },
    { next: windowToken("1174001", "minute#2026-12-02T10:00:00Z", DAY[1], DAY[0]) },
    { next: windowToken("1174001", "minute#2026-12-02T10:00:00Z", "2026-12-02T00:00:00.5Z") },
    { next: windowToken("1174001", "minute#2026-12-02T10:00:00Z", "2026-13-02T00:00:00Z") },
    { next: windowToken("1174002", "minute#2026-12-02T10:00:00Z") },
    { next: windowToken("1174001", "minute#2026-12-02T10:00:00Z"), resolution: "day" },
    { next: windowToken("1174001", "minute#2026-12-02T10:00:00Z").slice(0, -3) },
    // One end of the window: from is to - 24 hours; to is the request time.
    ...ONLY_TO.map((to) => ({ to })),
    { to: "2026-12-02T10:04:30.900Z", order: "desc" },
    { from: "2026-12-02T10:00:00Z" },
    { from: "2026-12-03T00:30:01Z" },
  ];
  for (const name of ["from", "to", "order", "limit", "resolution", "next"]) {
    for (const value of HOSTILE.slice(0, 40)) query.push({ [name]: value });
  }
  const deviceIds = ["1174001", ...HOSTILE.slice(0, 40)];
  const epochs = [
    "2026-12-03T00:30:00Z",
    "2028-02-29T23:59:59Z",
    "2028-03-01T00:00:00.999Z",
    "2000-02-29T12:00:00Z",
    "2026-01-01T00:00:30Z",
    "2100-03-01T07:08:09Z",
    "1970-01-01T00:00:00Z",
    "1970-01-01T00:00:01Z",
    "9999-12-31T23:59:59.999Z",
  ].map((iso) => ({ ...CONTEXT, requestTimeEpoch: Date.parse(iso) }));
  // Request times the default window cannot use: missing, not digits, or past year 9999.
  const unusable = [
    null,
    "",
    "abc",
    String(CONTEXT.requestTimeEpoch),
    "-5",
    -5,
    1.5,
    " 1764721800000",
    Date.parse("9999-12-31T23:59:59Z") + 1000,
  ].map((requestTimeEpoch) => ({ ...CONTEXT, requestTimeEpoch }));
  const clockQueries: Record<string, string>[] = [
    {},
    { from: "2026-12-02T00:00:00Z" },
    { to: "2026-12-02T00:00:00Z" },
    { from: "2026-12-02T00:00:00Z", to: "2026-12-02T23:59:59Z" },
    { order: "up" },
    { next: windowToken("1174001", "minute#2026-12-02T10:00:00Z") },
  ];

  const bodies = [
    itemsBody,
    JSON.stringify({ Items: [], Count: 0, ScannedCount: 0 }),
    JSON.stringify({
      Items: [
        {
          deviceId: { S: "1174001" },
          period: { S: "hour#2026-12-02T10:00:00Z" },
          time: { S: "2026-12-02T10:00:00Z" },
          temperature: { N: "-0.5" },
          humidity: { N: "1E+2" },
          air_quality: { N: "not-a-number" },
          wifi: { S: "-60" },
          count: { M: { temperature: { N: "60" }, humidity: { N: "59" } } },
          min: { M: { temperature: { N: "-3" } } },
          max: { M: { temperature: { N: "2.75" } } },
          id: { S: "dev'ice\"é😀\n" },
          name: { S: "</script>\\" },
          type: { S: "Canary Pro" },
          location: { S: "" },
          online: { BOOL: true },
          lastReadingAt: { S: "2026-12-02T10:00:00Z" },
        },
        { time: { S: "x" }, online: { BOOL: false } },
      ],
      Count: 2,
      ScannedCount: 2,
      LastEvaluatedKey: {
        deviceId: { S: "1174001" },
        period: { S: "minute#2026-12-02T10:00:00Z" },
      },
    }),
  ];
  const errors = [
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "ValidationException",
    "SerializationException",
    "InternalServerError",
  ].map((type) =>
    JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message: "m" }),
  );

  for (const [route, methods] of Object.entries(document.paths)) {
    const integration = methods.get["x-amazon-apigateway-integration"];
    const request = integration.requestTemplates?.["application/json"] ?? "";
    const ok = integration.responses.default.responseTemplates?.["application/json"] ?? "";
    const clientError =
      integration.responses["4\\d{2}"].responseTemplates?.["application/json"] ?? "";
    const serverError =
      integration.responses["5\\d{2}"].responseTemplates?.["application/json"] ?? "";
    const queries = route === "/devices/{deviceId}" ? query : [{}];
    for (const q of queries) {
      add(`${route} request ${JSON.stringify(q)}`, request, params(q));
      add(`${route} 4xx ${JSON.stringify(q)}`, clientError, params(q), errors[0]);
      add(`${route} 5xx ${JSON.stringify(q)}`, serverError, params(q), errors[4]);
      add(`${route} 200 ${JSON.stringify(q)}`, ok, params(q), bodies[2]);
    }
    for (const id of deviceIds) {
      add(`${route} request deviceId ${JSON.stringify(id)}`, request, params({}, id));
      add(`${route} 4xx deviceId ${JSON.stringify(id)}`, clientError, params({}, id), errors[2]);
      add(`${route} 5xx deviceId ${JSON.stringify(id)}`, serverError, params({}, id), errors[4]);
    }
    for (const context of epochs) {
      add(`${route} request at ${context.requestTimeEpoch}`, request, params(), "{}", context);
      add(`${route} 200 at ${context.requestTimeEpoch}`, ok, params(), bodies[2], context);
    }
    for (const context of unusable) {
      for (const q of route === "/devices/{deviceId}" ? clockQueries : [{}]) {
        const at = `at ${JSON.stringify(context.requestTimeEpoch)} ${JSON.stringify(q)}`;
        add(`${route} request ${at}`, request, params(q), "{}", context);
        add(`${route} 4xx ${at}`, clientError, params(q), errors[2], context);
        add(`${route} 5xx ${at}`, serverError, params(q), errors[4], context);
        add(`${route} 200 ${at}`, ok, params(q), bodies[2], context);
      }
    }
    for (const body of bodies) add(`${route} 200 ${body.slice(0, 60)}`, ok, params(), body);
    for (const body of errors) {
      add(`${route} 4xx ${body}`, clientError, params(), body);
      add(`${route} 5xx ${body}`, serverError, params(), body);
    }
  }
  return cases;
}

function emulate(cases: Case[]): Outcome[] {
  const compiled = new Map<string, ReturnType<typeof compileTemplate>>();
  return cases.map((test) => {
    try {
      let template = compiled.get(test.template);
      if (!template) {
        template = compileTemplate(test.template);
        compiled.set(test.template, template);
      }
      const result = renderTemplate(template, {
        params: test.params,
        body: test.body,
        context: test.context,
      });
      return { text: result.text, status: result.status ?? null, headers: result.headers };
    } catch (error) {
      return { error: (error as Error).message };
    }
  });
}

function reference(cases: Case[]): Outcome[] {
  const missing = [...JARS].filter((jar) => !fs.existsSync(jar));
  if (missing.length > 0) {
    throw new Error(
      `Velocity 1.7 reference missing (${missing.join(", ")}): run test/api/velocity/install-reference.sh`,
    );
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "vtl-reference-"));
  try {
    const classpath = [...JARS, work].join(":");
    const source = path.join(__dirname, "velocity", "VtlReference.java");
    childProcess.execFileSync("javac", ["-d", work, "-cp", classpath, source], { stdio: "pipe" });
    const input = path.join(work, "cases.json");
    const output = path.join(work, "results.json");
    fs.writeFileSync(input, JSON.stringify(cases));
    childProcess.execFileSync("java", ["-cp", classpath, "VtlReference", input, output], {
      stdio: "pipe",
    });
    return JSON.parse(fs.readFileSync(output, "utf8")) as Outcome[];
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

describe("VTL emulator against Apache Velocity 1.7 (differential)", function () {
  this.timeout(60_000);
  let cases: Case[];
  let expected: Outcome[];
  let actual: Outcome[];

  before(() => {
    cases = buildCases();
    expected = reference(cases);
    actual = emulate(cases);
  });

  const check = (filter: (test: Case) => boolean) => {
    const differences: string[] = [];
    let compared = 0;
    cases.forEach((test, i) => {
      if (!filter(test)) return;
      compared++;
      const want = expected[i];
      const got = actual[i];
      const same =
        want.error !== undefined || got.error !== undefined
          ? want.error !== undefined && got.error !== undefined
          : want.text === got.text &&
            want.status === got.status &&
            JSON.stringify(want.headers) === JSON.stringify(got.headers);
      if (!same)
        differences.push(
          `${test.name}\n  velocity: ${JSON.stringify(want)}\n  emulator: ${JSON.stringify(got)}`,
        );
    });
    expect(compared).to.be.greaterThan(0);
    expect(differences, differences.slice(0, 5).join("\n")).to.deep.equal([]);
  };

  it("agrees on the Java behaviours the emulator pins (truthiness, division, regex, methods, $input, $util)", () => {
    check((test) => test.name.startsWith("snippet") || test.name.startsWith("escapeJavaScript"));
  });

  it("agrees on every request template, for valid, invalid and hostile parameters", () => {
    check((test) => test.name.includes(" request "));
  });

  it("agrees on every response template, for data, DynamoDB errors and hostile parameters", () => {
    check((test) => / (200|4xx|5xx) /.test(test.name));
  });

  it("renders JSON from every template on every input where Velocity does", () => {
    let checked = 0;
    cases.forEach((test, i) => {
      if (test.name.startsWith("snippet") || test.name.startsWith("escapeJavaScript")) return;
      const text = expected[i].text;
      expect(text, `${test.name}: Velocity failed: ${expected[i].error}`).to.be.a("string");
      expect(() => JSON.parse(text as string), `${test.name}:\n${text}`).not.to.throw();
      checked++;
    });
    expect(checked).to.be.greaterThan(500);
  });
});
