#include "storage/s3_media_store.h"

#include <curl/curl.h>
#include <expat.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/crypto.h"
#include "base/curl_ready.h"
#include "base/printable.h"

namespace recorder::server {
namespace {

// An error answer or a listing page (1000 keys is a few hundred KiB); more is not S3.
constexpr size_t kMaxXmlBytes = size_t{8} << 20;
constexpr size_t kDigestBuffer = size_t{1} << 20;

// AWS's URI encoding (what SigV4 signs and S3 expects): unreserved bytes as they are, every
// other byte %XX; a key keeps its '/' so that each path segment is encoded on its own.
std::string UriEncode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// Calls `on_element(path, text)` at the end of every element, the path being the names from the
// root ("ListBucketResult/Contents/Key") and the text the element's own character data.
// Corrupt when `xml` is not well-formed. Expat loads no external entities.
class XmlWalker {
 public:
  using Callback = std::function<void(const std::string& path, const std::string& text)>;
  static Status Walk(std::string_view xml, const Callback& on_element) {
    std::unique_ptr<XML_ParserStruct, decltype(&XML_ParserFree)> parser(XML_ParserCreate(nullptr), XML_ParserFree);
    if (!parser) return Internal("XML_ParserCreate failed");
    XmlWalker walker(on_element);
    XML_SetUserData(parser.get(), &walker);
    XML_SetElementHandler(parser.get(), Start, End);
    XML_SetCharacterDataHandler(parser.get(), Text);
    if (XML_Parse(parser.get(), xml.data(), static_cast<int>(xml.size()), 1) != XML_STATUS_OK) {
      return Corrupt(std::string("S3 answered XML that does not parse: ") +
                     XML_ErrorString(XML_GetErrorCode(parser.get())));
    }
    return Status::Ok();
  }

 private:
  explicit XmlWalker(const Callback& on_element) : on_element_(on_element) {}
  static void Start(void* self, const XML_Char* name, const XML_Char**) {
    auto* w = static_cast<XmlWalker*>(self);
    w->path_.push_back(w->path_.empty() ? name : "/" + std::string(name));
    w->text_.clear();
  }
  static void End(void* self, const XML_Char*) {
    auto* w = static_cast<XmlWalker*>(self);
    std::string path;
    for (const std::string& part : w->path_) path += part;
    w->on_element_(path, w->text_);
    w->path_.pop_back();
    w->text_.clear();
  }
  static void Text(void* self, const XML_Char* s, int n) { static_cast<XmlWalker*>(self)->text_.append(s, n); }

  const Callback& on_element_;
  std::vector<std::string> path_;
  std::string text_;
};

// What a browser is told the object is, should it ever fetch it directly (presigned URLs).
std::string ContentType(const std::string& key) {
  auto ends_with = [&](std::string_view suffix) {
    return key.size() >= suffix.size() && key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with(".webm")) return "video/webm";
  if (ends_with(".vtt")) return "text/vtt";
  return "application/octet-stream";
}

// "2026-12-07T00:23:03.000Z" as Unix seconds; 0 when it does not parse.
int64_t ParseIsoTime(const std::string& text) {
  std::tm tm{};
  if (std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                  &tm.tm_sec) != 6) {
    return 0;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm));
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// The raw MD5 of `bytes`.
Result<std::string> Md5(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &size, EVP_md5(), nullptr) != 1) return Internal("MD5 failed");
  return std::string(reinterpret_cast<char*>(md), size);
}

// The raw MD5 of [offset, offset + length) of `fd`, read a megabyte at a time.
Result<std::string> FileMd5(int fd, uint64_t offset, uint64_t length) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr) != 1) return Internal("MD5 is not available");
  std::string buffer(kDigestBuffer, '\0');
  while (length > 0) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(length, buffer.size()));
    const ssize_t got = ::pread(fd, buffer.data(), want, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return IoError(std::string("reading the scratch file: ") + (got < 0 ? strerror(errno) : "short"));
    EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<size_t>(got));
    offset += static_cast<uint64_t>(got);
    length -= static_cast<uint64_t>(got);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(ctx.get(), md, &size) != 1) return Internal("MD5 failed");
  return std::string(reinterpret_cast<char*>(md), size);
}

