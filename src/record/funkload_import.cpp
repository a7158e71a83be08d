#include "record/funkload_import.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <lua.hpp>

#include "record/scenario_writer.hpp"

namespace bm::record {

namespace {

// ---- lines ---------------------------------------------------------------------------

struct Line {
  int number = 0;     // first physical line
  int indent = 0;
  std::string code;   // the statement, physical lines joined, comment removed
  std::string comment;  // a trailing or whole-line comment, without '#'
};

// Python's logical lines: brackets and triple-quoted strings join physical lines.
std::vector<Line> logical_lines(std::string_view text) {
  std::vector<Line> lines;
  Line current;
  int depth = 0;
  char quote = 0;       // inside a string: its quote character
  bool triple = false;
  bool continued = false;
  int number = 0;
  std::size_t at = 0;
  while (at <= text.size()) {
    const std::size_t end = std::min(text.find('\n', at), text.size());
    std::string_view physical = text.substr(at, end - at);
    at = end + 1;
    ++number;
    if (!physical.empty() && physical.back() == '\r') physical.remove_suffix(1);
    if (depth == 0 && quote == 0 && !continued) {
      current = Line{};
      current.number = number;
      std::size_t spaces = 0;
      while (spaces < physical.size() && (physical[spaces] == ' ' || physical[spaces] == '\t')) {
        current.indent += physical[spaces] == '\t' ? 8 - current.indent % 8 : 1;
        ++spaces;
      }
      physical.remove_prefix(spaces);
    } else if (quote == 0) {
      while (!physical.empty() && (physical.front() == ' ' || physical.front() == '\t')) physical.remove_prefix(1);
      if (!current.code.empty()) current.code += ' ';
    } else {
      current.code += '\n';  // inside a triple-quoted string
    }
    continued = false;
    for (std::size_t i = 0; i < physical.size(); ++i) {
      const char c = physical[i];
      if (quote != 0) {
        current.code += c;
        if (c == '\\' && i + 1 < physical.size()) {
          current.code += physical[++i];
        } else if (c == quote && (!triple || (i + 2 < physical.size() + 0 && physical.substr(i, 3) == std::string(3, quote)))) {
          if (triple) {
            current.code += physical.substr(i + 1, 2);
            i += 2;
          }
          quote = 0;
          triple = false;
        }
        continue;
      }
      if (c == '#') {
        current.comment = std::string(physical.substr(i + 1));
        break;
      }
      if (c == '\'' || c == '"') {
        quote = c;
        triple = physical.substr(i, 3) == std::string(3, c);
        current.code += triple ? std::string(3, c) : std::string(1, c);
        if (triple) i += 2;
        continue;
      }
      if (c == '(' || c == '[' || c == '{') ++depth;
      if (c == ')' || c == ']' || c == '}') depth = std::max(0, depth - 1);
      if (c == '\\' && i + 1 == physical.size()) {
        continued = true;
        break;
      }
      current.code += c;
    }
    if (depth == 0 && quote == 0 && !continued) {
      while (!current.code.empty() && (current.code.back() == ' ' || current.code.back() == '\t')) current.code.pop_back();
      if (!current.code.empty() || !current.comment.empty()) lines.push_back(current);
    }
    if (end == text.size()) break;
  }
  return lines;
}

// ---- tokens --------------------------------------------------------------------------

enum class Kind { name, number, string, op, end };

struct Token {
  Kind kind = Kind::end;
  std::string text;  // a string's decoded value; else the token as written
};

struct Unsupported {
  std::string what;
};

// Whether `code` is a Lua statement: Python takes any value as a statement (`x`,
// `a + b`, `self.getBody()`), Lua only calls and assignments. Lua's own parser decides
// (compiled, never run).
bool is_lua_statement(const std::string& code) {
  struct State {
    lua_State* lua = luaL_newstate();
    ~State() { lua_close(lua); }
  };
  thread_local State state;
  if (state.lua == nullptr) return true;  // no memory for a parser: leave it to the user's load
  const bool ok = luaL_loadbufferx(state.lua, code.data(), code.size(), "=statement", "t") == LUA_OK;
  lua_settop(state.lua, 0);
  return ok;
}

std::string decode_python_string(std::string_view body, bool raw) {
  if (raw) return std::string(body);
  std::string out;
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\' || i + 1 == body.size()) {
      out += body[i];
      continue;
    }
    const char e = body[++i];
    switch (e) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case '0': out += '\0'; break;
      case '\\': out += '\\'; break;
      case '\'': out += '\''; break;
      case '"': out += '"'; break;
      case '\n': break;
      case 'x':
        if (i + 2 < body.size() + 0 && std::isxdigit(static_cast<unsigned char>(body[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(body[i + 2]))) {
          out += static_cast<char>(std::stoi(std::string(body.substr(i + 1, 2)), nullptr, 16));
          i += 2;
          break;
        }
        [[fallthrough]];
      default:
        out += '\\';
        out += e;
    }
  }
  return out;
}

std::vector<Token> tokenize(std::string_view code) {
  std::vector<Token> tokens;
  std::size_t i = 0;
  while (i < code.size()) {
    const char c = code[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      ++i;
      continue;
    }
    // String prefixes: r, u, b (f-strings are not converted).
    std::size_t prefix = 0;
    bool raw = false;
    while (prefix < 2 && i + prefix < code.size() && std::strchr("rRuUbBfF", code[i + prefix]) != nullptr) ++prefix;
    if (i + prefix < code.size() && (code[i + prefix] == '\'' || code[i + prefix] == '"') &&
        (prefix == 0 || !std::isalnum(static_cast<unsigned char>(code[i + prefix - 1])) || true)) {
      const std::string_view prefixes = code.substr(i, prefix);
      bool is_prefix = true;
      for (char p : prefixes) {
        if (p == 'f' || p == 'F') throw Unsupported{"an f-string"};
        if (p == 'r' || p == 'R') raw = true;
      }
      if (prefix > 0 && i > 0 && (std::isalnum(static_cast<unsigned char>(code[i - 1])) || code[i - 1] == '_')) {
        is_prefix = false;
      }
      if (is_prefix) {
        i += prefix;
        const char quote = code[i];
        const bool triple = code.substr(i, 3) == std::string(3, quote);
        const std::size_t open = triple ? 3 : 1;
        std::size_t j = i + open;
        while (j < code.size()) {
          if (code[j] == '\\') {
            j += 2;
            continue;
          }
          if (triple ? code.substr(j, 3) == std::string(3, quote) : code[j] == quote) break;
          ++j;
        }
        if (j >= code.size()) throw Unsupported{"a string that does not end"};
        tokens.push_back({Kind::string, decode_python_string(code.substr(i + open, j - i - open), raw)});
        i = j + open;
        continue;
      }
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t j = i;
      while (j < code.size() && (std::isalnum(static_cast<unsigned char>(code[j])) || code[j] == '_')) ++j;
      tokens.push_back({Kind::name, std::string(code.substr(i, j - i))});
      i = j;
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || (c == '.' && i + 1 < code.size() && std::isdigit(static_cast<unsigned char>(code[i + 1])))) {
      std::size_t j = i;
      while (j < code.size() && (std::isalnum(static_cast<unsigned char>(code[j])) || code[j] == '.')) ++j;
      tokens.push_back({Kind::number, std::string(code.substr(i, j - i))});
      i = j;
      continue;
    }
    static constexpr std::string_view kTwo[] = {"==", "!=", "<=", ">=", "**", "//", "+=", "-=", "*=", "/="};
    bool two = false;
    for (std::string_view op : kTwo) {
      if (code.substr(i, 2) == op) {
        tokens.push_back({Kind::op, std::string(op)});
        i += 2;
        two = true;
        break;
      }
    }
    if (two) continue;
    tokens.push_back({Kind::op, std::string(1, c)});
    ++i;
  }
  tokens.push_back({Kind::end, ""});
  return tokens;
}

// ---- expressions ---------------------------------------------------------------------

struct Value {
  Value(std::string t = {}, bool string = false) : text(std::move(t)), is_string(string) {}
  std::string text;
  bool is_string = false;
  bool multiple = false;  // several values (a credential: login, password)
  // Data(content_type, body), only as a request's params.
  std::optional<std::pair<std::string, std::string>> data;
  // A list literal's items, for params and ok_codes.
  bool is_list = false;
};

struct Context {
  std::set<std::string> methods;        // the class's own methods
  std::set<std::string> string_names;   // names and vu fields known to hold strings
};

class Expression {
 public:
  Expression(const std::vector<Token>& tokens, std::size_t start, Context& context)
      : tokens_(tokens), at_(start), context_(context) {}

