// SPDX-License-Identifier: Apache-2.0
/* threads_fork_exec: a multithreaded program that also forks and execs, with
 * a late-file open in a second thread and another in the child after exec.
 *
 * The main thread starts a thread that opens file A, then forks a child that
 * execs this program again (/proc/self/exe --child B GATE_FD), which opens
 * file B. Both files are created by one helper child SC_LATE_MS after *both*
 * calls were announced at the gate (the exec'd child announces through the
 * inherited gate fd), so natively both opens fail with ENOENT whatever the
 * exec costs; an engine must follow the thread, the fork and the exec to make
 * both succeed.
 *
 * The exec'd child reports by its exit status: 0 when its open succeeded,
 * otherwise the errno of the open (so the parent can name it in its one line). */
#include <pthread.h>

#include "scenario.h"

#define CHILD_BAD_CONTENT 126
#define CHILD_EXEC_FAILED 127

struct opener {
  const struct sc_gate* gate;
  const char* path;
  int err; /* 0: opened and read what the helper wrote */
  int64_t ms;
  int bad_content;
};

static void open_late_file(struct opener* o) {
  sc_gate_pass(o->gate);
  const int64_t start = sc_now_ns();
  const int fd = open(o->path, O_RDONLY | O_CLOEXEC);
  o->err = fd < 0 ? errno : 0;
  o->ms = sc_ms_since(start);
  if (fd >= 0) {
    char content[4200];
    o->bad_content = sc_read_fd(fd, content, sizeof content) != 0 || strcmp(content, o->path) != 0;
    close(fd);
  }
}

static void* thread_main(void* arg) {
  open_late_file((struct opener*)arg);
  return NULL;
}

/* The program after exec: `--child PATH GATE_FD`. */
static int child_main(const char* path, const char* gate_fd) {
  struct sc_gate gate = {-1, atoi(gate_fd)};
  struct opener o = {&gate, path, 0, 0, 0};
  open_late_file(&o);
  if (o.err != 0)
    return o.err;
  return o.bad_content ? CHILD_BAD_CONTENT : 0;
}

static const char* describe_child(int status, char* buf, size_t size) {
  if (WIFSIGNALED(status))
    snprintf(buf, size, "killed by signal %d", WTERMSIG(status));
  else if (WEXITSTATUS(status) == 0)
    snprintf(buf, size, "open succeeded");
  else if (WEXITSTATUS(status) == CHILD_EXEC_FAILED)
    snprintf(buf, size, "exec of /proc/self/exe failed");
  else if (WEXITSTATUS(status) == CHILD_BAD_CONTENT)
    snprintf(buf, size, "open succeeded but the file does not hold what the helper wrote");
  else
    snprintf(buf, size, "open failed with %s", sc_errno_name(WEXITSTATUS(status)));
  return buf;
}

int main(int argc, char** argv) {
  sc_name = "threads_fork_exec";
  if (argc == 4 && strcmp(argv[1], "--child") == 0)
    return child_main(argv[2], argv[3]);

  char dir[4096];
  char path_thread[4200];
  char path_child[4200];
  sc_make_temp_dir(dir, sizeof dir);
  snprintf(path_thread, sizeof path_thread, "%s/for-thread", dir);
  snprintf(path_child, sizeof path_child, "%s/for-child", dir);

  struct sc_gate gate = sc_gate_open();
  struct sc_late_files late = {&gate, 2, 2, {path_thread, path_child}};
  const pid_t helper = sc_spawn_helper(sc_late_files_helper, &late);
  close(gate.read_fd);

  struct opener in_thread = {&gate, path_thread, 0, 0, 0};
  pthread_t thread;
  const int err = pthread_create(&thread, NULL, thread_main, &in_thread);
  if (err != 0)
    sc_setup_error("pthread_create: %s", strerror(err));

  /* The gate's write end goes to the exec'd child (no O_CLOEXEC there). */
  char gate_fd[16];
  snprintf(gate_fd, sizeof gate_fd, "%d", gate.write_fd);
  const pid_t child = fork();
  if (child < 0)
    sc_setup_error("fork: %s", strerror(errno));
  if (child == 0) {
    if (fcntl(gate.write_fd, F_SETFD, 0) != 0)
      _exit(CHILD_EXEC_FAILED);
    char* child_argv[] = {argv[0], "--child", path_child, gate_fd, NULL};
    execv("/proc/self/exe", child_argv);
    _exit(CHILD_EXEC_FAILED);
  }

  pthread_join(thread, NULL);
  const int child_status = sc_reap(child);
  sc_kill_and_reap(helper);
  sc_remove_late_file(path_thread);
  sc_remove_late_file(path_child);
  rmdir(dir);

  const int child_ok = WIFEXITED(child_status) && WEXITSTATUS(child_status) == 0;
  if (in_thread.err != 0 || in_thread.bad_content || !child_ok) {
    char child_text[128];
    char thread_text[128];
    if (in_thread.err != 0)
      snprintf(thread_text, sizeof thread_text, "open failed with %s after %lld ms",
               sc_errno_name(in_thread.err), (long long)in_thread.ms);
    else if (in_thread.bad_content)
      snprintf(thread_text, sizeof thread_text, "open succeeded but the content is wrong");
    else
      snprintf(thread_text, sizeof thread_text, "open succeeded after %lld ms",
               (long long)in_thread.ms);
    sc_fail(
        "second thread: %s; child after fork+exec: %s (both files appear %d ms after both "
        "calls)",
        thread_text, describe_child(child_status, child_text, sizeof child_text), SC_LATE_MS);
  }
  return SC_OK;
}
