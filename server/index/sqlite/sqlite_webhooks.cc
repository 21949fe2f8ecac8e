// SqliteIndex, webhook role.
#include "index/sql_text.h"
#include "index/sqlite/impl.h"

namespace recorder::server {

using sqlite::Stmt;

Status SqliteIndex::AddWebhook(const RegisteredWebhook& webhook) {
  std::lock_guard lock(impl_->mu);
  return Stmt(impl_->db, "INSERT INTO webhooks(id, url, secret, events, created_at) VALUES (?, ?, ?, ?, ?)")
      .Bind(1, webhook.id)
      .Bind(2, webhook.url)
      .Bind(3, webhook.secret)
      .Bind(4, JoinWords(webhook.events))
      .Bind(5, webhook.created_at)
      .Run();
}

Result<std::vector<RegisteredWebhook>> SqliteIndex::ListWebhooks() {
  std::lock_guard lock(impl_->mu);
  Stmt s(impl_->db, "SELECT id, url, secret, events, created_at FROM webhooks ORDER BY rowid");
  return sqlite::ReadAll<RegisteredWebhook>(s, [](Stmt& r) {
    return RegisteredWebhook{r.Text(0), r.Text(1), r.Text(2), SplitWords(r.Text(3)), r.Int(4)};
  });
}

Status SqliteIndex::DeleteWebhook(const std::string& id) {
  std::lock_guard lock(impl_->mu);
  RETURN_IF_ERROR(Stmt(impl_->db, "DELETE FROM webhooks WHERE id = ?").Bind(1, id).Run());
  return impl_->Changes() == 0 ? NotFound("no webhook " + id) : Status::Ok();
}

}  // namespace recorder::server
