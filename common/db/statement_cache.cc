#include "common/db/statement_cache.h"

#include <cppconn/connection.h>
#include <cppconn/prepared_statement.h>

#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace crm::db {

// Bounds server-side statements per connection (MariaDB's
// max_prepared_stmt_count is global); a service has a few dozen queries, so
// the bound only matters for SQL built from request shapes.
inline constexpr size_t kMaxCachedStatements = 256;

class StatementCache {
 public:
  struct Entry {
    std::unique_ptr<sql::PreparedStatement> statement;
    bool in_use = false;
  };

  // nullptr when the cache is full.
  Entry* Find(sql::Connection& conn, absl::string_view query) {
    auto it = entries_.find(query);
    if (it != entries_.end()) return it->second.get();
    if (entries_.size() >= kMaxCachedStatements) return nullptr;
    auto entry = std::make_unique<Entry>();
    entry->statement.reset(conn.prepareStatement(sql::SQLString(query.data(), query.size())));
    return entries_.emplace(std::string(query), std::move(entry)).first->second.get();
  }

 private:
  absl::flat_hash_map<std::string, std::unique_ptr<Entry>> entries_;
};

namespace {

// Finds a connection's cache from the sql::Connection& that repositories
// are handed, so their signatures stay plain Connector/C++.
class CacheRegistry {
 public:
  static CacheRegistry& Get() {
    static auto* registry = new CacheRegistry();  // never destroyed: used until exit
    return *registry;
  }
  void Add(const sql::Connection* conn, StatementCache* cache) {
    absl::MutexLock lock(&mu_);
    caches_[conn] = cache;
  }
  void Remove(const sql::Connection* conn) {
    absl::MutexLock lock(&mu_);
    caches_.erase(conn);
  }
  StatementCache* Find(const sql::Connection* conn) {
    absl::ReaderMutexLock lock(&mu_);
    auto it = caches_.find(conn);
    return it == caches_.end() ? nullptr : it->second;
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<const sql::Connection*, StatementCache*> caches_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

Statement::Statement(sql::PreparedStatement* cached, bool* in_use)
    : statement_(cached), in_use_(in_use) {
  *in_use_ = true;
}

Statement::Statement(std::unique_ptr<sql::PreparedStatement> owned)
    : statement_(owned.get()), owned_(std::move(owned)) {}

Statement::Statement(Statement&& other) noexcept
    : statement_(other.statement_),
      owned_(std::move(other.owned_)),
      in_use_(std::exchange(other.in_use_, nullptr)) {}

Statement::~Statement() {
  if (in_use_ != nullptr) *in_use_ = false;
}

Statement PrepareStatement(sql::Connection& conn, absl::string_view query) {
  if (StatementCache* cache = CacheRegistry::Get().Find(&conn); cache != nullptr) {
    StatementCache::Entry* entry = cache->Find(conn, query);
    if (entry != nullptr && !entry->in_use) return Statement(entry->statement.get(), &entry->in_use);
  }
  return Statement(std::unique_ptr<sql::PreparedStatement>(
      conn.prepareStatement(sql::SQLString(query.data(), query.size()))));
}

PooledConnection::PooledConnection(std::unique_ptr<sql::Connection> conn)
    : conn_(std::move(conn)), cache_(std::make_unique<StatementCache>()) {
  CacheRegistry::Get().Add(conn_.get(), cache_.get());
}

PooledConnection::~PooledConnection() {
  CacheRegistry::Get().Remove(conn_.get());
  cache_.reset();
  conn_.reset();
}

}  // namespace crm::db