  Value parse() { return binary(0); }
  std::size_t position() const { return at_; }
  const Token& peek(std::size_t ahead = 0) const { return tokens_[std::min(at_ + ahead, tokens_.size() - 1)]; }
  bool accept(std::string_view op) {
    if (peek().kind == Kind::op && peek().text == op) return ++at_, true;
    return false;
  }
  void expect(std::string_view op) {
    if (!accept(op)) throw Unsupported{fmt::format("expected '{}' near '{}'", op, peek().text)};
  }
  bool at_name(std::string_view name) const { return peek().kind == Kind::name && peek().text == name; }

 private:
  // Precedence climbing over Python's binary operators (lowest first).
  int precedence(const Token& t, bool* not_in) const {
    *not_in = false;
    if (t.kind == Kind::name) {
      if (t.text == "or") return 1;
      if (t.text == "and") return 2;
      if (t.text == "in" || t.text == "is") return 4;
      if (t.text == "not" && peek(1).kind == Kind::name && peek(1).text == "in") return *not_in = true, 4;
      return -1;
    }
    if (t.kind != Kind::op) return -1;
    if (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == ">" || t.text == "<=" || t.text == ">=") return 4;
    if (t.text == "+" || t.text == "-") return 5;
    if (t.text == "*" || t.text == "/" || t.text == "%" || t.text == "//") return 6;
    if (t.text == "**") return 8;
    return -1;
  }

