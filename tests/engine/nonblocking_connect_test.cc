// SPDX-License-Identifier: Apache-2.0
//
// Non-blocking connects under every userspace engine: the library wraps
// libc's connect and getsockopt (preload, and auto for calls made through
// libc), the supervisor stops connect and getsockopt(SO_ERROR) (ptrace, and
// auto for a static program). A client that connects as event loops do
// (EINPROGRESS, poll, SO_ERROR) to a server that starts listening 300 ms
// later fails natively with ECONNREFUSED and connects under ftsc when the
// policy retries connect ECONNREFUSED; the call is counted in the row
// "connect (async)". Real clients on real loopback: C programs that wait with
// poll, level- or edge-triggered epoll, Python, a static Go program built
// here from progs/go_connect, and, under the engines with the library, curl
// and a C program that decides on poll's POLLERR as curl does (the library
// meets them in poll; the supervisor does not: docs/engines.md).
//
// The server: a TCP socket the test binds to 127.0.0.1 port 0 and keeps
// bound, so that the port refuses connections (a bound socket that does not
// listen refuses them like a free port) and no one else can take it. A
// thread waits until the client's shell touches a gate file, just before it
// execs the client, then listens kLate later, accepts and sends one byte (or
// answers an HTTP request).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "cli/run_ftsc.h"
#include "engine/engine_support.h"
#include "support/capabilities.h"
#include "support/run_process.h"

namespace ftsc::test {
namespace {

using namespace std::chrono_literals;

constexpr auto kLate = 300ms;
// 1.5 s of retries in all: ample for a server 300 ms late.
constexpr const char* kBackoff = "100ms,200ms,400ms,800ms";
constexpr const char* kPython = "/usr/bin/python3";

constexpr const char* kCurl = "/usr/bin/curl";

// kByte: one byte, "x". kHttp: an HTTP/1.0 response, body "ok", after the
// request. kNever: the server never listens.
enum class Reply { kByte, kHttp, kNever };

class LateServer {
 public:
  LateServer(const TempDir& dir, Reply reply)
      : gate_(dir.path() + "/gate" + std::to_string(++servers_)), reply_(reply) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~LateServer() {
    stop_ = true;
    thread_.join();
    if (fd_ >= 0)
      close(fd_);
  }
  LateServer(const LateServer&) = delete;
  LateServer& operator=(const LateServer&) = delete;

  std::string port() const { return std::to_string(port_); }
  // Connections the server accepted.
  int accepted() const { return accepted_; }
  // The gate file: the server's clock starts when it appears.
  const std::string& gate() const { return gate_; }
  // argv that touches the gate, then execs command.
  std::vector<std::string> gated(const std::vector<std::string>& command) const {
    std::vector<std::string> argv = {"/bin/sh", "-c", ": > \"$0\" && exec \"$@\"", gate_};
    argv.insert(argv.end(), command.begin(), command.end());
    return argv;
  }

 private:
  void serve() {
    auto until = [this](auto pred) {
      while (!stop_ && !pred())
        std::this_thread::sleep_for(2ms);
      return !stop_;
    };
    if (!until([this] { return std::filesystem::exists(gate_); }))
      return;
    std::this_thread::sleep_for(kLate);
    if (reply_ == Reply::kNever || listen(fd_, 4) != 0)
      return;
    pollfd p{fd_, POLLIN, 0};
    if (!until([&] { return poll(&p, 1, 10) == 1; }))
      return;
    int conn = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0)
      return;
    ++accepted_;
    if (reply_ == Reply::kHttp) {
      std::string request;
      char buf[512];
      ssize_t n = 0;
      while (request.find("\r\n\r\n") == std::string::npos && (n = read(conn, buf, sizeof buf)) > 0)
        request.append(buf, static_cast<size_t>(n));
      const std::string response = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";
      EXPECT_EQ(write(conn, response.data(), response.size()),
                static_cast<ssize_t>(response.size()));
    } else {
      EXPECT_EQ(write(conn, "x", 1), 1);
    }
    close(conn);
  }