// One S3 request. The body goes out from a file range (pread, as curl asks for it) or a string;
// a 2xx answer's body goes into `out` (a ranged GET) or `body`, an error's always into `body`.
struct Call {
  const char* method = "GET";
  std::string url;
  std::vector<std::string> headers;
  // Request body.
  bool has_body = false;
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;
  std::string text;
  std::string_view bytes;  // instead of `text`: a body the caller keeps alive
  uint64_t sent = 0;
  // Answer.
  char* out = nullptr;
  size_t out_size = 0;
  size_t out_written = 0;
  bool overflow = false;
  long status = 0;
  std::string body;
  std::string etag;
  CURL* curl = nullptr;
};

size_t ReadBody(char* buffer, size_t size, size_t count, void* arg) {
  auto* call = static_cast<Call*>(arg);
  const uint64_t left = call->length - call->sent;
  const size_t want = static_cast<size_t>(std::min<uint64_t>(left, size * count));
  if (want == 0) return 0;
  if (call->fd < 0) {
    const char* body = call->bytes.data() ? call->bytes.data() : call->text.data();
    std::memcpy(buffer, body + call->sent, want);
    call->sent += want;
    return want;
  }
  ssize_t got;
  do {
    got = ::pread(call->fd, buffer, want, static_cast<off_t>(call->offset + call->sent));
  } while (got < 0 && errno == EINTR);
  if (got <= 0) return CURL_READFUNC_ABORT;  // the file shrank or failed: never send a short body
  call->sent += static_cast<uint64_t>(got);
  return static_cast<size_t>(got);
}

// curl rewinds when it must send the body again (a redirect, an auth round).
int SeekBody(void* arg, curl_off_t offset, int origin) {
  auto* call = static_cast<Call*>(arg);
  if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > call->length) return CURL_SEEKFUNC_FAIL;
  call->sent = static_cast<uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

size_t WriteAnswer(char* data, size_t size, size_t count, void* arg) {
  auto* call = static_cast<Call*>(arg);
  const size_t n = size * count;
  long status = 0;
  curl_easy_getinfo(call->curl, CURLINFO_RESPONSE_CODE, &status);
  if (call->out && status / 100 == 2) {
    if (n > call->out_size - call->out_written) {
      call->overflow = true;
      return 0;  // more than the range asked for: abort
    }
    std::memcpy(call->out + call->out_written, data, n);
    call->out_written += n;
    return n;
  }
  if (call->body.size() + n > kMaxXmlBytes) {
    call->overflow = true;
    return 0;
  }
  call->body.append(data, n);
  return n;
}

size_t ReadHeader(char* data, size_t size, size_t count, void* arg) {
  auto* call = static_cast<Call*>(arg);
  std::string_view line(data, size * count);
  if (line.size() > 5 && strncasecmp(line.data(), "etag:", 5) == 0) {
    line.remove_prefix(5);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n' || line.back() == ' ')) line.remove_suffix(1);
    call->etag = std::string(line);
  }
  return size * count;
}

// The Code and Message of an S3 error answer ("" when there is none, as for HEAD).
std::string ErrorDetail(const std::string& body) {
  if (body.empty()) return "";
  std::string code, message;
  Status parsed = XmlWalker::Walk(body, [&](const std::string& path, const std::string& text) {
    if (path == "Error/Code") code = text;
    if (path == "Error/Message") message = text;
  });
  if (!parsed.ok() || code.empty()) return "";
  return Printable(code.substr(0, 100)) + (message.empty() ? "" : ": " + Printable(message.substr(0, 300)));
}

}  // namespace

void FillS3ConfigFromEnvironment(S3Config* config) {
  auto env = [](const char* name) -> std::string {
    const char* value = std::getenv(name);
    return value ? value : "";
  };
  if (config->access_key_id.empty()) config->access_key_id = env("AWS_ACCESS_KEY_ID");
  if (config->secret_access_key.empty()) config->secret_access_key = env("AWS_SECRET_ACCESS_KEY");
  if (config->region.empty()) config->region = env("AWS_REGION");
  if (config->region.empty()) config->region = env("AWS_DEFAULT_REGION");
  if (config->region.empty()) config->region = "us-east-1";
  if (config->endpoint.empty()) config->endpoint = env("AWS_ENDPOINT_URL");
  if (config->endpoint.empty()) config->endpoint = "https://s3." + config->region + ".amazonaws.com";
}

