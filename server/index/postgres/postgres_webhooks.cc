// PostgresIndex, webhook role.
#include "index/postgres/impl.h"
#include "index/sql_text.h"

namespace recorder::server {

using pg::Conn;
using pg::Row;

Status PostgresIndex::AddWebhook(const RegisteredWebhook& webhook) {
  return impl_->With([&](Conn& c) {
    return c
        .Exec("INSERT INTO webhooks(id, url, secret, events, created_at) VALUES ($1, $2, $3, $4, $5)",
              {webhook.id, webhook.url, webhook.secret, JoinWords(webhook.events), webhook.created_at})
        .status();
  });
}

Result<std::vector<RegisteredWebhook>> PostgresIndex::ListWebhooks() {
  return impl_->With([&](Conn& c) -> Result<std::vector<RegisteredWebhook>> {
    auto rows = c.Exec("SELECT id, url, secret, events, created_at FROM webhooks ORDER BY seq");
    if (!rows.ok()) return rows.status();
    return pg::ReadAll<RegisteredWebhook>(*rows, [](const Row& r) {
      return RegisteredWebhook{r.Text(0), r.Text(1), r.Text(2), SplitWords(r.Text(3)), r.Int(4)};
    });
  });
}

Status PostgresIndex::DeleteWebhook(const std::string& id) {
  return impl_->With([&](Conn& c) -> Status {
    auto rows = c.Exec("DELETE FROM webhooks WHERE id = $1", {id});
    if (!rows.ok()) return rows.status();
    return rows->Affected() == 0 ? NotFound("no webhook " + id) : Status::Ok();
  });
}

}  // namespace recorder::server
