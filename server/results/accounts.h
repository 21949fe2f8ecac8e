// HR accounts: argon2id password hashes, login sessions behind an HttpOnly cookie, CSRF tokens,
// and login throttling. Knows nothing of HTTP; http_api turns its answers into cookies and headers.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "base/clock.h"
#include "base/errors.h"
#include "index/account_index.h"
#include "index/audit_log.h"

namespace recorder::server {

// Hashes with argon2id (RFC 9106 parameters for a server: 19 MiB, 2 passes, 1 lane).
Result<std::string> HashPassword(const std::string& password);
bool VerifyPassword(const std::string& encoded_hash, const std::string& password);

// A logged-in reviewer or admin, as a request sees them.
struct HrUser {
  int64_t account_id = 0;
  std::string username;
  Role role = Role::kReviewer;
  std::string csrf_token;
  std::string login_token_sha256;
  int64_t login_expires_at = 0;
  bool is_admin() const { return role == Role::kAdmin; }
};

struct NewLogin {
  HrUser user;
  std::string cookie_token;  // goes to the browser once; only its SHA-256 is stored
  int64_t expires_at = 0;
};

// Failed logins per key in a sliding window. An attempt is reserved before the password is
// checked, so parallel requests cannot all pass the check while the slow argon2 verifications run.
// Keys whose failures have all left the window are evicted (amortized), so the map stays bounded by
// the keys active within one window. Callers keep keys small (a hash, an address). Thread-safe.
class LoginThrottle {
 public:
  struct Decision {
    int64_t wait_seconds = 0;    // 0: the attempt may go on and counts as a failure until Release()
    bool first_refusal = false;  // the first refusal of this throttling episode (audit it once)
  };
  LoginThrottle(int max_failures, int64_t window_seconds) : max_failures_(max_failures), window_(window_seconds) {}
  // When refused, nothing is reserved.
  Decision Reserve(const std::string& key, int64_t now);
  // Takes back the reservation Reserve(key, reserved_at) made (the attempt did not fail).
  void Release(const std::string& key, int64_t reserved_at);
  void Reset(const std::string& key);
  size_t KeyCount();  // for tests

 private:
  struct Failures {
    std::deque<int64_t> times;
    int64_t refused_until = 0;  // end of the episode whose first refusal was reported
  };
  void EvictExpired(int64_t now);  // REQUIRES: mu_ held

  int max_failures_;
  int64_t window_;
  std::mutex mu_;
  std::map<std::string, Failures> failures_;
  size_t evict_at_ = 1024;  // the next eviction pass runs when the map reaches this size
};

class Accounts {
 public:
  struct Options {
    int64_t login_seconds = 12 * 3600;  // a login lasts this long, then the cookie is refused
    // Per window, then 429. Per username and client address, so one address cannot lock an
    // account out for everybody; per address over all usernames; per username over all addresses
    // (a distributed guess), which takes several addresses to reach.
    int max_failures_per_user = 5;
    int max_failures_per_address = 20;
    int max_failures_per_account = 100;
    int64_t failure_window_seconds = 15 * 60;
  };
  // Fails when the dummy hash for unknown usernames cannot be made (without it an unknown username
  // would answer faster than a known one).
  static Result<std::unique_ptr<Accounts>> Open(Options options, AccountIndex* index, AuditLog* audit,
                                                const Clock* clock);

  // kInvalidAccount (bad username, password or role), kAccountExists.
  Expected<Account> Create(const std::string& username, const std::string& password, const std::string& role);
  // kTooManyLoginAttempts (with retry_after_seconds), kInvalidCredentials. Every outcome is audited,
  // throttling once per episode; a username or password longer than any account can have is refused
  // before any work, unaudited.
  Expected<NewLogin> Login(const std::string& username, const std::string& password, const std::string& address);
  // kLoginRequired when the cookie token is unknown or expired.
  Expected<HrUser> Authenticate(const std::string& cookie_token);
  void Logout(const HrUser& user);

 private:
  Accounts(Options options, AccountIndex* index, AuditLog* audit, const Clock* clock, std::string dummy_hash);

  Options options_;
  AccountIndex* index_;
  AuditLog* audit_;
  const Clock* clock_;
  LoginThrottle by_user_and_address_;
  LoginThrottle by_address_;
  LoginThrottle by_account_;
  std::string dummy_hash_;  // verified against for unknown usernames, so timing does not tell them apart
};

}  // namespace recorder::server
