#pragma once
// bench-record --intercept's certificate authority: a CA made once in the output folder
// (bench-record-ca.pem for the user to trust, bench-record-ca.key created 0600 and never
// copied anywhere), and a certificate per host it is asked for, signed by it, kept in
// memory only. OpenSSL 3 (EVP) does the cryptography.
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/ssl/context.hpp>

namespace bm::record {

class LocalCa {
 public:
  // Reads the CA from `folder`, or makes it there when absent. One line in *error.
  static std::unique_ptr<LocalCa> load_or_create(const std::filesystem::path& folder, std::string* error);
  ~LocalCa();
  LocalCa(const LocalCa&) = delete;
  LocalCa& operator=(const LocalCa&) = delete;

  const std::filesystem::path& certificate_path() const { return certificate_path_; }
  bool created() const { return created_; }

  // A TLS server context presenting a certificate for `host` (a name or an IP address)
  // signed by this CA; made once per host. nullptr with *error when OpenSSL fails.
  std::shared_ptr<boost::asio::ssl::context> server_context(const std::string& host, std::string* error);

 private:
  LocalCa() = default;
  struct Keys;
  std::unique_ptr<Keys> keys_;
  std::filesystem::path certificate_path_;
  bool created_ = false;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<boost::asio::ssl::context>> contexts_;
};

}  // namespace bm::record