// The store's HTTP side: URLs, one curl handle per call (or per reader), status mapping.
class S3Client {
 public:
  explicit S3Client(const S3Config* config) : config_(config) {}

  // ENDPOINT/BUCKET/ENCODED-KEY (path style) or SCHEME://BUCKET.HOST/ENCODED-KEY; `query` is
  // already canonical (names sorted, values encoded), as curl 7.88 signs the query as given.
  std::string Url(const std::string& key, const std::string& query) const {
    std::string url;
    const std::string& e = config_->endpoint;
    if (config_->path_style) {
      url = e + "/" + UriEncode(config_->bucket, false) + "/" + UriEncode(key, true);
    } else {
      const size_t host = e.find("://") + 3;
      url = e.substr(0, host) + config_->bucket + "." + e.substr(host) + "/" + UriEncode(key, true);
    }
    if (!query.empty()) url += "?" + query;
    return url;
  }
  std::string ObjectUrl(const std::string& key, const std::string& query = "") const {
    return Url(config_->prefix + key, query);
  }
  std::string BucketUrl(const std::string& query) const {
    std::string url = Url("", "");
    if (config_->path_style) url.pop_back();  // ENDPOINT/BUCKET, not ENDPOINT/BUCKET/
    return query.empty() ? url : url + "?" + query;
  }

  // Runs `call` with `curl` (reset first). Ok with call->status set whenever an answer came;
  // IoError when none did (no connection, timeout, cut answer).
  Status Perform(CURL* curl, Call& call) const {
    curl_easy_reset(curl);
    call.curl = curl;
    call.status = 0;
    call.sent = 0;
    call.body.clear();
    call.etag.clear();
    call.out_written = 0;
    call.overflow = false;
    std::vector<std::string> lines = call.headers;
    // curl 7.88 signs this value instead of hashing the body (which it cannot do for a body it
    // reads from a callback); a single PUT's integrity comes from Content-MD5 instead.
    lines.push_back("x-amz-content-sha256: UNSIGNED-PAYLOAD");
    curl_slist* list = nullptr;
    for (const std::string& line : lines) list = curl_slist_append(list, line.c_str());
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(list, curl_slist_free_all);
    const std::string sigv4 = "aws:amz:" + config_->region + ":s3";
    char error[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, call.url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);  // sign and send the path exactly as encoded
    curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4.c_str());
    curl_easy_setopt(curl, CURLOPT_USERNAME, config_->access_key_id.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, config_->secret_access_key.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list.get());
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "interview-recorder/1");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    // No overall timeout (a part of 64 MiB may take minutes); a stalled transfer ends after 60 s.
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, WriteAnswer);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &call);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, ReadHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &call);
    const std::string_view method = call.method;
    if (method == "HEAD") {
      curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (method == "PUT") {
      curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(call.length));
    } else if (method == "POST") {
      curl_easy_setopt(curl, CURLOPT_POST, 1L);
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(call.length));
    } else if (method != "GET") {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, call.method);
    }
    if (call.has_body) {
      curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadBody);
      curl_easy_setopt(curl, CURLOPT_READDATA, &call);
      curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, SeekBody);
      curl_easy_setopt(curl, CURLOPT_SEEKDATA, &call);
    }
    const CURLcode code = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &call.status);
    // The handle outlives this call (a reader keeps it): no pointers into this frame stay set.
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
    if (code != CURLE_OK) {
      std::string why = error[0] ? error : curl_easy_strerror(code);
      if (call.overflow) why = "the answer was larger than expected";
      return IoError("S3 " + std::string(call.method) + " " + Printable(call.url.substr(0, 300)) + ": " + why);
    }
    return Status::Ok();
  }

  // The Status for an answer that is not the expected success; `what` names the operation.
  static Status HttpError(const std::string& what, const Call& call) {
    std::string message = what + ": HTTP " + std::to_string(call.status);
    const std::string detail = ErrorDetail(call.body);
    if (!detail.empty()) message += " " + detail;
    if (call.status >= 500 || call.status == 429 || call.status == 408) return IoError(message);
    if (call.status == 404) return NotFound(message);
    if (call.status == 401 || call.status == 403) return FailedPrecondition(message);
    return Internal(message);
  }

 private:
  const S3Config* config_;
};

