#include <iostream>

#include "app/commands.hpp"
#include "demo/demo_server.hpp"

#include <CLI/CLI.hpp>

namespace bm::app {

int cmd_demo_server(const Args& args, const std::string& prog) {
  CLI::App app{"Serve the bundled demo target (a small shop, delays, status codes, hostile endpoints).", prog};
  demo::DemoOptions options;
  app.add_option("--host", options.host, "address to bind (default 127.0.0.1: loopback only)");
  app.add_option("-p,--port", options.port, "port to listen on, 0 for any free port (default 8080)");
  app.add_option("--threads", options.threads, "server threads (default 1)")->check(CLI::Range(1, 64));
  app.add_option("--ready-file", options.ready_file, "write the base URL into this file once listening");
  app.add_flag("-q,--quiet", options.quiet, "no log lines");
  app.add_option("--max-concurrent", options.max_concurrent,
                 "serve at most N requests at once, the others wait in turn (default 0: no limit)")
      ->check(CLI::Range(0, 1000000));
  if (int code = parse_options(app, args, prog); code >= 0) return code;
  return demo::run_demo_server(options);
}

}  // namespace bm::app
