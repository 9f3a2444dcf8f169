// SPDX-License-Identifier: Apache-2.0
#include "support/capabilities.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "support/run_process.h"

namespace ftsc::test {
namespace {

std::string error_text(int err) {
  const char* name = strerrorname_np(err);
  return std::string(std::strerror(err)) + " (" + (name ? name : std::to_string(err)) + ")";
}

// "exited 3", "was killed by signal 11 (Segmentation fault)".
std::string describe_status(int status) {
  if (WIFEXITED(status))
    return "exited " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  return "ended with wait status " + std::to_string(status);
}

// The first line of a tool's complaint, for a reason that fits on a line.
std::string first_line(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  return line.empty() ? "(it said nothing)" : line;
}

int wait_for(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

// A child that blocks until the returned pipe's write end (in `release`) is
// closed, or -1 with errno.
pid_t blocked_child(int* release, int* child_fd) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return -1;
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[1]);
    char c;
    ssize_t ignored = read(fds[0], &c, 1);
    (void)ignored;
    _exit(0);
  }
  close(fds[0]);
  if (pid < 0) {
    int err = errno;
    close(fds[1]);
    errno = err;
    return -1;
  }
  *release = fds[1];
  *child_fd = fds[0];  // its number in the child
  return pid;
}

// Runs a tool found in PATH; "" when it exits 0.
std::string tool_fails(const std::string& name, const std::string& package,
                       std::vector<std::string> args, const std::string& what) {
  std::string path = find_program(name);
  if (path.empty())
    return name + " is not in PATH (Debian: apt-get install " + package + ")";
  args.insert(args.begin(), path);
  ProcessResult r = run_process(args);
  if (r.exit_code == 0)
    return {};
  return what + " failed (exit " + std::to_string(r.exit_code) + "): " + first_line(r.err);
}

}  // namespace

std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos)
    return access(name.c_str(), X_OK) == 0 ? name : std::string();
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    std::string full = (dir.empty() ? "." : dir) + "/" + name;
    struct stat st {};
    if (stat(full.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(full.c_str(), X_OK) == 0)
      return full;
  }
  return {};
}

std::string exec_32bit_missing(const std::string& program) {
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0)
    return "pipe2: " + error_text(errno);
  pid_t pid = fork();
  if (pid == 0) {
    close(report[0]);
    char* argv[] = {const_cast<char*>(program.c_str()), nullptr};
    execve(argv[0], argv, environ);
    int err = errno;
    ssize_t ignored = write(report[1], &err, sizeof err);
    (void)ignored;
    _exit(127);
  }
  close(report[1]);
  int err = 0;
  ssize_t got = pid > 0 ? read(report[0], &err, sizeof err) : -1;
  close(report[0]);
  if (pid < 0)
    return "fork: " + error_text(errno);
  wait_for(pid);
  if (got == static_cast<ssize_t>(sizeof err))
    return "the kernel refuses to run a 32-bit program: execve(" + program +
           "): " + error_text(err);
  return {};
}

std::string int80_missing() {
  pid_t pid = fork();
  if (pid == 0) {
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");  // i386 getpid
    _exit(ret == static_cast<long>(syscall(SYS_getpid)) ? 0 : 1);
  }
  if (pid < 0)
    return "fork: " + error_text(errno);
  int st = wait_for(pid);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
    return {};
  return "this kernel has no 32-bit syscall entry: a 64-bit process's int 0x80 (i386 getpid) " +
         describe_status(st);
}

std::string ebpf_missing() {
#ifdef FTSC_TEST_BPF_DISABLED
  return "ftsc was built without its eBPF collector (-DFTSC_BPF=OFF)";
#else
  libbpf_print_fn_t previous = libbpf_set_print(nullptr);  // the reason says it all
  struct btf* vmlinux = btf__load_vmlinux_btf();
  int err = errno;
  libbpf_set_print(previous);
  if (vmlinux == nullptr)
    return "the kernel's BTF cannot be read (/sys/kernel/btf/vmlinux): " + error_text(err);
  int type = btf__find_by_name_kind(vmlinux, "btf_trace_sys_enter", BTF_KIND_TYPEDEF);
  btf__free(vmlinux);
  if (type < 0)
    return "the kernel's BTF has no sys_enter tracepoint (btf_trace_sys_enter)";
  // r0 = 0; exit
  struct bpf_insn insns[2] = {};
  insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
  insns[0].dst_reg = BPF_REG_0;
  insns[1].code = BPF_JMP | BPF_EXIT;
  bpf_prog_load_opts opts{};
  opts.sz = sizeof opts;
  opts.expected_attach_type = BPF_TRACE_RAW_TP;
  opts.attach_btf_id = static_cast<__u32>(type);
  int prog = bpf_prog_load(BPF_PROG_TYPE_TRACING, "ftsc_probe", "GPL", insns, 2, &opts);
  if (prog < 0) {
    err = errno;
    std::string why = "bpf(BPF_PROG_LOAD) of a tp_btf/sys_enter program: " + error_text(err);
    if ((err == EPERM || err == EACCES) && geteuid() != 0)
      why += " (eBPF needs root: CAP_BPF and CAP_PERFMON)";
    return why;
  }
  int link = bpf_raw_tracepoint_open(nullptr, prog);
  err = errno;
  close(prog);
  if (link < 0)
    return "attaching a tp_btf/sys_enter program (bpf(BPF_RAW_TRACEPOINT_OPEN)): " +
           error_text(err);
  close(link);
  return {};
#endif
}