namespace {

// Idle curl handles, each with its open connection to the endpoint: a chunk's PUT (one a second
// per recording with a shared spool) reuses one instead of opening a TCP connection. Bounded; a
// handle past the bound is closed.
class CurlPool {
 public:
  static CurlPool& Get() {
    static CurlPool pool;
    return pool;
  }
  ~CurlPool() {
    for (CURL* curl : idle_) curl_easy_cleanup(curl);
  }
  CURL* Take() {
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        CURL* curl = idle_.back();
        idle_.pop_back();
        curl_easy_reset(curl);  // options back to defaults; the connection stays
        return curl;
      }
    }
    return curl_easy_init();
  }
  void Give(CURL* curl) {
    {
      std::lock_guard lock(mu_);
      if (idle_.size() < kMaxIdle) {
        idle_.push_back(curl);
        return;
      }
    }
    curl_easy_cleanup(curl);
  }

 private:
  static constexpr size_t kMaxIdle = 64;
  std::mutex mu_;
  std::vector<CURL*> idle_;
};

struct GiveBackCurl {
  void operator()(CURL* curl) const { CurlPool::Get().Give(curl); }
};
using CurlHandle = std::unique_ptr<CURL, GiveBackCurl>;

CurlHandle NewCurl() { return CurlHandle(CurlPool::Get().Take()); }

// Reads one object by ranged GETs on one connection. If-Match pins the version opened: an object
// replaced meanwhile fails the read (412) instead of mixing bytes of two versions.
class S3Reader : public RandomAccessReader {
 public:
  S3Reader(S3Client client, std::string url, uint64_t size, std::string etag)
      : client_(client), url_(std::move(url)), size_(size), etag_(std::move(etag)) {}
  uint64_t size() const override { return size_; }
  Status ReadAt(uint64_t offset, void* out, size_t n) override {
    if (offset > size_ || n > size_ - offset) return IoError("read past the end of the object");
    if (n == 0) return Status::Ok();
    if (!curl_) return IoError("curl_easy_init failed");
    Call call;
    call.url = url_;
    call.headers.push_back("Range: bytes=" + std::to_string(offset) + "-" + std::to_string(offset + n - 1));
    if (!etag_.empty()) call.headers.push_back("If-Match: " + etag_);
    call.out = static_cast<char*>(out);
    call.out_size = n;
    RETURN_IF_ERROR(client_.Perform(curl_.get(), call));
    if (call.status != 206 && !(call.status == 200 && offset == 0 && n == size_)) {
      Status s = S3Client::HttpError("S3 ranged GET", call);
      return IoError(s.message());  // the object was opened: any failure now is a failed read
    }
    if (call.out_written != n) return IoError("S3 ranged GET: short answer");
    return Status::Ok();
  }

 private:
  S3Client client_;
  std::string url_;
  uint64_t size_;
  std::string etag_;
  CurlHandle curl_ = NewCurl();
};

struct Head {
  uint64_t size = 0;
  std::string etag;
};

}  // namespace

Result<std::unique_ptr<S3MediaStore>> S3MediaStore::Create(S3Config config) {
  EnsureCurlReady();
  while (!config.endpoint.empty() && config.endpoint.back() == '/') config.endpoint.pop_back();
  const std::string& e = config.endpoint;
  const size_t scheme = e.find("://");
  if ((e.rfind("http://", 0) != 0 && e.rfind("https://", 0) != 0) ||
      e.find_first_of("/?#@ ", scheme + 3) != std::string::npos || e.size() == scheme + 3) {
    return InvalidArgument("S3 endpoint must be http(s)://HOST[:PORT], got " + Printable(e.substr(0, 200)));
  }
  if (config.bucket.empty()) return InvalidArgument("S3 bucket is not set");
  if (config.region.empty()) return InvalidArgument("S3 region is not set");
  if (config.access_key_id.empty() || config.secret_access_key.empty()) {
    return InvalidArgument("S3 credentials are not set (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)");
  }
  // S3's limits: parts of 5 MiB to 5 GiB.
  if (config.part_size < (uint64_t{5} << 20) || config.part_size > (uint64_t{5} << 30)) {
    return InvalidArgument("S3 part size must be 5 MiB to 5 GiB");
  }
  return std::unique_ptr<S3MediaStore>(new S3MediaStore(std::move(config)));
}