  static inline int servers_ = 0;
  std::string gate_;
  Reply reply_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

class NonBlockingConnect : public LeftoverCheckedEngineTest {
 protected:
  void SetUp() override {
    if (std::string why = loopback_port_missing(); !why.empty())
      GTEST_SKIP() << why;
  }
  ProcessResult under_ftsc(const LateServer& server, const std::vector<std::string>& options,
                           const std::string& stats, const std::vector<std::string>& command) {
    return run_under(options, stats, server.gated(command));
  }
  // argv under ftsc as it is (it touches the gate itself).
  ProcessResult run_under(const std::vector<std::string>& options, const std::string& stats,
                          const std::vector<std::string>& argv) {
    std::vector<std::string> args = {"run", "--engine", GetParam(), "--stats", stats};
    args.insert(args.end(), options.begin(), options.end());
    args.push_back("--");
    args.insert(args.end(), argv.begin(), argv.end());
    return run_ftsc(args);
  }
  std::vector<std::string> retry_refused() {
    return {"--retry", "connect=ECONNREFUSED", "--backoff", kBackoff};
  }
  // progs/nonblocking_connect in `mode` fails natively against a server that
  // listens kLate late, and connects under ftsc: one `connect (async)` call,
  // recovered after at least one retry.
  void expect_client_recovers(const TempDir& dir, const char* mode) {
    SCOPED_TRACE(mode);
    auto client = [&](const LateServer& s) {
      return std::vector<std::string>{prog("nonblocking_connect"), s.port(), mode};
    };
    LateServer first(dir, Reply::kByte);
    ProcessResult native = run_process(first.gated(client(first)));
    ASSERT_EQ(native.exit_code, 1) << native.out << native.err;
    EXPECT_TRUE(contains(native.out, "failed")) << native.out;
    EXPECT_TRUE(contains(native.out, "ECONNREFUSED")) << native.out;

    LateServer server(dir, Reply::kByte);
    const std::string stats = dir.path() + "/" + mode + ".json";
    ProcessResult r = under_ftsc(server, retry_refused(), stats, client(server));
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_TRUE(contains(r.out, "connected")) << r.out;
    EXPECT_TRUE(contains(r.out, " x\n")) << r.out;  // the server's byte
    nlohmann::json row = stats_row(stats, "connect (async)", "ECONNREFUSED");
    EXPECT_EQ(counter(row, "calls"), 1u) << row;
    EXPECT_EQ(counter(row, "recovered"), 1u) << row;
    EXPECT_GE(counter(row, "retries"), 1u) << row;
  }
};

// "failed MS ERRNO" or "connected MS BYTE": the milliseconds.
long milliseconds(const std::string& out) {
  size_t space = out.find(' ');
  return space == std::string::npos ? -1 : std::stol(out.substr(space + 1));
}

// However the client waits and learns the outcome: poll then SO_ERROR, poll
// then connect again (Perl, Ruby), level-triggered epoll, edge-triggered
// epoll (Go's netpoller), each then SO_ERROR.
TEST_P(NonBlockingConnect, EveryWayOfWaitingRecoversFromALateServer) {
  TempDir dir;
  for (const char* mode : {"poll", "connect-again", "epoll-lt", "epoll-et"})
    expect_client_recovers(dir, mode);
}

TEST_P(NonBlockingConnect, PythonCreateConnectionWithATimeoutRecovers) {
  if (access(kPython, X_OK) != 0)
    GTEST_SKIP() << kPython << " is not installed";
  TempDir dir;
  // Python starts slowly, and more so on a busy machine: it touches the gate
  // itself, just before it connects.
  auto python = [](const LateServer& s) {
    return std::vector<std::string>{
        kPython, "-c",
        "import socket, sys\n"
        "open(sys.argv[2], 'w').close()\n"
        "s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5)\n"
        "print(s.recv(1).decode())\n",
        s.port(), s.gate()};
  };
  LateServer first(dir, Reply::kByte);
  ProcessResult native = run_process(python(first));
  ASSERT_NE(native.exit_code, 0) << native.out;
  EXPECT_TRUE(contains(native.err, "ConnectionRefusedError")) << native.err;

  LateServer server(dir, Reply::kByte);
  const std::string stats = dir.path() + "/python.json";
  ProcessResult r = run_under(retry_refused(), stats, python(server));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "x\n");
  EXPECT_EQ(counter(stats_row(stats, "connect (async)", "ECONNREFUSED"), "recovered"), 1u);
}

TEST_P(NonBlockingConnect, AServerThatNeverComesUpIsRefusedAfterTheSchedule) {
  TempDir dir;
  LateServer server(dir, Reply::kNever);
  const std::string stats = dir.path() + "/never.json";
  ProcessResult r =
      under_ftsc(server, {"--retry", "connect=ECONNREFUSED", "--backoff", "100ms,200ms"}, stats,
                 {prog("nonblocking_connect"), server.port()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "failed")) << r.out;
  EXPECT_TRUE(contains(r.out, "ECONNREFUSED")) << r.out;
  // Two waits of the schedule (100 ms and 200 ms) came before the last error.
  EXPECT_GE(milliseconds(r.out), 300) << r.out;
  nlohmann::json row = stats_row(stats, "connect (async)", "ECONNREFUSED");
  EXPECT_EQ(counter(row, "gave_up"), 1u) << row;
  EXPECT_EQ(counter(row, "retries"), 2u) << row;
  EXPECT_GE(counter(row, "wait_ns"), 300'000'000u) << row;
}

TEST_P(NonBlockingConnect, ANeverRulePassesTheErrorAtOnce) {
  TempDir dir;
  LateServer server(dir, Reply::kNever);
  // The policy retries connect (ETIMEDOUT), so the connect is remembered;
  // its ECONNREFUSED is never retried.
  const std::string policy = dir.write("never.toml",
                                       "version = 1\n"
                                       "[[rule]]\n"
                                       "syscalls = [\"connect\"]\n"
                                       "retry = [\"ETIMEDOUT\"]\n"
                                       "never = [\"ECONNREFUSED\"]\n"
                                       "backoff = [\"1s\"]\n");
  const std::string stats = dir.path() + "/never.json";
  ProcessResult r =
      under_ftsc(server, {"--policy", policy}, stats, {prog("nonblocking_connect"), server.port()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "ECONNREFUSED")) << r.out;
  nlohmann::json row = stats_row(stats, "connect (async)", "ECONNREFUSED");
  EXPECT_EQ(counter(row, "passed"), 1u) << row;
  EXPECT_EQ(counter(row, "retries"), 0u) << row;
}

TEST_P(NonBlockingConnect, DryRunCountsWouldRetryAndDoesNotRetry) {
  TempDir dir;
  LateServer server(dir, Reply::kNever);
  const std::string stats = dir.path() + "/dry.json";
  std::vector<std::string> options = retry_refused();
  options.push_back("--dry-run");
  ProcessResult r =
      under_ftsc(server, options, stats, {prog("nonblocking_connect"), server.port()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "ECONNREFUSED")) << r.out;
  nlohmann::json row = stats_row(stats, "connect (async)", "ECONNREFUSED");
  EXPECT_EQ(counter(row, "would_retry"), 1u) << row;
  EXPECT_EQ(counter(row, "retries"), 0u) << row;
  EXPECT_EQ(counter(row, "wait_ns"), 0u) << row;
}

// The budget applies: a process that may wait 150 ms per window gets its
// ECONNREFUSED once the next delay would go beyond that.
TEST_P(NonBlockingConnect, TheBudgetBoundsTheWaiting) {
  TempDir dir;
  LateServer server(dir, Reply::kNever);
  const std::string policy = dir.write("budget.toml",
                                       "version = 1\n"
                                       "[budget]\n"
                                       "window = \"10s\"\n"
                                       "max_wait = \"150ms\"\n"
                                       "[[rule]]\n"
                                       "syscalls = [\"connect\"]\n"
                                       "retry = [\"ECONNREFUSED\"]\n"
                                       "backoff = [\"100ms\", \"200ms\", \"400ms\"]\n");
  const std::string stats = dir.path() + "/budget.json";
  ProcessResult r =
      under_ftsc(server, {"--policy", policy}, stats, {prog("nonblocking_connect"), server.port()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "ECONNREFUSED")) << r.out;
  EXPECT_LT(milliseconds(r.out), 600) << r.out;  // not the schedule's 700 ms
  nlohmann::json row = stats_row(stats, "connect (async)", "ECONNREFUSED");
  EXPECT_EQ(counter(row, "retries"), 1u) << row;
  EXPECT_EQ(counter(row, "budget"), 1u) << row;
}

// The closer thread puts a new, unconnected socket in the fd's place while
// ftsc waits to reconnect: ftsc checks the socket's identity before each
// reconnect, so it connects neither the closed socket nor the new one, and
// the call ends (gave_up). The supervisor waits in the program's getsockopt,
// which then answers the last errno; the library waits in its poll (the
// closer starts before it), and the getsockopt that follows reads the new
// socket: 0.
TEST_P(NonBlockingConnect, ASocketClosedDuringTheWaitIsNeverConnectedAgain) {
  TempDir dir;
  const bool supervisor = std::string(GetParam()) == "ptrace";
  const char* when = supervisor ? "after-poll" : "before-poll";
  auto client = [&](const LateServer& s) {
    return std::vector<std::string>{prog("close_while_waiting"), s.port(), when};
  };
  LateServer first(dir, Reply::kByte);
  ProcessResult native = run_process(first.gated(client(first)));
  ASSERT_EQ(native.exit_code, 0) << native.err;
  ASSERT_EQ(native.out, "so_error ECONNREFUSED peer ENOTCONN\n");

  LateServer server(dir, Reply::kByte);
  const std::string stats = dir.path() + "/closed.json";
  ProcessResult r = under_ftsc(server, retry_refused(), stats, client(server));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            supervisor ? "so_error ECONNREFUSED peer ENOTCONN\n" : "so_error 0 peer ENOTCONN\n")
      << r.err;
  EXPECT_EQ(server.accepted(), 0);
  nlohmann::json row = stats_row(stats, "connect (async)", "ECONNREFUSED");
  EXPECT_EQ(counter(row, "calls"), 1u) << row;
  EXPECT_EQ(counter(row, "gave_up"), 1u) << row;
  EXPECT_EQ(counter(row, "recovered"), 0u) << row;
}

