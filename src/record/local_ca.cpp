#include "record/local_ca.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace bm::record {

namespace fs = std::filesystem;

namespace {

std::string openssl_error(std::string_view what) {
  const unsigned long code = ERR_get_error();
  char text[256] = "unknown error";
  if (code != 0) ERR_error_string_n(code, text, sizeof text);
  ERR_clear_error();
  return fmt::format("{}: {}", what, text);
}

struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CertFree {
  void operator()(X509* cert) const { X509_free(cert); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

Key new_key() { return Key(EVP_EC_gen("P-256")); }

bool add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
  if (extension == nullptr) return false;
  const bool ok = X509_add_ext(cert, extension, -1) == 1;
  X509_EXTENSION_free(extension);
  return ok;
}

// A certificate for `key` named `common_name`, valid from a day ago for `days`, signed by
// `issuer_key` (self-signed when issuer is null).
Cert make_certificate(EVP_PKEY* key, const std::string& common_name, X509* issuer, EVP_PKEY* issuer_key, int days,
                      bool ca, const std::string& subject_alt_name) {
  Cert cert(X509_new());
  if (!cert) return nullptr;
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;  // positive
  BIGNUM* number = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(number, X509_get_serialNumber(cert.get()));
  BN_free(number);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -86400);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 86400);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("bench-record"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                             -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  bool ok = true;
  if (ca) {
    ok = add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
         add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign") &&
         add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
  } else {
    ok = add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE") &&
         add_extension(cert.get(), signer, NID_key_usage, "critical,digitalSignature,keyEncipherment") &&
         add_extension(cert.get(), signer, NID_ext_key_usage, "serverAuth") &&
         add_extension(cert.get(), signer, NID_subject_alt_name, subject_alt_name.c_str());
  }
  if (ok) ok = add_extension(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
  if (!ok || X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) return nullptr;
  return cert;
}

}  // namespace

struct LocalCa::Keys {
  Key key;
  Cert cert;
};

LocalCa::~LocalCa() = default;

std::unique_ptr<LocalCa> LocalCa::load_or_create(const fs::path& folder, std::string* error) {
  std::unique_ptr<LocalCa> ca(new LocalCa());
  ca->keys_ = std::make_unique<Keys>();
  ca->certificate_path_ = folder / "bench-record-ca.pem";
  const fs::path key_path = folder / "bench-record-ca.key";
  std::error_code ec;
  if (fs::exists(key_path, ec) && fs::exists(ca->certificate_path_, ec)) {
    FILE* key_file = std::fopen(key_path.c_str(), "r");
    FILE* cert_file = std::fopen(ca->certificate_path_.c_str(), "r");
    if (key_file) ca->keys_->key.reset(PEM_read_PrivateKey(key_file, nullptr, nullptr, nullptr));
    if (cert_file) ca->keys_->cert.reset(PEM_read_X509(cert_file, nullptr, nullptr, nullptr));
    if (key_file) std::fclose(key_file);
    if (cert_file) std::fclose(cert_file);
    if (!ca->keys_->key || !ca->keys_->cert || X509_check_private_key(ca->keys_->cert.get(), ca->keys_->key.get()) != 1) {
      *error = openssl_error(fmt::format("cannot use the CA in {} and {} (remove both to make a new one)",
                                         key_path.string(), ca->certificate_path_.string()));
      return nullptr;
    }
    return ca;
  }
  ca->keys_->key = new_key();
  if (!ca->keys_->key) {
    *error = openssl_error("cannot make the CA's key");
    return nullptr;
  }
  ca->keys_->cert = make_certificate(ca->keys_->key.get(), "bench-record local CA", nullptr, nullptr, 825, true, "");
  if (!ca->keys_->cert) {
    *error = openssl_error("cannot make the CA's certificate");
    return nullptr;
  }
  // The key is created 0600 from the start, never widened later.
  const int fd = ::open(key_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  FILE* key_file = fd >= 0 ? ::fdopen(fd, "w") : nullptr;
  if (key_file == nullptr || PEM_write_PrivateKey(key_file, ca->keys_->key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      std::fclose(key_file) != 0) {
    *error = fmt::format("cannot write {}: {}", key_path.string(), std::strerror(errno));
    if (fd >= 0) fs::remove(key_path, ec);
    return nullptr;
  }
  FILE* cert_file = std::fopen(ca->certificate_path_.c_str(), "w");
  if (cert_file == nullptr || PEM_write_X509(cert_file, ca->keys_->cert.get()) != 1 || std::fclose(cert_file) != 0) {
    *error = fmt::format("cannot write {}", ca->certificate_path_.string());
    return nullptr;
  }
  ca->created_ = true;
  return ca;
}

std::shared_ptr<boost::asio::ssl::context> LocalCa::server_context(const std::string& host, std::string* error) {
  std::lock_guard lock(mutex_);
  if (auto found = contexts_.find(host); found != contexts_.end()) return found->second;
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  const std::string alt_name = (ec ? "DNS:" : "IP:") + host;
  Key key = new_key();
  Cert cert = key ? make_certificate(key.get(), host, keys_->cert.get(), keys_->key.get(), 30, false, alt_name) : nullptr;
  if (!cert) {
    *error = openssl_error(fmt::format("cannot make a certificate for {}", host));
    return nullptr;
  }
  auto context = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
  SSL_CTX* native = context->native_handle();
  if (SSL_CTX_use_certificate(native, cert.get()) != 1 || SSL_CTX_use_PrivateKey(native, key.get()) != 1 ||
      SSL_CTX_add1_chain_cert(native, keys_->cert.get()) != 1) {
    *error = openssl_error(fmt::format("cannot serve TLS for {}", host));
    return nullptr;
  }
  contexts_[host] = context;
  return context;
}

}  // namespace bm::record
