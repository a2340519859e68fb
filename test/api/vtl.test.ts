import { expect } from "chai";
import { render } from "../../runtime/api/gateway";
import { renderTemplate, TemplateError, type TemplateInputs } from "../../runtime/api/vtl";

/** Renders and expects a failure, as API Gateway's 500. */
function fails(template: string, inputs?: TemplateInputs): string {
  try {
    render(template, inputs);
  } catch (error) {
    expect(error).to.be.instanceOf(TemplateError);
    return (error as Error).message;
  }
  throw new Error(`expected ${template} to fail`);
}

describe("VTL emulator: the Java behaviours API Gateway templates get", () => {
  describe("$util.escapeJavaScript, as commons-lang StringEscapeUtils", () => {
    const escaped = (value: string) =>
      render("$util.escapeJavaScript($input.params('v'))", { params: { path: { v: value } } });
    const cases: [string, string][] = [
      ["it's", "it\\'s"],
      ["a/b", "a\\/b"],
      ['say "hi"', 'say \\"hi\\"'],
      ["back\\slash", "back\\\\slash"],
      ["\b\f\n\r\t", "\\b\\f\\n\\r\\t"],
      ["\u0000\u0001\u001f", "\\u0000\\u0001\\u001F"],
      ["\u007f", "\u007f"],
      ["é", "\\u00E9"],
      ["Ā€", "\\u0100\\u20AC"],
      ["😀", "\\uD83D\\uDE00"],
      ["\u2028", "\\u2028"],
    ];
    for (const [input, expected] of cases) {
      it(`escapes ${JSON.stringify(input)} as ${expected}`, () => {
        expect(escaped(input)).to.equal(expected);
      });
    }

    it("gives text that is a valid JSON string once \\' is repaired", () => {
      const value = `'"\\/\n\u0001é😀<>&`;
      const text = render(`"$util.escapeJavaScript($input.params('v')).replaceAll("\\\\'", "'")"`, {
        params: { querystring: { v: value } },
      });
      expect(JSON.parse(text)).to.equal(value);
    });
  });

  describe("truthiness, as Velocity 1.7", () => {
    const truth = (condition: string, setup = "") =>
      render(`${setup}#if(${condition})T#{else}F#end`);

    it("treats an empty string as true in #if", () => {
      expect(truth("$e", `#set($e = "")`)).to.equal("T");
      expect(truth("!$e", `#set($e = "")`)).to.equal("F");
      expect(truth("$e && true", `#set($e = "")`)).to.equal("T");
    });

    it("treats 0 and an empty list as true, and only null and false as false", () => {
      expect(truth("$z", "#set($z = 0)")).to.equal("T");
      expect(truth("$l", "#set($l = [])")).to.equal("T");
      expect(truth("$missing")).to.equal("F");
      expect(truth("$f", "#set($f = false)")).to.equal("F");
    });

    it("treats a bare literal as false, whatever it holds", () => {
      expect(truth('"yes"')).to.equal("F");
      expect(truth("1")).to.equal("F");
    });

    it("makes a template that relies on an empty string being false misbehave, as on AWS", () => {
      // The classic mistake: on AWS an absent parameter is "" and "" is true, so this
      // template always takes the first branch. JavaScript engines would take the second.
      const naive = `#if($input.params('limit'))"Limit": $input.params('limit')#{else}"Limit": 500#end`;
      expect(render(naive)).to.equal(`"Limit": `);
      expect(() => JSON.parse(`{${render(naive)}}`)).to.throw(SyntaxError);
      const explicit = `#set($l = $input.params('limit'))#if($l != "")$l#{else}500#end`;
      expect(render(explicit)).to.equal("500");
    });
  });

  describe("comparisons and arithmetic", () => {
    it("truncates integer division and modulo as Java does", () => {
      expect(render("#set($x = 7 / 2)$x")).to.equal("3");
      expect(render("#set($x = -7 / 2)$x")).to.equal("-3");
      expect(render("#set($x = -7 % 3)$x")).to.equal("-1");
      expect(render("#set($x = 7.0 / 2)$x")).to.equal("3.5");
    });

    it("gives null for division by zero, leaving the variable as it was", () => {
      expect(render("#set($x = 1)#set($x = 7 / 0)$x")).to.equal("1");
    });

    it("keeps a variable's value when #set is given null", () => {
      expect(render("#set($a = 'kept')#set($a = $missing.value)$a")).to.equal("kept");
    });

    it("compares text with == by content, and numbers with text by their text", () => {
      expect(render(`#if("1" == 1)T#{else}F#end`)).to.equal("T");
      expect(render(`#if("1.0" == 1)T#{else}F#end`)).to.equal("F");
      expect(render(`#if($a == $b)T#{else}F#end`)).to.equal("T");
      expect(render(`#if($a == "")T#{else}F#end`)).to.equal("F");
    });

    it("compares only numbers with < and >; text needs compareTo", () => {
      expect(render(`#if("a" < "b")T#{else}F#end`)).to.equal("F");
      expect(render(`#set($a = "a")#if($a.compareTo("b") < 0)T#{else}F#end`)).to.equal("T");
    });

    it("joins text with +", () => {
      expect(render(`#set($x = "minute" + '#' + 5)$x`)).to.equal("minute#5");
    });
  });

  describe("Java String methods", () => {
    it("matches the whole string with .matches(), as Java does", () => {
      expect(render(`#set($s = "abc1")$s.matches('[a-z]+')`)).to.equal("false");
      expect(render(`#set($s = "abc")$s.matches('[a-z]+')`)).to.equal("true");
      expect(render(`#set($s = "abc\n")$s.matches('abc$')`)).to.equal("false");
      expect(render(`#set($s = "a b")$s.matches('a\\sb')`)).to.equal("true");
      expect(render(`#set($s = "a\u00a0b")$s.matches('a\\sb')`)).to.equal("false");
    });

    it("replaces with Java regex and $1 replacement syntax", () => {
      expect(render(`#set($s = "a.b.c")$s.replaceAll('\\.(\\w)', '[$1]')`)).to.equal("a[b][c]");
      expect(render(`#set($s = "it\\'s")$s.replaceAll("\\\\'", "'")`)).to.equal("it's");
      expect(render(`#set($s = "x")$s.replaceAll('x', '\\$')`)).to.equal("$");
      expect(fails(`#set($s = "x")$s.replaceAll('x', '$2')`)).to.include("No group 2");
      expect(render(`#set($s = "abc")$s.replaceAll('b|', '-')`)).to.equal("-a--c-");
    });

    it("rejects a { that is not a quantifier, as java.util.regex does", () => {
      expect(fails(`#set($s = "x{")$s.matches('x{')`)).to.include("PatternSyntaxException");
    });

    it("refuses regex constructs it cannot translate faithfully instead of guessing", () => {
      expect(fails(`#set($s = "aa")$s.matches('a++')`)).to.include("possessive");
      expect(fails(`#set($s = "a")$s.matches('[a-z&&[^b]]')`)).to.include("not supported locally");
    });

    it("has .length() but no .length property, and throws from .substring() out of range", () => {
      expect(render(`#set($s = "abc")$s.length()|$s.length|$s.empty`)).to.equal("3||false");
      expect(render(`#set($s = "abcdef")$s.substring(1, 3)`)).to.equal("bc");
      expect(fails(`#set($s = "abc")$s.substring(5)`)).to.include(
        "StringIndexOutOfBoundsException",
      );
    });

    it("splits with Java's rules and has no JavaScript-only methods", () => {
      expect(render(`#set($s = "a,b,,")#foreach($p in $s.split(','))[$p]#end`)).to.equal("[a][b]");
      expect(render(`#set($s = "123")#foreach($d in $s.split(''))\${d}-#end`)).to.equal("1-2-3-");
      expect(render(`#set($s = "abc")[$!s.slice(1)][$!s.at(0)][$!s.valueOf()]`)).to.equal("[][][]");
    });

    it("reads map keys exactly: no case folding, nothing inherited", () => {
      const inputs = { params: { querystring: { From: "x" } } };
      expect(render(`[$!input.params().querystring.get('from')]`, inputs)).to.equal("[]");
      expect(render(`[$!input.params().querystring.get('toString')]`, inputs)).to.equal("[]");
    });
  });

  describe("$input", () => {
    const inputs: TemplateInputs = {
      params: {
        path: { id: "from-path" },
        querystring: { id: "from-query", q: "1" },
        header: { id: "h", H: "2" },
      },
      body: '{"a": {"b": [1, 2]}, "s": "x"}',
    };

    it("looks a name up in path, then query string, then headers", () => {
      expect(render("$input.params('id')", inputs)).to.equal("from-path");
      expect(render("$input.params('q')", inputs)).to.equal("1");
      expect(render("$input.params('H')", inputs)).to.equal("2");
      expect(render("[$input.params('h')][$input.params('nothing')]", inputs)).to.equal("[][]");
    });

    it("gives the three maps from $input.params()", () => {
      expect(
        render("$input.params().querystring.get('id')|$input.params().header.get('H')", inputs),
      ).to.equal("from-query|2");
    });

    it("navigates the body with $input.path and prints JSON lists as JSON, maps Java-style", () => {
      expect(
        render("$input.path('$.a.b').size()|$input.path('$.a.b')|$input.path('$.a')", inputs),
      ).to.equal("2|[1,2]|{b=[1,2]}");
      expect(render("$input.json('$.a')|$input.body.length()", inputs)).to.equal(`{"b":[1,2]}|30`);
    });
  });

  describe("$util", () => {
    it("decodes base64 strictly and fails on bad input, as java.util.Base64 does", () => {
      expect(render("$util.base64Decode('eyJhIjoxfQ==')")).to.equal('{"a":1}');
      expect(render("$util.base64Decode('eyJhIjoxfQ')")).to.equal('{"a":1}');
      expect(fails("$util.base64Decode('e')")).to.include("IllegalArgumentException");
      expect(fails("$util.base64Decode('ey!h')")).to.include("Illegal base64 character");
      expect(render("$util.base64Encode('é')")).to.equal("w6k=");
    });

    it("url-encodes as a form and fails parseJson on invalid JSON", () => {
      expect(render("$util.urlEncode('a b/é*~')")).to.equal("a+b%2F%C3%A9*%7E");
      expect(render("$util.urlDecode('a+b%2F%C3%A9')")).to.equal("a b/é");
      expect(render("$util.parseJson('{\"a\": [1]}').a.get(0)")).to.equal("1");
      expect(fails("$util.parseJson('{nope')")).to.include("parseJson");
    });
  });

  describe("$context and #foreach", () => {
    it("exposes the request context and collects responseOverride", () => {
      const result = renderTemplate(
        "$context.httpMethod $context.resourcePath $context.stage $context.requestTimeEpoch $context.identity.sourceIp [$!context.identity.apiKey]#set($context.responseOverride.status = 429)#set($context.responseOverride.header.Retry-After = '1')",
        {
          context: {
            httpMethod: "GET",
            resourcePath: "/devices",
            stage: "v1",
            requestTimeEpoch: 1764786780000,
            sourceIp: "10.0.0.1",
          },
        },
      );
      expect(result.text).to.equal("GET /devices v1 1764786780000 10.0.0.1 []");
      expect(result.status).to.equal(429);
      expect(result.headers).to.deep.equal({ "Retry-After": "1" });
    });

    it("runs 1000 iterations and fails on the 1001st", () => {
      expect(render("#set($c = 0)#foreach($i in [1..1000])#set($c = $c + 1)#end$c")).to.equal(
        "1000",
      );
      expect(fails("#foreach($i in [1..1001])#end")).to.include("1000 iterations");
    });

    it("has $foreach.hasNext, count, first and last", () => {
      expect(
        render(
          "#foreach($i in ['a','b'])$foreach.count$i$foreach.first$foreach.last#if($foreach.hasNext),#end#end",
        ),
      ).to.equal("1atruefalse,2bfalsetrue");
    });

    it("fails #include and #parse, which API Gateway does not offer", () => {
      expect(fails("#include('x.vm')")).to.include("#include");
      expect(fails("#parse('x.vm')")).to.include("#parse");
    });

    it("drops blanks before #set where Velocity 1.7's lexer does, and only there", () => {
      expect(render("#set($a = 1)\n  #set($b = 2)\nb")).to.equal("b");
      expect(render("$a #set($b = 2)b", { params: {} })).to.equal("b");
      expect(render("a\n  #set($x = 1)\nb")).to.equal("a\n  b");
    });
  });
});
