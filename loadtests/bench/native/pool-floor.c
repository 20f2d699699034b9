// The floor under the watchdog issue's goal (d): one call to a pooled `cat` with nothing but the
// process in the way. A C parent starts N cats (posix_spawn, stdin and stdout pipes), lets them
// settle, then for each in turn writes the body, closes its stdin, reads its stdout to the end
// and waits for its exit status, which the watchdog needs to answer 200 or 500. No HTTP, no
// event loop, no Node. Prints: <calls> <p50 µs> <p99 µs> (time from the write to the status).
//   cc -O2 -o pool-floor pool-floor.c && ./pool-floor 200
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 200;
  if (n < 1) n = 1;
  int *in = calloc(n, sizeof *in), *out = calloc(n, sizeof *out);
  pid_t *pid = calloc(n, sizeof *pid);
  double *took = calloc(n, sizeof *took);
  char *args[] = {"cat", NULL};
  for (int i = 0; i < n; i++) {
    int a[2], b[2];
    if (pipe2(a, O_CLOEXEC) || pipe2(b, O_CLOEXEC)) return 1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, a[0], 0);
    posix_spawn_file_actions_adddup2(&fa, b[1], 1);
    if (posix_spawnp(&pid[i], "cat", &fa, NULL, args, environ)) return 1;
    posix_spawn_file_actions_destroy(&fa);
    close(a[0]);
    close(b[1]);
    in[i] = a[1];
    out[i] = b[0];
  }
  usleep(500000);
  char buf[4096];
  for (int i = 0; i < n; i++) {
    double t0 = now_us();
    if (write(in[i], "hello", 5) != 5) return 1;
    close(in[i]);
    while (read(out[i], buf, sizeof buf) > 0) {}
    int status;
    waitpid(pid[i], &status, 0);
    took[i] = now_us() - t0;
    close(out[i]);
  }
  qsort(took, n, sizeof *took, by_value);
  printf("%d %.0f %.0f\n", n, took[n / 2], took[(int)(n * 0.99)]);
  return 0;
}
