// The index's accounts role: HR accounts and their login sessions.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "index/records.h"

namespace recorder::server {

// Thread-safe; every method is one transaction.
class AccountIndex {
 public:
  virtual ~AccountIndex() = default;

  // AlreadyExists when the username (case-insensitive) is taken.
  virtual Status CreateAccount(const Account& account, int64_t now) = 0;
  virtual Result<Account> AccountByName(const std::string& username) = 0;  // NotFound; case-insensitive
  virtual Result<int> CountAccounts() = 0;
  virtual Status CreateLoginSession(const LoginSession& login, int64_t now) = 0;
  // NotFound when unknown or expired at `now`.
  virtual Result<LoginSession> LoginSessionByTokenHash(const std::string& token_sha256, int64_t now) = 0;
  // Also removes every login session expired at `now`.
  virtual Status DeleteLoginSession(const std::string& token_sha256, int64_t now) = 0;
};

}  // namespace recorder::server