// Two connects in flight at once (happy eyeballs' IPv6 and IPv4 attempts
// side by side), to two late servers: each is remembered and retried on its
// own.
TEST_P(NonBlockingConnect, TwoConnectsInFlightAreEachRetried) {
  TempDir dir;
  auto client = [](const LateServer& a, const LateServer& b) {
    return a.gated(b.gated({prog("two_connects"), a.port(), b.port()}));
  };
  LateServer first_a(dir, Reply::kByte), first_b(dir, Reply::kByte);
  ProcessResult native = run_process(client(first_a, first_b));
  ASSERT_EQ(native.exit_code, 0) << native.err;
  ASSERT_EQ(native.out, "first ECONNREFUSED second ECONNREFUSED\n");

  LateServer a(dir, Reply::kByte), b(dir, Reply::kByte);
  const std::string stats = dir.path() + "/two.json";
  std::vector<std::string> args = {"run", "--engine", GetParam(), "--stats", stats};
  for (const std::string& o : retry_refused())
    args.push_back(o);
  args.push_back("--");
  for (const std::string& c : client(a, b))
    args.push_back(c);
  ProcessResult r = run_ftsc(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "first 0 second 0\n") << r.err;
  nlohmann::json row = stats_row(stats, "connect (async)", "ECONNREFUSED");
  EXPECT_EQ(counter(row, "calls"), 2u) << row;
  EXPECT_EQ(counter(row, "recovered"), 2u) << row;
}

