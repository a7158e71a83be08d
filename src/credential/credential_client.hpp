#pragma once
// The credential server's client, as a worker thread uses it: asynchronous on the
// worker's io_context (a virtual user waiting for a lease never holds the thread), with
// a small pool of keep-alive connections, and a deadline on every call so a server that
// is down or stuck gives an error, never a hang.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

namespace bm::credential {

struct ClientReply {
  int status = 0;       // HTTP status; 0 when no answer came
  nlohmann::json body;  // the JSON answer (null when it was not JSON)
  std::string error;    // one line when the call failed (no answer, or not 2xx); else empty
};

class CredentialClient {
 public:
  CredentialClient(boost::asio::io_context& io, std::string host, uint16_t port);
  ~CredentialClient();
  CredentialClient(const CredentialClient&) = delete;
  CredentialClient& operator=(const CredentialClient&) = delete;

  // "127.0.0.1:8007", for messages.
  const std::string& address() const;

  class Call {
   public:
    virtual ~Call() = default;
    // `done` will not be called; the connection is closed. Safe after completion.
    virtual void cancel() = 0;
  };
  // GET or POST `target` ("/lease?group=a"); `done` runs on the io_context's thread with
  // the reply, within timeout (plus scheduling). A null `done` fires and forgets.
  std::shared_ptr<Call> call(bool post, std::string target, std::chrono::milliseconds timeout,
                             std::function<void(ClientReply)> done);

  // Runs `done` once no call is in flight, or after `limit`: a worker that stops lets the
  // leases its users returned on the way out reach the server first.
  void when_idle(std::chrono::milliseconds limit, std::function<void()> done);

  // Percent-encodes a query value.
  static std::string encode(std::string_view value);

  struct Shared;  // the io_context, the address and the pool (the .cpp's)

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace bm::credential