std::string cgroup2_missing(std::string* root) {
  root->clear();
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.find(" - cgroup2 ") == std::string::npos)
      continue;
    std::istringstream fields(line);
    std::string id, parent, dev, mount_root;
    fields >> id >> parent >> dev >> mount_root >> *root;
    break;
  }
  if (root->empty())
    return "no cgroup v2 hierarchy is mounted (/proc/self/mountinfo lists no cgroup2)";
  std::string group = *root + "/ftsc-probe-" + std::to_string(getpid());
  if (mkdir(group.c_str(), 0755) != 0 && errno != EEXIST)
    return "cannot create a cgroup under " + *root + ": " + error_text(errno);
  int release = -1, child_fd = -1;
  pid_t pid = blocked_child(&release, &child_fd);
  std::string why;
  if (pid < 0) {
    why = "fork: " + error_text(errno);
  } else {
    std::ofstream procs(group + "/cgroup.procs");
    procs << pid << std::endl;
    if (!procs)
      why = "cannot move a process into a new cgroup (" + group + "/cgroup.procs)";
    close(release);
    wait_for(pid);
  }
  // The child has exited: the group is empty again.
  if (rmdir(group.c_str()) != 0 && why.empty())
    why = "cannot remove the cgroup " + group + ": " + error_text(errno);
  return why;
}

std::string pidfd_getfd_missing() {
  int release = -1, child_fd = -1;
  pid_t pid = blocked_child(&release, &child_fd);
  if (pid < 0)
    return "fork: " + error_text(errno);
  std::string why;
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    why = "pidfd_open(2) of a child: " + error_text(errno);
  } else {
    int fd = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, child_fd, 0));
    if (fd < 0)
      why = "pidfd_getfd(2) of a child's fd: " + error_text(errno);
    else
      close(fd);
    close(pidfd);
  }
  close(release);
  wait_for(pid);
  return why;
}

std::string loopback_port_missing() {
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0)
    return "socket(AF_INET): " + error_text(errno);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  std::string why;
  int client = -1;
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    why = "cannot bind a port on 127.0.0.1: " + error_text(errno);
  else if (getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
           listen(listener, 1) != 0)
    why = "cannot listen on 127.0.0.1: " + error_text(errno);
  else if ((client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
           connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    why = "cannot connect to a port on 127.0.0.1: " + error_text(errno);
  if (why.empty()) {
    int accepted = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (accepted < 0)
      why = "cannot accept a connection on 127.0.0.1: " + error_text(errno);
    else
      close(accepted);
  }
  if (client >= 0)
    close(client);
  close(listener);
  return why;
}

std::string terminal_missing() {
  return tool_fails("script", "bsdutils", {"-qec", "true", "/dev/null"},
                    "script(1) running a command on a pseudo-terminal");
}

std::string unprivileged_user_missing(const std::string& program) {
  if (geteuid() != 0)
    return "running a program as another user (nobody) needs root";
  return tool_fails("setpriv", "util-linux",
                    {"--reuid=65534", "--regid=65534", "--clear-groups", program, "--version"},
                    "setpriv(1) running " + program + " as user nobody");
}

std::string chromium_missing() {
  std::string chromium = find_program("chromium");
  if (chromium.empty())
    return "chromium is not in PATH (Debian: apt-get install chromium)";
  TempDir dir;
  std::string page =
      dir.write("probe.html",
                "<!DOCTYPE html><p id=\"probe\">static</p>"
                "<script>document.getElementById('probe').textContent = 'scripted';</script>");
  ProcessResult r =
      run_process({"timeout", "120", chromium, "--headless", "--no-sandbox", "--disable-gpu",
                   "--disable-quic", "--no-first-run", "--disable-background-networking",
                   "--disable-component-update", "--disable-sync",
                   "--user-data-dir=" + dir.path() + "/profile", "--dump-dom", "file://" + page});
  if (r.exit_code == 0 && r.out.find("<p id=\"probe\">scripted</p>") != std::string::npos)
    return {};
  return "headless chromium cannot render a page (exit " + std::to_string(r.exit_code) +
         "): " + first_line(r.err);
}

std::string socket_activate_missing() {
  const std::string tool = find_program("systemd-socket-activate");
  if (tool.empty())
    return "systemd-socket-activate is not in PATH (Debian: apt-get install systemd)";
  TempDir dir;
  const std::string socket_path = dir.path() + "/probe.sock";
  const pid_t pid = fork();
  if (pid < 0)
    return "fork: " + error_text(errno);
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    dup2(null, 1);
    dup2(null, 2);
    for (const char* var : {"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"})
      unsetenv(var);  // the tool would pass them on
    execl(tool.c_str(), tool.c_str(), "-l", socket_path.c_str(), "true", nullptr);
    _exit(127);
  }
  std::string why;
  int client = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
  bool connected = false;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!connected && std::chrono::steady_clock::now() < end) {
    connected = connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (!connected)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!connected) {
    why = "systemd-socket-activate did not listen on " + socket_path + " within 5 s";
    kill(pid, SIGKILL);
  }
  if (client >= 0)
    close(client);
  const int status = wait_for(pid);
  if (why.empty() && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
    why = "systemd-socket-activate starting true " + describe_status(status);
  return why;
}

std::string systemd_analyze_missing() {
  TempDir dir;
  const std::string unit = dir.write("ftsc-probe.service",
                                     "[Unit]\nDescription=probe\n[Service]\nType=oneshot\n"
                                     "ExecStart=/bin/true\n");
  return tool_fails("systemd-analyze", "systemd", {"verify", unit},
                    "systemd-analyze verify of a minimal unit");
}

std::string strace_missing() {
  return tool_fails("strace", "strace", {"-f", "-o", "/dev/null", "true"},
                    "strace(1) tracing true");
}

std::string valgrind_missing() {
  return tool_fails("valgrind", "valgrind", {"-q", "--error-exitcode=99", "true"},
                    "valgrind(1) running true");
}

}  // namespace ftsc::test