// A signal with a handler during the wait ends it: getsockopt returns the
// errno at once, then the handler runs, and nothing connects afterwards.
TEST_P(NonBlockingConnect, ASignalDuringTheWaitEndsItWithTheErrno) {
  TempDir dir;
  const std::string expected = "so_error ECONNREFUSED handled 1 within 1s\n";
  LateServer first(dir, Reply::kByte);
  ProcessResult native =
      run_process(first.gated({prog("signal_during_connect_wait"), first.port()}));
  ASSERT_EQ(native.exit_code, 0) << native.err;
  ASSERT_EQ(native.out, expected);

  LateServer server(dir, Reply::kByte);
  const std::string stats = dir.path() + "/signal.json";
  ProcessResult r = under_ftsc(server, {"--retry", "connect=ECONNREFUSED", "--backoff", "2s,2s"},
                               stats, {prog("signal_during_connect_wait"), server.port()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, expected) << r.err;
  EXPECT_EQ(server.accepted(), 0);
  nlohmann::json row = stats_row(stats, "connect (async)", "ECONNREFUSED");
  EXPECT_EQ(counter(row, "gave_up"), 1u) << row;
  EXPECT_EQ(counter(row, "interrupted"), 1u) << row;
  EXPECT_EQ(counter(row, "retries"), 0u) << row;
}

// A connection that was established and then reset reads ECONNRESET from
// SO_ERROR as a failed handshake would: it is the program's own connection,
// never reconnected, even by a policy that retries connect ECONNRESET.
TEST_P(NonBlockingConnect, AnEstablishedConnectionThatIsResetIsNotReconnected) {
  TempDir dir;
  ProcessResult native = run_process({prog("established_reset")});
  ASSERT_EQ(native.exit_code, 0) << native.err;
  ASSERT_EQ(native.out, "so_error ECONNRESET accepted 1\n");
  const std::string stats = dir.path() + "/reset.json";
  ProcessResult r = run_under({"--retry", "connect=ECONNRESET,ECONNREFUSED", "--backoff", kBackoff},
                              stats, {prog("established_reset")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, native.out);
}

INSTANTIATE_TEST_SUITE_P(Engines, NonBlockingConnect,
                         ::testing::Values("ptrace", "preload", "auto"),
                         [](const ::testing::TestParamInfo<const char*>& engine) {
                           return std::string(engine.param);
                         });

// What only the library does: it meets a program that decides on poll's
// POLLERR in that poll (the supervisor acts at SO_ERROR and connect only).
class LibraryNonBlockingConnect : public NonBlockingConnect {};

// A C client that takes POLLERR as the failure whatever SO_ERROR says.
TEST_P(LibraryNonBlockingConnect, AClientThatDecidesOnPollerrRecovers) {
  TempDir dir;
  expect_client_recovers(dir, "pollerr");
}

// curl 7.88 waits with poll and gives up on POLLERR (CURLE_COULDNT_CONNECT,
// exit 7) after reading SO_ERROR only for its message.
TEST_P(LibraryNonBlockingConnect, CurlRecoversFromALateServer) {
  if (access(kCurl, X_OK) != 0)
    GTEST_SKIP() << kCurl << " is not installed";
  TempDir dir;
  auto curl = [](const LateServer& s) {
    return std::vector<std::string>{kCurl, "-sS", "--noproxy", "*",
                                    "http://127.0.0.1:" + s.port() + "/"};
  };
  LateServer first(dir, Reply::kHttp);
  ProcessResult native = run_process(first.gated(curl(first)));
  ASSERT_EQ(native.exit_code, 7) << native.out << native.err;  // couldn't connect

  LateServer server(dir, Reply::kHttp);
  const std::string stats = dir.path() + "/curl.json";
  ProcessResult r = under_ftsc(server, retry_refused(), stats, curl(server));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "ok");
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(counter(stats_row(stats, "connect (async)", "ECONNREFUSED"), "recovered"), 1u);

  // A server that never comes up: curl's own error, after the schedule.
  LateServer never(dir, Reply::kNever);
  const std::string never_stats = dir.path() + "/curl-never.json";
  ProcessResult refused =
      under_ftsc(never, {"--retry", "connect=ECONNREFUSED", "--backoff", "100ms,200ms"},
                 never_stats, curl(never));
  EXPECT_EQ(refused.exit_code, 7) << refused.out << refused.err;
  EXPECT_TRUE(contains(refused.err, "Failed to connect")) << refused.err;
  EXPECT_EQ(counter(stats_row(never_stats, "connect (async)", "ECONNREFUSED"), "gave_up"), 1u);
}

INSTANTIATE_TEST_SUITE_P(Engines, LibraryNonBlockingConnect, ::testing::Values("preload", "auto"),
                         [](const ::testing::TestParamInfo<const char*>& engine) {
                           return std::string(engine.param);
                         });

// A static Go client (progs/go_connect, the standard library only), built
// here: Go's net package makes its syscalls itself, so only the supervisor
// sees them (auto runs a static program under the supervisor alone).
class GoNonBlockingConnect : public NonBlockingConnect {
 protected:
  static void SetUpTestSuite() {
    ProcessResult where = run_process({"/bin/sh", "-c", "command -v go"});
    if (where.exit_code != 0) {
      why_not_ = "no Go toolchain (the golang-go package) to build progs/go_connect with";
      return;
    }
    build_dir_ = new TempDir();
    const std::string d = build_dir_->path();
    client_ = d + "/go_connect";
    // No network: the module needs nothing but the standard library. The
    // build cache lives in the build tree, so that only the first test that
    // builds the client pays for compiling Go's net package without cgo.
    ProcessResult built = run_process(
        {"/usr/bin/env", "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOPROXY=off", "GOTOOLCHAIN=local",
         "GOCACHE=" + std::string(FTSC_ENGINE_PROGS) + "/go-cache", "GOPATH=" + d + "/path",
         "HOME=" + d, "/bin/sh", "-c", "cd \"$0\" && exec go build -o \"$1\" .",
         std::string(FTSC_ENGINE_PROGS_SOURCE) + "/go_connect", client_});
    if (built.exit_code != 0)
      build_error_ = "go build failed: " + built.out + built.err;
  }
  static void TearDownTestSuite() {
    delete build_dir_;
    build_dir_ = nullptr;
  }
  void SetUp() override {
    NonBlockingConnect::SetUp();
    if (IsSkipped())
      return;
    if (!why_not_.empty())
      GTEST_SKIP() << why_not_;
    ASSERT_TRUE(build_error_.empty()) << build_error_;
  }

  static inline TempDir* build_dir_ = nullptr;
  static inline std::string client_;
  static inline std::string why_not_;
  static inline std::string build_error_;
};

TEST_P(GoNonBlockingConnect, AStaticGoClientRecoversFromALateServer) {
  TempDir dir;
  LateServer first(dir, Reply::kByte);
  ProcessResult native = run_process(first.gated({client_, first.port()}));
  ASSERT_EQ(native.exit_code, 1) << native.out << native.err;
  EXPECT_TRUE(contains(native.out, "failed")) << native.out;
  EXPECT_TRUE(contains(native.out, "ECONNREFUSED")) << native.out;

  LateServer server(dir, Reply::kByte);
  const std::string stats = dir.path() + "/go.json";
  ProcessResult r = under_ftsc(server, retry_refused(), stats, {client_, server.port()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "connected")) << r.out;
  EXPECT_TRUE(contains(r.out, " x\n")) << r.out;
  nlohmann::json row = stats_row(stats, "connect (async)", "ECONNREFUSED");
  EXPECT_EQ(counter(row, "calls"), 1u) << row;
  EXPECT_EQ(counter(row, "recovered"), 1u) << row;
  EXPECT_GE(counter(row, "retries"), 1u) << row;
}

TEST_P(GoNonBlockingConnect, AStaticGoClientIsRefusedAfterTheSchedule) {
  TempDir dir;
  LateServer server(dir, Reply::kNever);
  const std::string stats = dir.path() + "/go-never.json";
  ProcessResult r =
      under_ftsc(server, {"--retry", "connect=ECONNREFUSED", "--backoff", "100ms,200ms"}, stats,
                 {client_, server.port()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "ECONNREFUSED")) << r.out;
  EXPECT_GE(milliseconds(r.out), 300) << r.out;
  nlohmann::json row = stats_row(stats, "connect (async)", "ECONNREFUSED");
  EXPECT_EQ(counter(row, "gave_up"), 1u) << row;
  EXPECT_EQ(counter(row, "retries"), 2u) << row;
}

INSTANTIATE_TEST_SUITE_P(Engines, GoNonBlockingConnect, ::testing::Values("ptrace", "auto"),
                         [](const ::testing::TestParamInfo<const char*>& engine) {
                           return std::string(engine.param);
                         });

}  // namespace
}  // namespace ftsc::test