namespace {

Result<Head> HeadObject(const S3Client& client, CURL* curl, const std::string& url) {
  Call call;
  call.method = "HEAD";
  call.url = url;
  RETURN_IF_ERROR(client.Perform(curl, call));
  if (call.status != 200) return S3Client::HttpError("S3 HEAD", call);
  curl_off_t length = -1;
  curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
  if (length < 0) return Internal("S3 HEAD: no Content-Length");
  return Head{static_cast<uint64_t>(length), call.etag};
}

}  // namespace

Status S3MediaStore::Check() {
  S3Client client(&config_);
  CurlHandle curl = NewCurl();
  if (!curl) return Internal("curl_easy_init failed");
  const std::string where = "S3 bucket " + Printable(config_.bucket) + " at " + Printable(config_.endpoint);
  Call call;
  call.method = "HEAD";
  call.url = client.BucketUrl("");
  if (Status s = client.Perform(curl.get(), call); !s.ok()) {
    return IoError(where + ": the endpoint is unreachable (" + s.message() + ")");
  }
  if (call.status == 200) return Status::Ok();
  // A HEAD answer has no body; a one-key listing says why (the S3 error code).
  Call list;
  list.url = client.BucketUrl("list-type=2&max-keys=1");
  std::string detail;
  if (client.Perform(curl.get(), list).ok()) detail = ErrorDetail(list.body);
  const std::string code = detail.substr(0, detail.find(':'));
  const std::string answered = " (HTTP " + std::to_string(call.status) + (detail.empty() ? "" : ", " + detail) + ")";
  if (code == "NoSuchBucket" || (call.status == 404 && code.empty())) {
    return FailedPrecondition(where + ": the bucket does not exist" + answered);
  }
  if (code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" || call.status == 401) {
    return FailedPrecondition(where + ": the credentials were rejected, check AWS_ACCESS_KEY_ID and " +
                              "AWS_SECRET_ACCESS_KEY" + answered);
  }
  if (call.status == 403) {
    return FailedPrecondition(where + ": access denied (wrong credentials, or no permission on the bucket)" + answered);
  }
  if (call.status == 301 || code == "AuthorizationHeaderMalformed" || code == "PermanentRedirect") {
    return FailedPrecondition(where + ": the bucket is in another region than " + Printable(config_.region) + answered);
  }
  if (call.status >= 500) return IoError(where + ": the endpoint is failing" + answered);
  return FailedPrecondition(where + ": unexpected answer" + answered);
}

Status S3MediaStore::Put(const std::string& key, ScratchFile& file) {
  if (key.empty()) return InvalidArgument("empty media key");
  RETURN_IF_ERROR(file.Sync());
  const uint64_t size = file.size();
  Fd fd;
  fd.fd = ::open(file.local_path().c_str(), O_RDONLY | O_CLOEXEC);
  if (fd.fd < 0) return IoError("opening the scratch file: " + std::string(strerror(errno)));
  S3Client client(&config_);
  CurlHandle curl = NewCurl();
  if (!curl) return Internal("curl_easy_init failed");
  const std::string url = client.ObjectUrl(key);
  const std::string what = "S3 put of " + Printable(key);

  std::string expected_etag;  // single PUT: the MD5 in hex, as S3 reports it
  if (size <= config_.part_size) {
    auto md5 = FileMd5(fd.fd, 0, size);
    if (!md5.ok()) return md5.status();
    Call call;
    call.method = "PUT";
    call.url = url;
    call.has_body = true;
    call.fd = fd.fd;
    call.length = size;
    // S3 refuses the object (400 BadDigest) when the bytes it got have another MD5.
    call.headers.push_back("Content-MD5: " + Base64Encode(*md5));
    call.headers.push_back("Content-Type: " + ContentType(key));
    RETURN_IF_ERROR(client.Perform(curl.get(), call));
    if (call.status != 200) return S3Client::HttpError(what, call);
    expected_etag = "\"" + HexEncode(*md5) + "\"";
  } else {
    RETURN_IF_ERROR(PutMultipart(client, curl.get(), key, fd.fd, size));
  }

  // Trust only what the store reports back.
  auto head = HeadObject(client, curl.get(), url);
  if (!head.ok()) {
    Status s = head.status();
    return s.code() == StatusCode::kNotFound ? IoError(what + ": the object is not there after the upload")
                                             : IoError(what + ": " + s.message());
  }
  if (head->size != size) {
    return Corrupt(what + ": stored " + std::to_string(head->size) + " bytes, sent " + std::to_string(size));
  }
  if (!expected_etag.empty() && head->etag != expected_etag) {
    return Corrupt(what + ": stored ETag " + Printable(head->etag) + ", sent MD5 " + expected_etag);
  }
  return file.Discard();
}

