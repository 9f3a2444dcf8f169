// SPDX-License-Identifier: Apache-2.0
//
// soak_check DIR CLIENTS STATS_JSON SYSCALL=ERRNO...: what bench/soak.sh checks
// after a soak run, outside ftsc. Prints the run's figures as "NAME VALUE"
// lines and one line per failed check on standard error; exits 1 if any check
// failed.
//
// The stores. Every seq a client logged in DIR/client-ID.acked (the server
// acknowledged it) is in DIR/records.log exactly once and in DIR/records.db
// exactly once, intact: its payload is the one soak_record.h makes for
// (client, seq) and its checksum matches. The flat file is whole records from
// its first byte to its last, and holds no record twice (the server appends a
// record only once, also when a client sent it again); both stores may hold
// a record that was never acknowledged (the acknowledgement was lost and the
// client stopped), which is counted, not an error.
//
// The statistics (ftsc run --stats). For every row: calls = recovered +
// gave_up + passed + would_retry + budget + in_flight, attempts = calls +
// retries, nothing in flight once the run is over, no call dropped. For every
// injected (syscall, errno) pair, an errno this soak's programs never meet for
// real, so that every call of its row began with an injected fault:
// calls <= injected <= attempts - recovered, that is, every injected fault is
// one of the row's failed attempts, each of which was counted either as
// retried (a retry followed it) or as the end of a call given up (gave_up,
// passed, budget). (Not equality: a retry of such a call may fail for real,
// with ECONNRESET when the server dropped the connection, and that failed
// attempt counts in the same row.) No other row has injected faults. And every
// failure of such a pair that a program saw (its "seen" lines) was counted as
// a call ftsc gave up or passed.
#include <sqlite3.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "soak_record.h"

namespace {

using Key = std::pair<uint32_t, uint64_t>;  // (client, seq)

int failures = 0;

void fail(const std::string& what) {
  std::cerr << "soak_check: " << what << "\n";
  ++failures;
}

bool intact(const soak_header& h, const unsigned char* payload) {
  unsigned char expected[SOAK_PAYLOAD_MAX];
  uint32_t len = soak_payload(h.client, h.seq, expected);
  return h.magic == SOAK_RECORD_MAGIC && h.len == len && std::memcmp(payload, expected, len) == 0 &&
         soak_crc(&h, payload) == h.crc;
}

std::set<Key> read_acked(const std::string& dir, uint32_t clients) {
  std::set<Key> acked;
  for (uint32_t c = 0; c < clients; ++c) {
    std::string path = dir + "/client-" + std::to_string(c) + ".acked";
    std::ifstream in(path);
    if (!in) {
      fail(path + ": cannot be read");
      continue;
    }
    uint64_t seq, expected = 1;
    while (in >> seq) {
      if (seq != expected)
        fail(path + ": seq " + std::to_string(seq) + " where " + std::to_string(expected) +
             " was expected");
      expected = seq + 1;
      acked.insert({c, seq});
    }
  }
  return acked;
}

std::map<Key, int> read_log(const std::string& path) {
  std::map<Key, int> seen;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    fail(path + ": cannot be read");
    return seen;
  }
  uint64_t offset = 0;
  for (;;) {
    soak_header h;
    in.read(reinterpret_cast<char*>(&h), sizeof h);
    if (in.gcount() == 0)
      break;
    if (in.gcount() != sizeof h || h.magic != SOAK_RECORD_MAGIC || h.len == 0 ||
        h.len > SOAK_PAYLOAD_MAX) {
      fail(path + ": no whole record header at offset " + std::to_string(offset));
      break;
    }
    unsigned char payload[SOAK_PAYLOAD_MAX];
    in.read(reinterpret_cast<char*>(payload), h.len);
    if (in.gcount() != h.len) {
      fail(path + ": the record at offset " + std::to_string(offset) + " is cut short");
      break;
    }
    if (!intact(h, payload))
      fail(path + ": record (" + std::to_string(h.client) + ", " + std::to_string(h.seq) +
           ") at offset " + std::to_string(offset) + " is damaged");
    else
      ++seen[{h.client, h.seq}];
    offset += sizeof h + h.len;
  }
  return seen;
}

std::map<Key, int> read_db(const std::string& path) {
  std::map<Key, int> seen;
  sqlite3* db = nullptr;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db, "SELECT client, seq, crc, payload FROM records", -1, &stmt, nullptr) !=
          SQLITE_OK) {
    fail(path + ": " + (db ? sqlite3_errmsg(db) : "cannot be opened"));
    sqlite3_close(db);
    return seen;
  }
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    soak_header h{};
    h.magic = SOAK_RECORD_MAGIC;
    h.client = static_cast<uint32_t>(sqlite3_column_int64(stmt, 0));
    h.seq = static_cast<uint64_t>(sqlite3_column_int64(stmt, 1));
    h.crc = static_cast<uint32_t>(sqlite3_column_int64(stmt, 2));
    int len = sqlite3_column_bytes(stmt, 3);
    const void* blob = sqlite3_column_blob(stmt, 3);
    h.len = static_cast<uint32_t>(len);
    if (len <= 0 || len > static_cast<int>(SOAK_PAYLOAD_MAX) ||
        !intact(h, static_cast<const unsigned char*>(blob)))
      fail(path + ": record (" + std::to_string(h.client) + ", " + std::to_string(h.seq) +
           ") is damaged");
    else
      ++seen[{h.client, h.seq}];
  }
  if (rc != SQLITE_DONE)
    fail(path + ": " + sqlite3_errmsg(db));
  sqlite3_finalize(stmt);
  // The integrity of the file itself.
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    std::string verdict = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    if (verdict != "ok")
      fail(path + ": integrity_check says " + verdict);
  } else {
    fail(path + ": integrity_check could not run");
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return seen;
}

