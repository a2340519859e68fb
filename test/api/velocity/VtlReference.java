import java.io.StringWriter;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.text.SimpleDateFormat;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TimeZone;
import org.apache.commons.lang.StringEscapeUtils;
import org.apache.velocity.VelocityContext;
import org.apache.velocity.app.VelocityEngine;

/**
 * The reference renderer for the differential test: Apache Velocity 1.7 with $input, $util
 * and $context written the way API Gateway documents them, over the JVM's own regex, Base64,
 * URLEncoder and commons-lang. Reads a JSON array of cases, writes a JSON array of results.
 * Usage: java -cp velocity.jar:commons-lang.jar:commons-collections3.jar:. VtlReference in out
 */
public class VtlReference {
  /** Lists parsed from JSON print as JSON, as API Gateway's json-smart lists do. */
  public static final class JsonList extends ArrayList<Object> {
    @Override
    public String toString() {
      return Json.write(this);
    }
  }

  static final class Json {
    private final String s;
    private int i;

    private Json(String s) {
      this.s = s;
    }

    static Object parse(String text) {
      Json parser = new Json(text);
      Object value = parser.value();
      parser.space();
      if (parser.i != text.length()) throw new IllegalArgumentException("trailing text at " + parser.i);
      return value;
    }

    private void space() {
      while (i < s.length() && " \t\r\n".indexOf(s.charAt(i)) >= 0) i++;
    }

    private void expect(char c) {
      space();
      if (i >= s.length() || s.charAt(i) != c) throw new IllegalArgumentException("expected " + c + " at " + i);
      i++;
    }

    private Object value() {
      space();
      if (i >= s.length()) throw new IllegalArgumentException("unexpected end");
      char c = s.charAt(i);
      if (c == '{') {
        i++;
        Map<String, Object> map = new LinkedHashMap<>();
        space();
        if (s.charAt(i) == '}') { i++; return map; }
        while (true) {
          space();
          String key = string();
          expect(':');
          map.put(key, value());
          space();
          if (s.charAt(i) == ',') { i++; continue; }
          expect('}');
          return map;
        }
      }
      if (c == '[') {
        i++;
        JsonList list = new JsonList();
        space();
        if (s.charAt(i) == ']') { i++; return list; }
        while (true) {
          list.add(value());
          space();
          if (s.charAt(i) == ',') { i++; continue; }
          expect(']');
          return list;
        }
      }
      if (c == '"') return string();
      if (s.startsWith("true", i)) { i += 4; return Boolean.TRUE; }
      if (s.startsWith("false", i)) { i += 5; return Boolean.FALSE; }
      if (s.startsWith("null", i)) { i += 4; return null; }
      int start = i;
      while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) i++;
      String number = s.substring(start, i);
      if (!number.matches("-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?")) {
        throw new IllegalArgumentException("bad value at " + start);
      }
      if (number.matches("-?[0-9]+")) {
        long value = Long.parseLong(number);
        if (value >= Integer.MIN_VALUE && value <= Integer.MAX_VALUE) return (int) value;
        return value;
      }
      return Double.parseDouble(number);
    }

    private String string() {
      if (s.charAt(i) != '"') throw new IllegalArgumentException("expected string at " + i);
      i++;
      StringBuilder out = new StringBuilder();
      while (true) {
        char c = s.charAt(i++);
        if (c == '"') return out.toString();
        if (c < 0x20) throw new IllegalArgumentException("control character in string");
        if (c != '\\') { out.append(c); continue; }
        char e = s.charAt(i++);
        switch (e) {
          case 'n': out.append('\n'); break;
          case 't': out.append('\t'); break;
          case 'r': out.append('\r'); break;
          case 'b': out.append('\b'); break;
          case 'f': out.append('\f'); break;
          case 'u': out.append((char) Integer.parseInt(s.substring(i, i + 4), 16)); i += 4; break;
          case '"': case '\\': case '/': out.append(e); break;
          default: throw new IllegalArgumentException("bad escape");
        }
      }
    }

