#include "results/accounts.h"

#include <argon2.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/crypto.h"
#include "base/printable.h"

namespace recorder::server {
namespace {

constexpr uint32_t kTimeCost = 2, kMemoryKiB = 19 * 1024, kLanes = 1, kSaltBytes = 16, kHashBytes = 32;
constexpr size_t kMinPassword = 10, kMaxPassword = 1024, kMaxUsername = 64;

bool ValidUsername(const std::string& name) {
  return !name.empty() && name.size() <= kMaxUsername && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '_' || c == '@' || c == '-';
  });
}

}  // namespace

Result<std::string> HashPassword(const std::string& password) {
  unsigned char salt[kSaltBytes];
  if (RAND_bytes(salt, sizeof salt) != 1) return Internal("RAND_bytes failed");
  std::string encoded(argon2_encodedlen(kTimeCost, kMemoryKiB, kLanes, kSaltBytes, kHashBytes, Argon2_id), '\0');
  int rc = argon2id_hash_encoded(kTimeCost, kMemoryKiB, kLanes, password.data(), password.size(), salt, sizeof salt,
                                 kHashBytes, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) return Internal(std::string("argon2id: ") + argon2_error_message(rc));
  encoded.resize(encoded.find('\0'));
  return encoded;
}

bool VerifyPassword(const std::string& encoded_hash, const std::string& password) {
  return argon2id_verify(encoded_hash.c_str(), password.data(), password.size()) == ARGON2_OK;
}

LoginThrottle::Decision LoginThrottle::Reserve(const std::string& key, int64_t now) {
  std::lock_guard lock(mu_);
  EvictExpired(now);
  Failures& failures = failures_[key];
  auto& times = failures.times;
  while (!times.empty() && times.front() <= now - window_) times.pop_front();
  if (static_cast<int>(times.size()) >= max_failures_) {
    Decision refused{std::max<int64_t>(1, times.front() + window_ - now), now >= failures.refused_until};
    if (refused.first_refusal) failures.refused_until = now + refused.wait_seconds;
    return refused;
  }
  times.push_back(now);
  return {};
}

void LoginThrottle::Release(const std::string& key, int64_t reserved_at) {
  std::lock_guard lock(mu_);
  auto it = failures_.find(key);
  if (it == failures_.end()) return;
  auto& times = it->second.times;
  if (auto pos = std::find(times.rbegin(), times.rend(), reserved_at); pos != times.rend())
    times.erase(std::next(pos).base());
  if (times.empty()) failures_.erase(it);
}

void LoginThrottle::Reset(const std::string& key) {
  std::lock_guard lock(mu_);
  failures_.erase(key);
}

size_t LoginThrottle::KeyCount() {
  std::lock_guard lock(mu_);
  return failures_.size();
}

void LoginThrottle::EvictExpired(int64_t now) {
  if (failures_.size() < evict_at_) return;
  std::erase_if(failures_, [&](const auto& entry) {
    const auto& times = entry.second.times;
    return times.empty() || times.back() <= now - window_;
  });
  evict_at_ = std::max<size_t>(1024, 2 * failures_.size());
}

Result<std::unique_ptr<Accounts>> Accounts::Open(Options options, AccountIndex* index, AuditLog* audit,
                                                 const Clock* clock) {
  auto dummy = HashPassword(RandomHex(16));
  if (!dummy.ok()) return Internal("cannot make the dummy password hash: " + dummy.status().message());
  return std::unique_ptr<Accounts>(new Accounts(options, index, audit, clock, *dummy));
}

Accounts::Accounts(Options options, AccountIndex* index, AuditLog* audit, const Clock* clock, std::string dummy_hash)
    : options_(options),
      index_(index),
      audit_(audit),
      clock_(clock),
      by_user_and_address_(options.max_failures_per_user, options.failure_window_seconds),
      by_address_(options.max_failures_per_address, options.failure_window_seconds),
      by_account_(options.max_failures_per_account, options.failure_window_seconds),
      dummy_hash_(std::move(dummy_hash)) {}

Expected<Account> Accounts::Create(const std::string& username, const std::string& password, const std::string& role) {
  if (!ValidUsername(username)) return ApiError{Err::kInvalidAccount, "username is not valid"};
  if (password.size() < kMinPassword || password.size() > kMaxPassword) {
    return ApiError{Err::kInvalidAccount, "password must be 10 to 1024 bytes"};
  }
  Role parsed_role;
  if (!ParseName(role, &parsed_role)) return ApiError{Err::kInvalidAccount, "role must be admin or reviewer"};
  auto hash = HashPassword(password);
  if (!hash.ok()) return InternalError(hash.status());
  Account account{0, username, *hash, parsed_role};
  Status s = index_->CreateAccount(account, clock_->NowSeconds());
  if (s.code() == StatusCode::kAlreadyExists) return Err::kAccountExists;
  if (!s.ok()) return InternalError(s);
  auto stored = index_->AccountByName(username);
  if (!stored.ok()) return InternalError(stored.status());
  spdlog::info("HR account {} created with role {}", username, role);
  return stored.value();
}