Status S3MediaStore::PutBytes(const std::string& key, std::string_view bytes) {
  if (key.empty()) return InvalidArgument("empty media key");
  auto md5 = Md5(bytes);
  if (!md5.ok()) return md5.status();
  S3Client client(&config_);
  CurlHandle curl = NewCurl();
  if (!curl) return Internal("curl_easy_init failed");
  Call call;
  call.method = "PUT";
  call.url = client.ObjectUrl(key);
  call.has_body = true;
  call.bytes = bytes;
  call.length = bytes.size();
  call.headers.push_back("Content-MD5: " + Base64Encode(*md5));
  call.headers.push_back("Content-Type: application/octet-stream");
  RETURN_IF_ERROR(client.Perform(curl.get(), call));
  if (call.status != 200) return S3Client::HttpError("S3 put of " + Printable(key), call);
  return Status::Ok();
}

Status S3MediaStore::PutMultipart(const S3Client& client, CURL* curl, const std::string& key, int fd, uint64_t size) {
  const std::string url = client.ObjectUrl(key);
  const std::string what = "S3 multipart put of " + Printable(key);
  Call create;
  create.method = "POST";
  create.url = client.ObjectUrl(key, "uploads=");
  create.has_body = true;  // empty
  create.headers.push_back("Content-Type: " + ContentType(key));
  RETURN_IF_ERROR(client.Perform(curl, create));
  if (create.status != 200) return S3Client::HttpError(what + " (create)", create);
  std::string upload_id;
  RETURN_IF_ERROR(XmlWalker::Walk(create.body, [&](const std::string& path, const std::string& text) {
    if (path == "InitiateMultipartUploadResult/UploadId") upload_id = text;
  }));
  if (upload_id.empty()) return Internal(what + ": no UploadId in the answer");
  const std::string id_query = "uploadId=" + UriEncode(upload_id, false);

  // Any failure from here aborts the upload, so the store drops the parts it kept.
  auto abort = [&](Status s) {
    Call call;
    call.method = "DELETE";
    call.url = client.ObjectUrl(key, id_query);
    (void)client.Perform(curl, call);
    return s;
  };
  std::string complete = "<CompleteMultipartUpload>";
  int part = 1;
  for (uint64_t offset = 0; offset < size; offset += config_.part_size, ++part) {
    const uint64_t length = std::min(config_.part_size, size - offset);
    auto md5 = FileMd5(fd, offset, length);
    if (!md5.ok()) return abort(md5.status());
    Call call;
    call.method = "PUT";
    call.url = client.ObjectUrl(key, "partNumber=" + std::to_string(part) + "&" + id_query);
    call.has_body = true;
    call.fd = fd;
    call.offset = offset;
    call.length = length;
    call.headers.push_back("Content-MD5: " + Base64Encode(*md5));
    if (Status s = client.Perform(curl, call); !s.ok()) return abort(s);
    if (call.status != 200) return abort(S3Client::HttpError(what + " (part " + std::to_string(part) + ")", call));
    if (call.etag.empty()) return abort(Internal(what + ": no ETag for part " + std::to_string(part)));
    complete += "<Part><PartNumber>" + std::to_string(part) + "</PartNumber><ETag>" + call.etag + "</ETag></Part>";
    if (part_hook_) part_hook_(part);
  }
  complete += "</CompleteMultipartUpload>";
  Call call;
  call.method = "POST";
  call.url = client.ObjectUrl(key, id_query);
  call.has_body = true;
  call.text = complete;
  call.length = complete.size();
  call.headers.push_back("Content-Type: application/xml");
  if (Status s = client.Perform(curl, call); !s.ok()) return abort(s);
  // S3 may answer 200 and still fail the completion: the body is then an <Error>.
  if (call.status != 200 || call.body.find("<Error>") != std::string::npos) {
    return abort(S3Client::HttpError(what + " (complete)", call));
  }
  return Status::Ok();
}

