// Finalized recordings as objects in an S3-compatible store (AWS S3, MinIO, Ceph radosgw, Swift's
// s3api, R2), through libcurl, which signs every request with AWS SigV4 (CURLOPT_AWS_SIGV4).
//
// Errors: NotFound for a missing object (GET/HEAD 404); IoError for what a retry may cure (no
// connection, a timeout, 5xx, 429, a cut answer), so a finalize job retries; FailedPrecondition
// for what needs an operator (wrong credentials, missing bucket: 403/404 on the bucket); Corrupt
// when a stored object does not verify. Bodies stream from and to disk in pieces, so no
// recording is ever held in memory.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "storage/media_store.h"

namespace recorder::server {

class S3Client;

struct S3Config {
  std::string endpoint;  // "https://s3.eu-west-1.amazonaws.com", "http://127.0.0.1:9000"
  std::string region;    // signs requests; "us-east-1" when neither set nor in the environment
  std::string bucket;
  std::string prefix;  // prepended to every key as is ("recordings/" keeps them in one folder)
  std::string access_key_id;
  std::string secret_access_key;
  // true: ENDPOINT/BUCKET/KEY (MinIO, Swift, Ceph); false: the bucket in the host name
  // (BUCKET.HOST/KEY, as AWS prefers).
  bool path_style = false;
  // Files larger than this go up as a multipart upload in parts of this size (S3 allows 5 MiB to
  // 5 GiB per part and 10000 parts: 64 MiB parts reach 625 GiB).
  uint64_t part_size = uint64_t{64} << 20;
};

// Fills the empty fields from the usual environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_REGION (else AWS_DEFAULT_REGION, else "us-east-1"), AWS_ENDPOINT_URL (else
// https://s3.REGION.amazonaws.com).
void FillS3ConfigFromEnvironment(S3Config* config);

class S3MediaStore : public MediaStore {
 public:
  // InvalidArgument when a field is missing or the endpoint is not http(s)://HOST[:PORT].
  static Result<std::unique_ptr<S3MediaStore>> Create(S3Config config);

  // HEAD on the bucket, for start-up: Ok, or an error that says which of unreachable endpoint,
  // wrong credentials or missing bucket it is.
  Status Check();

  // Single PUT with Content-MD5 up to part_size, multipart above (aborted on failure); Ok only
  // after a HEAD shows the stored size (and, for a single PUT, the MD5 as ETag). The scratch file
  // is dropped only then: on any error it is kept for the retry.
  Status Put(const std::string& key, ScratchFile& file) override;
  // One PUT with Content-MD5: the store refuses bytes that arrive changed.
  Status PutBytes(const std::string& key, std::string_view bytes) override;
  // Each ReadAt is one ranged GET.
  Result<std::unique_ptr<RandomAccessReader>> Open(const std::string& key) override;
  Result<uint64_t> Size(const std::string& key) override;
  Status Delete(const std::string& key) override;
  // ListObjectsV2, page by page; keys come back without the configured prefix.
  Result<std::vector<MediaObject>> List(const std::string& prefix) override;

  // Tests: fewer keys per ListObjectsV2 page (S3's default and maximum is 1000).
  void set_list_page_size_for_testing(int keys) { list_page_size_ = keys; }
  // Tests: called after each part of a multipart upload is stored (1, 2, ...).
  void set_part_hook_for_testing(std::function<void(int part)> hook) { part_hook_ = std::move(hook); }

 private:
  explicit S3MediaStore(S3Config config) : config_(std::move(config)) {}
  // `curl` is a CURL*, `fd` the synced scratch file.
  Status PutMultipart(const S3Client& client, void* curl, const std::string& key, int fd, uint64_t size);

  const S3Config config_;
  int list_page_size_ = 1000;
  std::function<void(int part)> part_hook_;
};

}  // namespace recorder::server