  Value binary(int min) {
    Value left = unary();
    for (;;) {
      bool not_in = false;
      const int p = precedence(peek(), &not_in);
      if (p < 0 || p < min) return left;
      const std::string op = peek().text;
      ++at_;
      if (not_in) ++at_;
      bool is_not = false;
      if (op == "is" && at_name("not")) ++at_, is_not = true;
      Value right = binary(p + 1);
      left = combine(left, op, right, not_in, is_not);
    }
  }

  Value combine(const Value& l, const std::string& op, const Value& r, bool not_in, bool is_not) {
    if (op == "in") {
      std::string test = r.text == "vu:last().body" ? fmt::format("vu:last():contains({})", l.text)
                                                    : fmt::format("(string.find({}, {}, 1, true) ~= nil)", r.text, l.text);
      if (!r.is_string && r.text != "vu:last().body") throw Unsupported{"'in' on something other than a string"};
      return {not_in ? "not " + test : test};
    }
    if (op == "is") return {fmt::format("{} {} {}", l.text, is_not ? "~=" : "==", r.text)};
    if (op == "+" && (l.is_string || r.is_string)) return {fmt::format("{} .. {}", l.text, r.text), true};
    if (op == "%" && l.is_string) {
      std::string args = r.text;
      if (args.size() >= 2 && args.front() == '{' && r.is_list) args = args.substr(1, args.size() - 2);
      return {fmt::format("string.format({}, {})", l.text, args), true};
    }
    if (op == "!=") return {fmt::format("{} ~= {}", l.text, r.text)};
    if (op == "//") return {fmt::format("{} // {}", l.text, r.text)};
    if (op == "**") return {fmt::format("{} ^ {}", l.text, r.text)};
    return {fmt::format("{} {} {}", l.text, op, r.text)};
  }

  Value unary() {
    if (at_name("not")) {
      ++at_;
      return {"not " + binary(3).text};
    }
    if (accept("-")) return {"-" + unary().text};
    return postfix(atom());
  }

  std::vector<std::pair<std::string, Value>> arguments() {
    std::vector<std::pair<std::string, Value>> args;  // name empty: positional
    if (accept(")")) return args;
    for (;;) {
      std::string keyword;
      if (peek().kind == Kind::name && peek(1).kind == Kind::op && peek(1).text == "=") {
        keyword = peek().text;
        at_ += 2;
      }
      if (accept("*")) throw Unsupported{"*args"};
      args.emplace_back(keyword, parse());
      if (accept(")")) return args;
      expect(",");
      if (accept(")")) return args;
    }
  }

  Value atom() {
    const Token t = peek();
    ++at_;
    switch (t.kind) {
      case Kind::string: {
        std::string text = t.text;
        while (peek().kind == Kind::string) text += tokens_[at_++].text;  // 'a' 'b' is 'ab'
        return {lua_quote(text), true};
      }
      case Kind::number: return {t.text};
      case Kind::name:
        if (t.text == "True") return {"true"};
        if (t.text == "False") return {"false"};
        if (t.text == "None") return {"nil"};
        if (t.text == "lambda" || t.text == "yield" || t.text == "await") throw Unsupported{t.text};
        return {t.text, context_.string_names.contains(t.text)};
      case Kind::op:
        if (t.text == "(" || t.text == "[") {
          const std::string close = t.text == "(" ? ")" : "]";
          std::vector<std::string> items;
          bool comma = false;
          while (!accept(close)) {
            items.push_back(parse().text);
            if (accept(",")) {
              comma = true;
            } else {
              expect(close);
              break;
            }
          }
          if (t.text == "(" && !comma && items.size() == 1) return {"(" + items[0] + ")"};
          Value list{"{" + fmt::format("{}", fmt::join(items, ", ")) + "}"};
          list.is_list = true;
          return list;
        }
        if (t.text == "{") throw Unsupported{"a dict literal"};
        break;
      case Kind::end: break;
    }
    throw Unsupported{fmt::format("unexpected '{}'", t.text)};
  }

  static std::string arg_text(const std::vector<std::pair<std::string, Value>>& args, std::size_t from = 0) {
    std::vector<std::string> texts;
    for (std::size_t i = from; i < args.size(); ++i) texts.push_back(args[i].second.text);
    return fmt::format("{}", fmt::join(texts, ", "));
  }