Expected<NewLogin> Accounts::Login(const std::string& username, const std::string& password,
                                   const std::string& address) {
  // No account has such a username or password: refused before the throttle keeps anything.
  if (username.size() > kMaxUsername || password.size() > kMaxPassword) return Err::kInvalidCredentials;
  int64_t now = clock_->NowSeconds();
  // Usernames match case-insensitively, so the throttle must too; hashed, so every key is small.
  std::string lower = username;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string account_key = Sha256Hex(lower);
  const std::pair<LoginThrottle*, std::string> throttles[] = {
      {&by_user_and_address_, account_key + " " + address}, {&by_address_, address}, {&by_account_, account_key}};
  auto release = [&](size_t count) {
    for (size_t i = 0; i < count; ++i) throttles[i].first->Release(throttles[i].second, now);
  };
  auto audit = [&](const std::string& action, const std::string& why) {
    nlohmann::json detail = {{"address", address}};
    if (!why.empty()) detail["reason"] = why;
    Status s = audit_->AppendAudit(
        {0, now, "hr:" + Printable(username), action, "account:" + Printable(username), detail.dump()});
    if (!s.ok()) spdlog::error("audit of {} failed: {}", action, s.ToString());
  };
  // Every reservation is taken before the (slow) verification; a failed attempt keeps them.
  for (size_t i = 0; i < std::size(throttles); ++i) {
    LoginThrottle::Decision decision = throttles[i].first->Reserve(throttles[i].second, now);
    if (decision.wait_seconds == 0) continue;
    release(i);
    // One log line and audit entry per throttling episode: refused attempts cannot flood either.
    if (decision.first_refusal) {
      spdlog::warn("login for {} from {} throttled for {} s", Printable(username), address, decision.wait_seconds);
      audit("login_throttled", "");
    }
    return ApiError{Err::kTooManyLoginAttempts, "retry in " + std::to_string(decision.wait_seconds) + " s",
                    static_cast<int>(decision.wait_seconds)};
  }
  auto account = index_->AccountByName(username);
  if (!account.ok() && account.status().code() != StatusCode::kNotFound) {
    release(std::size(throttles));
    return InternalError(account.status());
  }
  // An unknown username costs the same argon2 verification as a wrong password.
  bool valid = VerifyPassword(account.ok() ? account->password_hash : dummy_hash_, password) && account.ok();
  if (!valid) {
    spdlog::warn("failed login for {} from {}", Printable(username), address);
    audit("login_failed", account.ok() ? "wrong password" : "unknown username");
    return Err::kInvalidCredentials;
  }
  by_user_and_address_.Reset(throttles[0].second);
  by_address_.Release(address, now);
  by_account_.Release(account_key, now);
  NewLogin login;
  login.cookie_token = RandomHex(32);
  login.expires_at = now + options_.login_seconds;
  login.user = {account->id,     account->username, account->role, RandomHex(32), Sha256Hex(login.cookie_token),
                login.expires_at};
  Status s = index_->CreateLoginSession(
      {login.user.login_token_sha256, account.value(), login.user.csrf_token, login.expires_at}, now);
  if (!s.ok()) return InternalError(s);
  spdlog::info("HR login: {} ({})", account->username, Name(account->role));
  audit("login", "");
  return login;
}

Expected<HrUser> Accounts::Authenticate(const std::string& cookie_token) {
  if (cookie_token.empty()) return Err::kLoginRequired;
  std::string sha = Sha256Hex(cookie_token);
  auto login = index_->LoginSessionByTokenHash(sha, clock_->NowSeconds());
  if (!login.ok()) {
    if (login.status().code() == StatusCode::kNotFound) return Err::kLoginRequired;
    return InternalError(login.status());
  }
  return HrUser{login->account.id, login->account.username, login->account.role, login->csrf_token, sha,
                login->expires_at};
}

void Accounts::Logout(const HrUser& user) {
  Status s = index_->DeleteLoginSession(user.login_token_sha256, clock_->NowSeconds());
  if (!s.ok()) spdlog::error("logout of {}: {}", user.username, s.ToString());
  spdlog::info("HR logout: {}", user.username);
}

}  // namespace recorder::server