Result<std::unique_ptr<RandomAccessReader>> S3MediaStore::Open(const std::string& key) {
  S3Client client(&config_);
  CurlHandle curl = NewCurl();
  if (!curl) return Internal("curl_easy_init failed");
  const std::string url = client.ObjectUrl(key);
  auto head = HeadObject(client, curl.get(), url);
  if (!head.ok()) return head.status();
  return std::unique_ptr<RandomAccessReader>(new S3Reader(client, url, head->size, head->etag));
}

Result<uint64_t> S3MediaStore::Size(const std::string& key) {
  S3Client client(&config_);
  CurlHandle curl = NewCurl();
  if (!curl) return Internal("curl_easy_init failed");
  auto head = HeadObject(client, curl.get(), client.ObjectUrl(key));
  if (!head.ok()) return head.status();
  return head->size;
}

Status S3MediaStore::Delete(const std::string& key) {
  S3Client client(&config_);
  CurlHandle curl = NewCurl();
  if (!curl) return Internal("curl_easy_init failed");
  Call call;
  call.method = "DELETE";
  call.url = client.ObjectUrl(key);
  RETURN_IF_ERROR(client.Perform(curl.get(), call));
  if (call.status / 100 == 2 || call.status == 404) return Status::Ok();
  return S3Client::HttpError("S3 delete of " + Printable(key), call);
}

Result<std::vector<MediaObject>> S3MediaStore::List(const std::string& prefix) {
  S3Client client(&config_);
  CurlHandle curl = NewCurl();
  if (!curl) return Internal("curl_easy_init failed");
  const std::string full_prefix = config_.prefix + prefix;
  std::vector<MediaObject> objects;
  std::string token;
  do {
    // Canonical order: continuation-token, list-type, max-keys, prefix.
    std::string query;
    if (!token.empty()) query = "continuation-token=" + UriEncode(token, false) + "&";
    query += "list-type=2&max-keys=" + std::to_string(list_page_size_);
    if (!full_prefix.empty()) query += "&prefix=" + UriEncode(full_prefix, false);
    Call call;
    call.url = client.BucketUrl(query);
    RETURN_IF_ERROR(client.Perform(curl.get(), call));
    if (call.status != 200) return S3Client::HttpError("S3 list", call);
    bool truncated = false;
    std::string next;
    MediaObject object;
    Status parsed = XmlWalker::Walk(call.body, [&](const std::string& path, const std::string& text) {
      if (path == "ListBucketResult/Contents/Key") object.key = text;
      if (path == "ListBucketResult/Contents/Size") object.size = std::strtoull(text.c_str(), nullptr, 10);
      if (path == "ListBucketResult/Contents/LastModified") object.modified_at = ParseIsoTime(text);
      if (path == "ListBucketResult/Contents") {
        if (object.key.compare(0, config_.prefix.size(), config_.prefix) == 0) {
          object.key.erase(0, config_.prefix.size());
          objects.push_back(object);
        }
        object = MediaObject{};
      }
      if (path == "ListBucketResult/IsTruncated") truncated = text == "true";
      if (path == "ListBucketResult/NextContinuationToken") next = text;
    });
    RETURN_IF_ERROR(parsed);
    if (truncated && (next.empty() || next == token)) return Internal("S3 list: truncated page without a new token");
    token = truncated ? next : "";
  } while (!token.empty());
  return objects;
}

}  // namespace recorder::server