  // self.get(url, params, description=..., ok_codes=..., load_auto_links=...)
  Value request(const std::string& method, std::vector<std::pair<std::string, Value>> args) {
    if (args.empty()) throw Unsupported{"a request without a URL"};
    std::string verb = method;
    if (method == "method") {  // self.method(METHOD, url, ...)
      verb = args[0].second.text;
      args.erase(args.begin());
      if (args.empty()) throw Unsupported{"a request without a URL"};
    }
    const std::string url = args[0].second.text;
    std::vector<std::string> options;
    const auto add_params = [&](const Value& v) {
      if (v.data) {
        options.push_back("body = " + v.data->second);
        options.push_back("content_type = " + v.data->first);
      } else if (v.text != "nil") {
        options.push_back("params = " + v.text);
      }
    };
    for (std::size_t i = 1; i < args.size(); ++i) {
      const auto& [keyword, value] = args[i];
      const std::string name = keyword.empty() ? (i == 1 ? "params" : i == 2 ? "description" : i == 3 ? "ok_codes" : "")
                                               : keyword;
      if (name == "params") add_params(value);
      else if (name == "description") options.push_back("description = " + value.text);
      else if (name == "ok_codes") options.push_back("ok_codes = " + value.text);
      else if (name == "load_auto_links") options.push_back("fetch_resources = " + value.text);
      else throw Unsupported{fmt::format("the request option '{}'", name)};
    }
    std::string lua_method = verb;
    static const std::set<std::string> kKnown{"get", "post", "put", "delete", "head", "options", "patch"};
    std::string call;
    if (method != "method" && kKnown.contains(method)) {
      call = fmt::format("vu:{}({}", method, url);
    } else {
      call = fmt::format("vu:request({}, {}", verb, url);
    }
    if (!options.empty()) call += fmt::format(", {{{}}}", fmt::join(options, ", "));
    return {call + ")"};
  }

  Value self_call(const std::string& name, std::vector<std::pair<std::string, Value>> args) {
    static const std::set<std::string> kRequests{"get", "post", "put", "delete", "head", "options", "patch", "method"};
    if (kRequests.contains(name)) return request(name, std::move(args));
    const std::string all = arg_text(args);
    if (name == "conf_get") return {fmt::format("conf_get({})", all), true};
    if (name == "conf_getInt" || name == "conf_getFloat") return {fmt::format("conf_get_number({})", all)};
    if (name == "conf_getList") return {fmt::format("conf_get_list({})", all)};
    if (name == "getBody") return {"vu:last().body", true};
    if (name == "getLastUrl") return {"vu:last().url", true};
    if (name == "assert_" || name == "assertTrue" || name == "failUnless") return {fmt::format("assert({})", all)};
    const std::size_t needed = name == "assertFalse" || name == "failIf"                ? 1
                               : name.starts_with("assertEqual") || name == "assertNotEqual" ? 2
                                                                                              : 0;
    if (args.size() < needed) throw Unsupported{fmt::format("self.{} with {} argument(s)", name, args.size())};
    if (name == "assertFalse" || name == "failIf") {
      return {fmt::format("assert(not ({}){}{})", args.at(0).second.text, args.size() > 1 ? ", " : "", arg_text(args, 1))};
    }
    if (name == "assertEqual" || name == "assertEquals") {
      return {fmt::format("assert({} == {}{}{})", args.at(0).second.text, args.at(1).second.text,
                          args.size() > 2 ? ", " : "", arg_text(args, 2))};
    }
    if (name == "assertNotEqual") {
      return {fmt::format("assert({} ~= {}{}{})", args.at(0).second.text, args.at(1).second.text,
                          args.size() > 2 ? ", " : "", arg_text(args, 2))};
    }
    if (name == "fail") return {fmt::format("fail({})", all)};
    if (name == "logd" || name == "logi" || name == "logdd") return {fmt::format("log({})", all)};
    if (name == "setBasicAuth") return {fmt::format("vu:basic_auth({})", all)};
    if (name == "clearBasicAuth") return {"vu:clear_basic_auth()"};
    if (name == "addHeader") return {fmt::format("vu:add_header({})", all)};
    if (name == "setHeader") return {fmt::format("vu:set_header({})", all)};
    if (name == "delHeader") return {fmt::format("vu:set_header({}, nil)", all)};
    if (name == "clearHeaders") return {"vu:clear_headers()"};
    if (name == "setUserAgent") return {fmt::format("vu:set_user_agent({})", all)};
    if (name == "sleep") return {"-- self.sleep(): the conf's sleep_time_min/max pause follows every page"};
    if (context_.methods.contains(name)) return {fmt::format("{}(vu{}{})", name, args.empty() ? "" : ", ", all)};
    throw Unsupported{fmt::format("self.{}()", name)};
  }

