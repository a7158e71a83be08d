#pragma once
// FunkLoad tests (test_Name.py, in the shape fl-record generated and people then edited)
// converted to test_Name.lua, statement by statement:
//   class Name(FunkLoadTestCase) methods   -> functions: test_* keep their names, setUp ->
//                                              setup, tearDown -> teardown, setUpBench ->
//                                              setup_bench, ...; other methods -> local
//                                              functions taking vu
//   self.get/post/put/delete/head(url, params=[[k, v]], description=, ok_codes=)
//                                          -> vu:get(url, {params = {{k, v}}, ...})
//   Data(content_type, body)               -> body = ..., content_type = ...
//   self.conf_get/conf_getInt/conf_getFloat/conf_getList
//                                          -> conf_get, conf_get_number, conf_get_list
//   self.assert_(x, msg), self.getBody(), 'x' in self.getBody(), extract_token(...)
//                                          -> assert(x, msg), vu:last().body,
//                                             vu:last():contains("x"), vu:last():extract(...)
//   self.setBasicAuth, addHeader, setHeader, clearHeaders, setUserAgent, logd/logi,
//   xmlrpc_get_credential(host, port, group) -> vu:basic_auth, ..., log, credential(group)
//   self.x                                 -> vu.x;   a + b with a string -> a .. b
//   if/elif/else, for x in range(n), while -> Lua blocks
// What it cannot convert stays as a commented line, and a warning names its line.
#include <string>
#include <string_view>
#include <vector>

namespace bm::record {

struct FunkLoadConversion {
  std::string lua;
  std::string class_name;              // "Shop"
  std::vector<std::string> tests;      // the test_* functions
  std::vector<std::string> warnings;   // "test_Shop.py:42: not converted: ..."
  int statements = 0, converted = 0;
};

// `name` is what messages call the file. An error (one line) when the text is not a
// FunkLoad test: no class deriving from FunkLoadTestCase.
bool convert_funkload_test(std::string_view python, const std::string& name, FunkLoadConversion* out,
                           std::string* error);

}  // namespace bm::record
