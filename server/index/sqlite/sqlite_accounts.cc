// SqliteIndex, accounts and audit roles.
#include "index/sqlite/impl.h"

namespace recorder::server {

using sqlite::Stmt;

Status SqliteIndex::CreateAccount(const Account& account, int64_t now) {
  std::lock_guard lock(impl_->mu);
  return Stmt(impl_->db, "INSERT INTO accounts(username, password_hash, role, created_at) VALUES (?, ?, ?, ?)")
      .Bind(1, account.username)
      .Bind(2, account.password_hash)
      .Bind(3, account.role)
      .Bind(4, now)
      .Run();
}

Result<Account> SqliteIndex::AccountByName(const std::string& username) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, "SELECT id, username, password_hash, role FROM accounts WHERE username = ?");
  auto row = s.Bind(1, username).Step();
  if (!row.ok()) return row.status();
  if (!*row) return NotFound("no account " + username);
  return Account{s.Int(0), s.Text(1), s.Text(2), s.Enum(3, Role::kReviewer)};
}

Result<int> SqliteIndex::CountAccounts() {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, "SELECT count(*) FROM accounts");
  auto row = s.Step();
  if (!row.ok()) return row.status();
  return static_cast<int>(s.Int(0));
}

Status SqliteIndex::CreateLoginSession(const LoginSession& login, int64_t now) {
  std::lock_guard lock(impl_->mu);
  return Stmt(impl_->db,
              "INSERT INTO login_sessions(token_sha256, account_id, csrf_token, expires_at, created_at) "
              "VALUES (?, ?, ?, ?, ?)")
      .Bind(1, login.token_sha256)
      .Bind(2, login.account.id)
      .Bind(3, login.csrf_token)
      .Bind(4, login.expires_at)
      .Bind(5, now)
      .Run();
}

Result<LoginSession> SqliteIndex::LoginSessionByTokenHash(const std::string& token_sha256, int64_t now) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db,
         "SELECT l.token_sha256, a.id, a.username, a.password_hash, a.role, l.csrf_token, l.expires_at "
         "FROM login_sessions l JOIN accounts a ON a.id = l.account_id WHERE l.token_sha256 = ? AND l.expires_at > ?");
  auto row = s.Bind(1, token_sha256).Bind(2, now).Step();
  if (!row.ok()) return row.status();
  if (!*row) return NotFound("no login session");
  return LoginSession{s.Text(0), Account{s.Int(1), s.Text(2), s.Text(3), s.Enum(4, Role::kReviewer)}, s.Text(5),
                      s.Int(6)};
}

Status SqliteIndex::DeleteLoginSession(const std::string& token_sha256, int64_t now) {
  std::lock_guard lock(impl_->mu);
  return Stmt(impl_->db, "DELETE FROM login_sessions WHERE token_sha256 = ? OR expires_at <= ?")
      .Bind(1, token_sha256)
      .Bind(2, now)
      .Run();
}

Status SqliteIndex::AppendAudit(const AuditEntry& entry) {
  std::lock_guard lock(impl_->mu);
  return sqlite::InsertAudit(impl_->db, entry);
}

Result<std::vector<AuditEntry>> SqliteIndex::AuditEntries(int limit) {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, "SELECT id, at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT ?");
  s.Bind(1, limit);
  return sqlite::ReadAll<AuditEntry>(s, [](Stmt& row) {
    return AuditEntry{row.Int(0), row.Int(1), row.Text(2), row.Text(3), row.Text(4), row.Text(5)};
  });
}

}  // namespace recorder::server