  Value call(const std::string& function, std::vector<std::pair<std::string, Value>> args) {
    const std::string all = arg_text(args);
    if (function == "Data") {
      if (args.size() != 2) throw Unsupported{"Data() without a content type and a body"};
      Value v{"nil"};
      v.data = std::make_pair(args[0].second.text, args[1].second.text);
      return v;
    }
    if (function == "str") return {fmt::format("tostring({})", all), true};
    if (function == "int" || function == "float") return {fmt::format("tonumber({})", all)};
    if (function == "len") return {fmt::format("#{}", all)};
    if (function == "extract_token") {
      if (args.size() != 3) throw Unsupported{"extract_token() without three arguments"};
      if (args[0].second.text == "vu:last().body") {
        return {fmt::format("vu:last():extract({}, {})", args[1].second.text, args[2].second.text), true};
      }
      throw Unsupported{"extract_token() on something other than self.getBody()"};
    }
    if (function == "xmlrpc_get_credential") {
      Value v{fmt::format("credential({})", args.size() >= 3 ? args[2].second.text : "")};
      v.multiple = true;
      return v;
    }
    if (function == "xmlrpc_list_credentials") return {fmt::format("credentials({})", args.size() >= 3 ? args[2].second.text : "")};
    if (function == "xmlrpc_get_seq") return {"credential_sequence()"};
    if (function == "time.sleep") return {fmt::format("vu:sleep({})", all)};
    if (function == "random.randint") return {fmt::format("math.random({})", all)};
    if (function == "random.random") return {"math.random()"};
    if (function == "random.choice") return {fmt::format("{0}[math.random(#{0})]", all)};
    throw Unsupported{fmt::format("{}()", function)};
  }

  Value postfix(Value value) {
    for (;;) {
      if (accept(".")) {
        if (peek().kind != Kind::name) throw Unsupported{"an attribute"};
        const std::string attribute = tokens_[at_++].text;
        if (value.text == "self") {
          if (accept("(")) {
            value = self_call(attribute, arguments());
            continue;
          }
          if (attribute == "thread_id") {
            value = {"vu.id"};
            continue;
          }
          value = {"vu." + attribute, context_.string_names.contains("vu." + attribute)};
          continue;
        }
        if (accept("(")) {
          const std::string dotted = value.text + "." + attribute;
          const auto args = arguments();
          // The string methods tests use most.
          if (value.is_string || attribute == "endswith" || attribute == "startswith") {
            if ((attribute == "endswith" || attribute == "startswith") && args.size() == 1) {
              const std::string& part = args[0].second.text;
              value = {attribute == "endswith" ? fmt::format("(string.sub({}, -#{}) == {})", value.text, part, part)
                                               : fmt::format("(string.sub({}, 1, #{}) == {})", value.text, part, part)};
              continue;
            }
            if ((attribute == "lower" || attribute == "upper") && args.empty()) {
              value = {fmt::format("string.{}({})", attribute, value.text), true};
              continue;
            }
            if (attribute == "strip" && args.empty()) {
              value = {fmt::format("({}):match(\"^%s*(.-)%s*$\")", value.text), true};
              continue;
            }
          }
          value = call(dotted, args);
          continue;
        }
        value = {value.text + "." + attribute};
        continue;
      }
      if (accept("(")) {
        value = call(value.text, arguments());
        continue;
      }
      if (accept("[")) {
        const Value index = parse();
        expect("]");
        // Python counts from 0, Lua from 1.
        value = {fmt::format("{}[{}]", value.text,
                             std::all_of(index.text.begin(), index.text.end(), ::isdigit)
                                 ? std::to_string(std::stoi(index.text) + 1)
                                 : index.text + " + 1")};
        continue;
      }
      return value;
    }
  }

  const std::vector<Token>& tokens_;
  std::size_t at_;
  Context& context_;
};

// ---- statements ----------------------------------------------------------------------

struct Block {
  int indent;           // the Python indent of the statement that opened it
  bool is_if = false;   // elif/else may continue it
};

struct Converter {
  std::string name;
  FunkLoadConversion* out;
  Context context;
  std::set<std::string> locals;

  std::string translate_expression(const std::vector<Token>& tokens, std::size_t start, std::size_t* end,
                                   Value* value = nullptr) {
    Expression e(tokens, start, context);
    Value v = e.parse();
    if (end) *end = e.position();
    if (value) *value = v;
    return v.text;
  }

  Value whole(const std::vector<Token>& tokens, std::size_t start) {
    Expression e(tokens, start, context);
    Value v = e.parse();
    if (e.peek().kind != Kind::end) throw Unsupported{fmt::format("unexpected '{}'", e.peek().text)};
    return v;
  }

