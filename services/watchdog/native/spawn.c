// ferry-spawn: starts the watchdog's function processes: one per call in fork and stream modes,
// the long-running one (and its restarts) in http mode.
//
// Node's child_process forks the whole calling process and waits for the child to exec; the
// copy of a Node process's memory map costs about a millisecond of CPU per call, more than the
// function (cat, say) itself. posix_spawn here uses vfork: no copy at all. And a watchdog killed
// outright (SIGKILL, OOM) cannot end its functions itself: its end of our stdin closes instead.
//
//   ferry-spawn <socket path> <file> [args...]
//
// Requests arrive on stdin, one frame per process: a little-endian u32 length, then a u32 id,
// then NUL-terminated "KEY=VALUE" variables added to (or replacing) this process's environment.
// For each request the helper makes three connections to the watchdog's Unix socket, writes
// "i<id>\n", "o<id>\n" and "e<id>\n" on them, and starts the process with them as its stdin,
// stdout and stderr, in a session of its own (as Node's `detached`). Replies on stdout, a line
// each: "p <id> <pid>" started, "f <id> <errno>" could not start, "x <id> <wait status>" exited.
// When stdin closes (the watchdog is gone), the process group of every process still running is
// killed (SIGKILL), so helpers a function started in its process group go with it.
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct child { pid_t pid; uint32_t id; };
static struct child *children;
static size_t nchildren, capchildren;
static struct sockaddr_un addr = {.sun_family = AF_UNIX};
static posix_spawnattr_t attr;
static char **argv_cmd;

static void kill_all(void) {
  for (size_t i = 0; i < nchildren; i++) kill(-children[i].pid, SIGKILL);
}

static void reply(const char *fmt, uint32_t id, long value) {
  if (printf(fmt, id, value) < 0) { kill_all(); _exit(1); }
}

/* A connection to the watchdog announcing itself as `kind` of process `id`; -1 on failure. */
static int announce(char kind, uint32_t id) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  while (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    if (errno == EINTR) continue;
    close(fd);
    return -1;
  }
  char head[16];
  int len = snprintf(head, sizeof head, "%c%u\n", kind, id);
  if (write(fd, head, (size_t)len) != len) { close(fd); return -1; }
  return fd;
}

/* The environment: the request's variables, then ours that they do not replace. */
static char **environment(char *vars, size_t len) {
  size_t nvars = 0, nenv = 0;
  for (size_t i = 0; i < len; i++) if (vars[i] == '\0') nvars++;
  while (environ[nenv]) nenv++;
  char **env = malloc((nvars + nenv + 1) * sizeof *env);
  if (!env) return NULL;
  size_t n = 0;
  for (char *v = vars; v < vars + len; v += strlen(v) + 1) env[n++] = v;
  for (size_t i = 0; i < nenv; i++) {
    const char *eq = strchr(environ[i], '=');
    size_t key = eq ? (size_t)(eq - environ[i]) + 1 : strlen(environ[i]);
    int replaced = 0;
    for (size_t j = 0; j < nvars && !replaced; j++) replaced = strncmp(env[j], environ[i], key) == 0;
    if (!replaced) env[n++] = environ[i];
  }
  env[n] = NULL;
  return env;
}

static void start(uint32_t id, char *vars, size_t len) {
  int fds[3] = {-1, -1, -1};
  const char kinds[3] = {'i', 'o', 'e'};
  char **env = NULL;
  int err = 0;
  for (int i = 0; i < 3 && !err; i++) if ((fds[i] = announce(kinds[i], id)) < 0) err = errno ? errno : EIO;
  if (!err && !(env = environment(vars, len))) err = ENOMEM;
  pid_t pid = 0;
  if (!err) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    for (int i = 0; i < 3; i++) posix_spawn_file_actions_adddup2(&fa, fds[i], i);
    err = posix_spawnp(&pid, argv_cmd[0], &fa, &attr, argv_cmd, env);
    posix_spawn_file_actions_destroy(&fa);
  }
  free(env);
  for (int i = 0; i < 3; i++) if (fds[i] >= 0) close(fds[i]);
  if (err) return reply("f %u %ld\n", id, err);
  if (nchildren == capchildren) {
    capchildren = capchildren ? capchildren * 2 : 64;
    children = realloc(children, capchildren * sizeof *children);
    if (!children) { kill(-pid, SIGKILL); kill_all(); _exit(1); }
  }
  children[nchildren++] = (struct child){pid, id};
  reply("p %u %ld\n", id, pid);
}

static void reap(void) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    for (size_t i = 0; i < nchildren; i++) {
      if (children[i].pid != pid) continue;
      reply("x %u %ld\n", children[i].id, status);
      children[i] = children[--nchildren];
      break;
    }
  }
}

int main(int argc, char **argv) {
  if (argc < 3 || strlen(argv[1]) >= sizeof addr.sun_path) {
    fprintf(stderr, "usage: ferry-spawn <socket path> <file> [args...]\n");
    return 2;
  }
  strcpy(addr.sun_path, argv[1]);
  argv_cmd = argv + 2;
  signal(SIGPIPE, SIG_IGN);
  // The watchdog's process group may be signalled as a whole; the watchdog says when to go.
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  sigset_t chld, none, defaults;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) { perror("ferry-spawn: signalfd"); return 1; }
  // Children start with no signal blocked and the default action for those ignored here.
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGHUP);
  posix_spawnattr_init(&attr);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);

  static char buf[1 << 20];
  size_t have = 0;
  for (;;) {
    if (fflush(stdout) == EOF) { kill_all(); return 1; }
    struct pollfd p[2] = {{0, POLLIN, 0}, {sfd, POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      kill_all();
      return 1;
    }
    if (p[1].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) > 0) {}
      reap();
    }
    if (!p[0].revents) continue;
    ssize_t n = read(0, buf + have, sizeof buf - have);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) { kill_all(); return 0; }
    have += (size_t)n;
    size_t at = 0;
    while (have - at >= 8) {
      uint32_t len, id;
      memcpy(&len, buf + at, 4);
      if (len < 4 || len > sizeof buf - 4) {
        fprintf(stderr, "ferry-spawn: bad frame length %u\n", len);
        kill_all();
        return 1;
      }
      if (have - at < 4 + (size_t)len) break;
      memcpy(&id, buf + at + 4, 4);
      char *vars = buf + at + 8;
      size_t vlen = len - 4;
      if (vlen > 0 && vars[vlen - 1] != '\0') {
        fprintf(stderr, "ferry-spawn: unterminated variable in frame %u\n", id);
        kill_all();
        return 1;
      }
      start(id, vars, vlen);
      at += 4 + (size_t)len;
    }
    memmove(buf, buf + at, have - at);
    have -= at;
  }
}
