/*
 * What the C test programs share: checks that end the program with the failing line, and
 * helpers for ports and child processes.
 */
#ifndef RAFTORAL_TEST_CHECK_H
#define RAFTORAL_TEST_CHECK_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "raftoral.h"

static int checks;

#define CHECK(cond)                                                      \
  do {                                                                   \
    checks++;                                                            \
    if (!(cond)) {                                                       \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      exit(1);                                                           \
    }                                                                    \
  } while (0)

/* Checks that `call` failed with `code` and an error whose message contains `text`. */
#define CHECK_FAILS(call, code, text)                                                          \
  do {                                                                                         \
    raftoral_error_t *err_ = NULL;                                                             \
    raftoral_status_t status_ = call;                                                          \
    checks++;                                                                                  \
    if (status_ != (code) || err_ == NULL || raftoral_error_code(err_) != (code) ||            \
        strstr(raftoral_error_message(err_), (text)) == NULL) {                                \
      fprintf(stderr, "%s:%d: %s returned %d (%s), expected %d with \"%s\"\n", __FILE__, __LINE__, \
              #call, status_, err_ ? raftoral_error_message(err_) : "no error", (code), (text)); \
      exit(1);                                                                                 \
    }                                                                                          \
    raftoral_error_free(err_);                                                                 \
  } while (0)

#define CHECK_OK(call)                                                                          \
  do {                                                                                          \
    raftoral_error_t *err_ = NULL;                                                              \
    raftoral_status_t status_ = call;                                                           \
    checks++;                                                                                   \
    if (status_ != RAFTORAL_OK || err_ != NULL) {                                               \
      fprintf(stderr, "%s:%d: %s failed: %d %s\n", __FILE__, __LINE__, #call, status_,            \
              err_ ? raftoral_error_message(err_) : "");                                        \
      exit(1);                                                                                  \
    }                                                                                           \
  } while (0)

/* A port free on 127.0.0.1 at the time of the call. */
static inline int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  bind(fd, (struct sockaddr *)&addr, sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, (struct sockaddr *)&addr, &len);
  close(fd);
  return ntohs(addr.sin_port);
}

/* Waits up to `seconds` for a child process; kills it when it is still running (it hung). */
static inline int wait_child(pid_t child, int seconds) {
  for (int i = 0; i < seconds * 100; i++) {
    int status = 0;
    if (waitpid(child, &status, WNOHANG) == child) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    usleep(10 * 1000);
  }
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  return -1;
}

#endif