  // One statement of a method, as Lua lines (no indentation), or an Unsupported.
  std::string statement(const std::string& code) {
    std::vector<Token> tokens = tokenize(code);
    const Token& first = tokens[0];
    if (first.kind == Kind::name) {
      if (first.text == "pass") return "";
      if (first.text == "return") return tokens[1].kind == Kind::end ? "return" : "return " + whole(tokens, 1).text;
      if (first.text == "if" || first.text == "elif" || first.text == "while") {
        if (tokens[tokens.size() - 2].text != ":") throw Unsupported{"a one-line block"};
        tokens.erase(tokens.end() - 2);
        const std::string condition = whole(tokens, 1).text;
        if (first.text == "while") return fmt::format("while {} do", condition);
        return fmt::format("{} {} then", first.text == "if" ? "if" : "elseif", condition);
      }
      if (first.text == "else") return "else";
      if (first.text == "for") {
        // for NAME in range(a[, b]):  |  for NAME in LIST:
        if (tokens.size() < 5 || tokens[1].kind != Kind::name || tokens[2].text != "in" ||
            tokens[tokens.size() - 2].text != ":") {
          throw Unsupported{"this for loop"};
        }
        const std::string variable = tokens[1].text;
        tokens.erase(tokens.end() - 2);
        if (tokens[3].text == "range" && tokens[4].text == "(") {
          std::vector<std::string> bounds;
          std::size_t at = 5;
          for (;;) {
            bounds.push_back(translate_expression(tokens, at, &at));
            if (tokens[at].text == ",") {
              ++at;
              continue;
            }
            break;
          }
          if (bounds.size() == 1) return fmt::format("for {} = 0, {} - 1 do", variable, bounds[0]);
          if (bounds.size() == 2) return fmt::format("for {} = {}, {} - 1 do", variable, bounds[0], bounds[1]);
          throw Unsupported{"range() with a step"};
        }
        return fmt::format("for _, {} in ipairs({}) do", variable, whole(tokens, 3).text);
      }
      static const std::set<std::string> kUnsupported{"try", "except", "finally", "with", "class", "def", "import",
                                                      "from", "global", "raise", "del", "yield", "lambda", "assert"};
      if (kUnsupported.contains(first.text)) {
        if (first.text == "assert") {
          const Value v = whole(tokens, 1);
          return "assert(" + v.text + ")";
        }
        throw Unsupported{"'" + first.text + "'"};
      }
    }
    if (first.kind == Kind::string && tokens[1].kind == Kind::end) {
      // A docstring: kept as a comment.
      std::string text = first.text;
      text = text.substr(0, text.find('\n'));
      return "-- " + text;
    }
    // Assignment: targets = value (one '=' at the top level).
    int depth = 0;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      const Token& t = tokens[i];
      if (t.kind != Kind::op) continue;
      if (t.text == "(" || t.text == "[" || t.text == "{") ++depth;
      if (t.text == ")" || t.text == "]" || t.text == "}") --depth;
      if (depth != 0) continue;
      if (t.text == "=" || t.text == "+=" || t.text == "-=") return assignment(tokens, i);
    }
    const Value v = whole(tokens, 0);
    if (!is_lua_statement(v.text)) throw Unsupported{"a value that is not a call"};
    return v.text;
  }

  std::string assignment(const std::vector<Token>& tokens, std::size_t equals) {
    std::vector<std::string> targets;
    std::vector<std::string> raw_targets;
    bool all_new = true;
    for (std::size_t i = 0; i < equals; ++i) {
      const Token& t = tokens[i];
      if (t.kind == Kind::op && t.text == ",") continue;
      if (t.kind == Kind::name && t.text == "self" && i + 2 < equals && tokens[i + 1].text == ".") {
        targets.push_back("vu." + tokens[i + 2].text);
        raw_targets.push_back("vu." + tokens[i + 2].text);
        all_new = false;
        i += 2;
        continue;
      }
      if (t.kind == Kind::name) {
        targets.push_back(t.text);
        raw_targets.push_back(t.text);
        if (locals.contains(t.text)) all_new = false;
        continue;
      }
      throw Unsupported{"this assignment target"};
    }
    const std::string op = tokens[equals].text;
    Value value = whole(tokens, equals + 1);
    if (op == "+=" || op == "-=") {
      if (targets.size() != 1) throw Unsupported{"this assignment"};
      const bool text = value.is_string || context.string_names.contains(targets[0]);
      return fmt::format("{0} = {0} {1} {2}", targets[0], op == "-=" ? "-" : text ? ".." : "+", value.text);
    }
    for (const std::string& target : raw_targets) {
      if (value.is_string) context.string_names.insert(target);
    }
    std::string line = fmt::format("{} = {}", fmt::join(targets, ", "), value.text);
    const bool declares = all_new && std::none_of(targets.begin(), targets.end(),
                                                  [](const std::string& t) { return t.starts_with("vu."); });
    if (declares) {
      for (const std::string& target : targets) locals.insert(target);
      line = "local " + line;
    }
    return line;
  }
};