// "seen SYSCALL ERRNO COUNT" lines of every program's output.
std::map<std::string, uint64_t> read_seen(const std::string& dir) {
  std::map<std::string, uint64_t> seen;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".out")
      continue;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream words(line);
      std::string tag, syscall, err;
      uint64_t count;
      if (words >> tag >> syscall >> err >> count && tag == "seen")
        seen[syscall + "=" + err] += count;
    }
  }
  return seen;
}

void check_stats(const std::string& path, const std::vector<std::string>& injected,
                 const std::map<std::string, uint64_t>& seen) {
  std::ifstream in(path);
  if (!in) {
    fail(path + ": cannot be read");
    return;
  }
  nlohmann::json stats = nlohmann::json::parse(in, nullptr, false);
  if (stats.is_discarded() || !stats.contains("rows")) {
    fail(path + ": not ftsc's statistics");
    return;
  }
  if (stats.value("dropped", 0ull) != 0)
    fail(path + ": " + std::to_string(stats.value("dropped", 0ull)) + " calls not counted");
  std::set<std::string> injected_rows;
  for (const auto& row : stats["rows"]) {
    auto n = [&](const char* key) { return row.value(key, 0ull); };
    std::string name = row.value("syscall", "?") + "=" + row.value("errno", "?");
    if (n("calls") != n("recovered") + n("gave_up") + n("passed") + n("would_retry") + n("budget") +
                          n("in_flight"))
      fail(name + ": calls are not the sum of their outcomes");
    if (n("attempts") != n("calls") + n("retries"))
      fail(name + ": attempts are not calls + retries");
    if (n("in_flight") != 0)
      fail(name + ": " + std::to_string(n("in_flight")) + " calls still in flight");
    bool is_injected = false;
    for (const auto& pair : injected)
      is_injected |= pair == name;
    if (is_injected) {
      injected_rows.insert(name);
      if (n("injected") < n("calls"))
        fail(name + ": " + std::to_string(n("calls")) +
             " calls began with an injected fault, but " + std::to_string(n("injected")) +
             " faults were counted as injected");
      if (n("injected") > n("attempts") - n("recovered"))
        fail(name + ": " + std::to_string(n("injected")) + " injected faults, but only " +
             std::to_string(n("attempts") - n("recovered")) +
             " failed attempts counted as retried or given up");
      auto it = seen.find(name);
      if (it != seen.end() && it->second > n("gave_up") + n("passed") + n("budget"))
        fail(name + ": the programs saw " + std::to_string(it->second) +
             " failures, ftsc counted " + std::to_string(n("gave_up") + n("passed") + n("budget")) +
             " given up or passed");
    } else if (n("injected") != 0) {
      fail(name + ": injected faults of an errno not injected");
    }
  }
  for (const auto& [name, count] : seen) {
    bool is_injected = false;
    for (const auto& pair : injected)
      is_injected |= pair == name;
    if (is_injected && injected_rows.count(name) == 0)
      fail(name + ": the programs saw " + std::to_string(count) + " failures ftsc did not count");
  }
  const auto& t = stats["total"];
  auto total = [&](const char* key) { return t.value(key, 0ull); };
  std::cout << "faults_injected " << total("injected") << "\n"
            << "calls_failed " << total("calls") << "\n"
            << "retries " << total("retries") << "\n"
            << "recovered " << total("recovered") << "\n"
            << "gave_up " << total("gave_up") << "\n"
            << "passed " << total("passed") << "\n"
            << "budget " << total("budget") << "\n"
            << "guard_unknown " << total("guard_unknown") << "\n"
            << "waited_s " << static_cast<double>(total("wait_ns")) / 1e9 << "\n";
  if (total("injected") == 0)
    fail(path + ": no fault was injected");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: soak_check DIR CLIENTS STATS_JSON [SYSCALL=ERRNO...]\n";
    return 2;
  }
  std::string dir = argv[1];
  auto clients = static_cast<uint32_t>(std::stoul(argv[2]));
  std::vector<std::string> injected(argv + 4, argv + argc);

  std::set<Key> acked = read_acked(dir, clients);
  std::map<Key, int> in_log = read_log(dir + "/records.log");
  std::map<Key, int> in_db = read_db(dir + "/records.db");
  int missing_log = 0, missing_db = 0;
  for (const Key& k : acked) {
    auto l = in_log.find(k);
    auto d = in_db.find(k);
    if (l == in_log.end())
      ++missing_log;
    if (d == in_db.end())
      ++missing_db;
  }
  if (missing_log)
    fail(std::to_string(missing_log) + " acknowledged records are not in records.log");
  if (missing_db)
    fail(std::to_string(missing_db) + " acknowledged records are not in records.db");
  uint64_t twice_log = 0, unacked_log = 0, unacked_db = 0;
  for (const auto& [k, count] : in_log) {
    twice_log += count > 1;
    unacked_log += acked.count(k) == 0;
  }
  for (const auto& [k, count] : in_db) {
    if (count > 1)
      fail("records.db holds a record more than once");
    unacked_db += acked.count(k) == 0;
  }
  if (twice_log)
    fail(std::to_string(twice_log) + " records are in records.log more than once");
  std::cout << "records_acked " << acked.size() << "\n"
            << "records_in_log " << in_log.size() << "\n"
            << "records_in_db " << in_db.size() << "\n"
            << "stored_unacked " << std::max(unacked_log, unacked_db) << "\n";
  check_stats(argv[3], injected, read_seen(dir));
  return failures == 0 ? 0 : 1;
}