    /** JSON text, spaced and escaped as JavaScript's JSON.stringify does. */
    static String write(Object value) {
      if (value == null) return "null";
      if (value instanceof String) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : ((String) value).toCharArray()) {
          switch (c) {
            case '"': out.append("\\\""); break;
            case '\\': out.append("\\\\"); break;
            case '\n': out.append("\\n"); break;
            case '\r': out.append("\\r"); break;
            case '\t': out.append("\\t"); break;
            case '\b': out.append("\\b"); break;
            case '\f': out.append("\\f"); break;
            default:
              if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
              else out.append(c);
          }
        }
        return out.append('"').toString();
      }
      if (value instanceof Map) {
        StringBuilder out = new StringBuilder("{");
        boolean first = true;
        for (Map.Entry<?, ?> entry : ((Map<?, ?>) value).entrySet()) {
          if (!first) out.append(',');
          first = false;
          out.append(write(String.valueOf(entry.getKey()))).append(':').append(write(entry.getValue()));
        }
        return out.append('}').toString();
      }
      if (value instanceof List) {
        StringBuilder out = new StringBuilder("[");
        boolean first = true;
        for (Object item : (List<?>) value) {
          if (!first) out.append(',');
          first = false;
          out.append(write(item));
        }
        return out.append(']').toString();
      }
      return String.valueOf(value);
    }
  }

  /** The JSONPath subset the templates use: $, .name, ['name'], [0]. */
  static Object jsonPath(Object root, String expression) {
    java.util.regex.Matcher step =
        java.util.regex.Pattern.compile("\\.([A-Za-z_][\\w-]*)|\\[(\\d+)\\]|\\['([^']*)'\\]|\\[\"([^\"]*)\"\\]").matcher(expression);
    if (!expression.startsWith("$")) throw new IllegalArgumentException("JSONPath must start with $");
    int at = 1;
    Object value = root;
    while (at < expression.length()) {
      if (!step.find(at) || step.start() != at) throw new IllegalArgumentException("unsupported JSONPath");
      at = step.end();
      String key = step.group(1) != null ? step.group(1) : step.group(3) != null ? step.group(3) : step.group(4);
      if (value instanceof List && step.group(2) != null) {
        List<?> list = (List<?>) value;
        int index = Integer.parseInt(step.group(2));
        value = index < list.size() ? list.get(index) : null;
      } else if (value instanceof Map && key != null) {
        value = ((Map<?, ?>) value).get(key);
      } else {
        return null;
      }
    }
    return value;
  }

  public static final class Input {
    private final Map<String, Map<String, String>> params;
    private final String body;

    Input(Map<String, Map<String, String>> params, String body) {
      this.params = params;
      this.body = body;
    }

    public Map<String, Map<String, String>> params() {
      Map<String, Map<String, String>> copy = new LinkedHashMap<>();
      for (Map.Entry<String, Map<String, String>> entry : params.entrySet()) {
        copy.put(entry.getKey(), new LinkedHashMap<>(entry.getValue()));
      }
      return copy;
    }

    public String params(String name) {
      for (String source : new String[] {"path", "querystring", "header"}) {
        Map<String, String> values = params.get(source);
        if (values.containsKey(name)) return values.get(name);
      }
      return "";
    }

    public Object path(String expression) {
      return jsonPath(Json.parse(body), expression);
    }

    public String json(String expression) {
      Object value = path(expression);
      return value == null ? "" : Json.write(value);
    }

    public String getBody() {
      return body;
    }
  }

  public static final class Util {
    public String escapeJavaScript(String value) {
      return StringEscapeUtils.escapeJavaScript(value);
    }

    public Object parseJson(String value) {
      return Json.parse(value);
    }

    public String base64Encode(String value) {
      return Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.UTF_8));
    }

    public String base64Decode(String value) {
      return new String(Base64.getDecoder().decode(value), StandardCharsets.UTF_8);
    }

    public String urlEncode(String value) throws Exception {
      return URLEncoder.encode(value, "UTF-8");
    }

    public String urlDecode(String value) throws Exception {
      return URLDecoder.decode(value, "UTF-8");
    }
  }

  @SuppressWarnings("unchecked")
  static Map<String, String> strings(Object value) {
    Map<String, String> out = new LinkedHashMap<>();
    if (value instanceof Map) {
      for (Map.Entry<String, Object> entry : ((Map<String, Object>) value).entrySet()) {
        out.put(entry.getKey(), String.valueOf(entry.getValue()));
      }
    }
    return out;
  }

  @SuppressWarnings("unchecked")
  public static void main(String[] args) throws Exception {
    VelocityEngine engine = new VelocityEngine();
    engine.setProperty("runtime.log.logsystem.class", "org.apache.velocity.runtime.log.NullLogChute");
    engine.init();
    SimpleDateFormat clf = new SimpleDateFormat("dd/MMM/yyyy:HH:mm:ss Z", Locale.US);
    clf.setTimeZone(TimeZone.getTimeZone("UTC"));

    List<Object> cases = (List<Object>) Json.parse(new String(Files.readAllBytes(Paths.get(args[0])), StandardCharsets.UTF_8));
    List<Object> results = new ArrayList<>();
    for (Object raw : cases) {
      Map<String, Object> test = (Map<String, Object>) raw;
      Map<String, Object> given = (Map<String, Object>) test.get("params");
      Map<String, Map<String, String>> params = new LinkedHashMap<>();
      for (String source : new String[] {"path", "querystring", "header"}) params.put(source, strings(given.get(source)));
      Map<String, Object> values = (Map<String, Object>) test.get("context");
      // A whole number of milliseconds as API Gateway gives it; text or a fraction as given, to
      // see what templates do with it; null as absent.
      Object epoch = values.get("requestTimeEpoch");

      Map<String, Object> responseOverride = new LinkedHashMap<>();
      responseOverride.put("header", new LinkedHashMap<String, Object>());
      Map<String, Object> identity = new LinkedHashMap<>();
      identity.put("sourceIp", values.get("sourceIp"));
      identity.put("apiKey", values.get("apiKey"));
      identity.put("userAgent", values.get("userAgent"));
      Map<String, Object> context = new LinkedHashMap<>();
      context.put("requestId", values.get("requestId"));
      context.put("extendedRequestId", values.get("requestId"));
      context.put("stage", values.get("stage"));
      context.put("httpMethod", values.get("httpMethod"));
      context.put("resourcePath", values.get("resourcePath"));
      context.put("path", values.get("path"));
      context.put("protocol", "HTTP/1.1");
      if (epoch instanceof Integer || epoch instanceof Long) {
        context.put("requestTimeEpoch", ((Number) epoch).longValue());
        context.put("requestTime", clf.format(new Date(((Number) epoch).longValue())));
      } else if (epoch != null) {
        context.put("requestTimeEpoch", epoch);
      }
      context.put("identity", identity);
      context.put("responseOverride", responseOverride);

      VelocityContext velocity = new VelocityContext();
      velocity.put("input", new Input(params, (String) test.get("body")));
      velocity.put("util", new Util());
      velocity.put("context", context);
      velocity.put("stageVariables", new LinkedHashMap<String, String>());

      Map<String, Object> result = new LinkedHashMap<>();
      try {
        StringWriter out = new StringWriter();
        engine.evaluate(velocity, out, "template", (String) test.get("template"));
        result.put("text", out.toString());
        Object status = responseOverride.get("status");
        result.put("status", status instanceof Number ? (Object) ((Number) status).intValue() : status == null ? null : Integer.valueOf(String.valueOf(status)));
        result.put("headers", strings(responseOverride.get("header")));
      } catch (Exception error) {
        result.put("error", error.getClass().getSimpleName() + ": " + error.getMessage());
      }
      results.add(result);
    }
    Files.write(Paths.get(args[1]), Json.write(results).getBytes(StandardCharsets.UTF_8));
  }
}