// A converted statement as a chunk Lua can compile alone: a block's header closed, an
// elseif given its if.
std::string checkable(const std::string& statement) {
  if (statement == "else" || statement.empty() || statement.starts_with("--")) return "";
  if (statement.starts_with("elseif ")) return "if x then " + statement + " end";
  if (statement.ends_with(" do") || statement.ends_with(" then")) return statement + " end";
  return statement;
}

// Whether code follows line `i` in its block (a line as deep or deeper, before `end`).
bool continues_block(const std::vector<Line>& lines, std::size_t i, std::size_t end) {
  for (std::size_t j = i + 1; j < end; ++j) {
    if (lines[j].code.empty()) continue;
    return lines[j].indent >= lines[i].indent;
  }
  return false;
}

// A logical line may span lines (an open bracket, a triple-quoted string): in a Lua
// comment or a warning, its line breaks are shown as \n, so that each stays one line.
std::string shown(std::string_view code) {
  std::string text;
  for (const char c : code) {
    if (c == '\n') {
      text += "\\n";
    } else if (c == '\r') {
      text += "\\r";
    } else {
      text += c;
    }
  }
  return text;
}

// A name Lua can take for a function or a parameter.
bool is_lua_name(std::string_view name) {
  static const std::set<std::string, std::less<>> kReserved{
      "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
      "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while"};
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  const bool word = std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
  return word && !kReserved.contains(name);
}

std::string function_header(const std::string& method, const std::vector<std::string>& parameters, bool* is_test) {
  static const std::map<std::string, std::string> kHooks{
      {"setUp", "setup"},           {"tearDown", "teardown"},         {"setUpBench", "setup_bench"},
      {"tearDownBench", "teardown_bench"}, {"setUpCycle", "setup_cycle"}, {"tearDownCycle", "teardown_cycle"},
      {"midCycle", "mid_cycle"}};
  std::string params = "vu";
  for (const std::string& p : parameters) params += ", " + p;
  *is_test = method.starts_with("test");
  if (const auto hook = kHooks.find(method); hook != kHooks.end()) return fmt::format("function {}({})", hook->second, params);
  if (*is_test) return fmt::format("function {}({})", method, params);
  return fmt::format("local function {}({})", method, params);
}

}  // namespace

