// PostgresIndex, accounts and audit roles.
#include "index/postgres/impl.h"

namespace recorder::server {

using pg::Conn;
using pg::Row;

Status PostgresIndex::CreateAccount(const Account& account, int64_t now) {
  return impl_->With([&](Conn& c) {
    return c
        .Exec("INSERT INTO accounts(username, password_hash, role, created_at) VALUES ($1, $2, $3, $4)",
              {account.username, account.password_hash, account.role, now})
        .status();
  });
}

Result<Account> PostgresIndex::AccountByName(const std::string& username) {
  return impl_->With([&](Conn& c) -> Result<Account> {
    auto rows =
        c.Exec("SELECT id, username, password_hash, role FROM accounts WHERE lower(username) = lower($1)", {username});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return NotFound("no account " + username);
    const Row r{*rows, 0};
    return Account{r.Int(0), r.Text(1), r.Text(2), r.Enum(3, Role::kReviewer)};
  });
}

Result<int> PostgresIndex::CountAccounts() {
  return impl_->With([&](Conn& c) -> Result<int> {
    auto rows = c.Exec("SELECT count(*) FROM accounts");
    if (!rows.ok()) return rows.status();
    return static_cast<int>(rows->Int(0, 0));
  });
}

Status PostgresIndex::CreateLoginSession(const LoginSession& login, int64_t now) {
  return impl_->With([&](Conn& c) {
    return c
        .Exec(
            "INSERT INTO login_sessions(token_sha256, account_id, csrf_token, expires_at, created_at) "
            "VALUES ($1, $2, $3, $4, $5)",
            {login.token_sha256, login.account.id, login.csrf_token, login.expires_at, now})
        .status();
  });
}

Result<LoginSession> PostgresIndex::LoginSessionByTokenHash(const std::string& token_sha256, int64_t now) {
  return impl_->With([&](Conn& c) -> Result<LoginSession> {
    auto rows = c.Exec(
        "SELECT l.token_sha256, a.id, a.username, a.password_hash, a.role, l.csrf_token, l.expires_at "
        "FROM login_sessions l JOIN accounts a ON a.id = l.account_id WHERE l.token_sha256 = $1 AND l.expires_at > $2",
        {token_sha256, now});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return NotFound("no login session");
    const Row r{*rows, 0};
    return LoginSession{r.Text(0), Account{r.Int(1), r.Text(2), r.Text(3), r.Enum(4, Role::kReviewer)}, r.Text(5),
                        r.Int(6)};
  });
}

Status PostgresIndex::DeleteLoginSession(const std::string& token_sha256, int64_t now) {
  return impl_->With([&](Conn& c) {
    return c.Exec("DELETE FROM login_sessions WHERE token_sha256 = $1 OR expires_at <= $2", {token_sha256, now})
        .status();
  });
}

Status PostgresIndex::AppendAudit(const AuditEntry& entry) {
  return impl_->With([&](Conn& c) { return pg::InsertAudit(c, entry); });
}

Result<std::vector<AuditEntry>> PostgresIndex::AuditEntries(int limit) {
  return impl_->With([&](Conn& c) -> Result<std::vector<AuditEntry>> {
    auto rows =
        c.Exec("SELECT id, at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT $1", {limit});
    if (!rows.ok()) return rows.status();
    return pg::ReadAll<AuditEntry>(
        *rows, [](const Row& r) { return AuditEntry{r.Int(0), r.Int(1), r.Text(2), r.Text(3), r.Text(4), r.Text(5)}; });
  });
}

}  // namespace recorder::server