bool convert_funkload_test(std::string_view python, const std::string& name, FunkLoadConversion* out,
                           std::string* error) {
  const std::vector<Line> lines = logical_lines(python);
  // The test class.
  std::size_t class_line = lines.size();
  int class_indent = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& code = lines[i].code;
    if (code.starts_with("class ") && code.find("FunkLoadTestCase") != std::string::npos) {
      class_line = i;
      class_indent = lines[i].indent;
      const std::size_t open = code.find('(');
      out->class_name = code.substr(6, open == std::string::npos ? std::string::npos : open - 6);
      while (!out->class_name.empty() && out->class_name.back() == ' ') out->class_name.pop_back();
      break;
    }
  }
  if (class_line == lines.size()) {
    *error = fmt::format("{}: not a FunkLoad test (no class deriving from FunkLoadTestCase)", shown(name));
    return false;
  }

  // Its methods: (header line, first and last body line).
  struct Method {
    std::string name;
    std::vector<std::string> parameters;
    std::size_t header, begin, end;
    int indent;
  };
  std::vector<Method> methods;
  Converter converter;
  converter.name = name;
  converter.out = out;
  for (std::size_t i = class_line + 1; i < lines.size(); ++i) {
    const Line& line = lines[i];
    if (line.code.empty()) continue;
    if (line.indent <= class_indent) break;
    if (!line.code.starts_with("def ")) continue;
    const std::size_t open = line.code.find('(');
    const std::size_t close = line.code.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    Method m{line.code.substr(4, open - 4), {}, i, i + 1, i + 1, line.indent};
    m.name.erase(m.name.find_last_not_of(' ') + 1);
    std::string params = line.code.substr(open + 1, close - open - 1);
    std::size_t at = 0;
    while (at < params.size()) {
      std::size_t comma = params.find(',', at);
      std::string p = params.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
      p.erase(0, p.find_first_not_of(' '));
      p = p.substr(0, p.find_first_of(" =:"));
      if (!p.empty() && p != "self") m.parameters.push_back(p);
      if (comma == std::string::npos) break;
      at = comma + 1;
    }
    std::size_t j = i + 1;
    while (j < lines.size() && (lines[j].code.empty() || lines[j].indent > line.indent)) ++j;
    m.end = j;
    const bool lua_names = is_lua_name(m.name) && std::all_of(m.parameters.begin(), m.parameters.end(), is_lua_name);
    if (!lua_names) {
      // Not a method Python would run either (a header cut short, a stray bracket).
      std::string code = line.code.substr(0, line.code.find('\n'));
      out->warnings.push_back(fmt::format("{}:{}: not converted (a method header): {}", name, line.number, code));
      i = j - 1;
      continue;
    }
    methods.push_back(m);
    converter.context.methods.insert(m.name);
    i = j - 1;
  }

  std::string& lua = out->lua;
  lua += fmt::format("-- Converted by bench-record from {} (FunkLoad test class {}).\n", shown(name),
                     shown(out->class_name));
  lua += "-- The Lua API is in docs/lua-api.md; docs/funkload.md maps FunkLoad's calls to it.\n";
  // Helpers first: a local function must be defined before the functions that call it.
  std::stable_partition(methods.begin(), methods.end(), [](const Method& m) {
    bool test = false;
    const std::string header = function_header(m.name, m.parameters, &test);
    return header.starts_with("local ");
  });
  for (const Method& m : methods) {
    bool is_test = false;
    lua += "\n" + function_header(m.name, m.parameters, &is_test) + "\n";
    if (is_test) out->tests.push_back(m.name);
    converter.locals.clear();
    for (const std::string& p : m.parameters) converter.locals.insert(p);
    std::vector<Block> blocks;
    const int body_indent = m.indent + 1;
    const auto pad = [&](std::size_t depth) { return std::string(2 * (depth + 1), ' '); };
    int skipped_block = -1;  // the indent of a block statement that was not converted
    for (std::size_t i = m.begin; i < m.end; ++i) {
      const Line& line = lines[i];
      if (skipped_block >= 0 && !line.code.empty()) {
        const bool continuation = line.indent == skipped_block &&
                                  (line.code.starts_with("elif ") || line.code.starts_with("else") ||
                                   line.code.starts_with("except") || line.code.starts_with("finally"));
        if (line.indent > skipped_block || continuation) {
          lua += pad(blocks.size()) + "-- not converted: " + shown(line.code) + "\n";
          continue;
        }
        skipped_block = -1;
      }
      if (line.code.empty()) {
        lua += pad(blocks.size()) + "--" + shown(line.comment) + "\n";
        continue;
      }
      const bool continues = line.code.starts_with("elif ") || line.code == "else:";
      while (!blocks.empty() && line.indent <= blocks.back().indent &&
             !(continues && line.indent == blocks.back().indent && blocks.back().is_if)) {
        blocks.pop_back();
        lua += pad(blocks.size()) + "end\n";
      }
      ++out->statements;
      std::string converted;
      try {
        converted = converter.statement(line.code);
        // Python code after a return is dead but allowed; Lua wants return last in a block.
        if (converted.starts_with("return") && continues_block(lines, i, m.end)) converted = "do " + converted + " end";
        if (!is_lua_statement(checkable(converted))) throw Unsupported{"what Lua cannot take as it is"};
        // else/elif belong to an if still open at their depth (not a for's or while's else,
        // nor an if that a line not converted has closed).
        const bool branch = converted == "else" || converted.starts_with("elseif ");
        if (branch && (blocks.empty() || !blocks.back().is_if || blocks.back().indent != line.indent)) {
          throw Unsupported{"an else without its if"};
        }
        if (converted == "else") blocks.back().is_if = false;  // nothing may follow an else
        ++out->converted;
      } catch (const Unsupported& u) {
        out->warnings.push_back(
            fmt::format("{}:{}: not converted ({}): {}", name, line.number, shown(u.what), shown(line.code)));
        lua += pad(blocks.size()) + "-- not converted (" + shown(u.what) + "): " + shown(line.code) + "\n";
        // A block's statements go with it: half a block would change what the test does.
        if (line.code.ends_with(":")) skipped_block = line.indent;
        continue;
      }
      const std::size_t depth = continues && !blocks.empty() ? blocks.size() - 1 : blocks.size();
      if (!converted.empty()) {
        lua += pad(depth) + converted + (line.comment.empty() ? "" : "  --" + shown(line.comment)) + "\n";
      }
      const bool opens = converted.ends_with(" then") || converted.ends_with(" do") || converted == "else";
      if (opens && !continues) blocks.push_back({line.indent, converted.starts_with("if ")});
    }
    while (!blocks.empty()) {
      blocks.pop_back();
      lua += pad(blocks.size()) + "end\n";
    }
    (void)body_indent;
    lua += "end\n";
  }
  if (out->tests.empty()) {
    *error = fmt::format("{}: class {} has no test method (test_*)", shown(name), shown(out->class_name));
    return false;
  }
  return true;
}

}  // namespace bm::record
