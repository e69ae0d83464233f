#define _GNU_SOURCE
/*
 * The reference for `npm run bench`: a minimal C program with epoll and non-blocking sockets
 * that does what one fourtuple `max` worker does: listen on 127.0.0.1:0, open N connections to
 * itself with a bounded in-flight window, accept them, then reset them all. Prints one JSON line
 * with how long the ramp took, so the benchmark can report fourtuple's rate as a ratio to C's
 * measured in the same run on the same machine.
 *
 *   epoll_ref CONNECTIONS WINDOW [hold]
 *
 * With `hold`, it prints its line when the ramp is done and keeps every connection open until
 * its stdin closes, so a launcher can hold N connections across many processes and time the
 * whole run by the wall clock, as fourtuple max is timed. A line `verify` on stdin meanwhile
 * makes it verify every connection as fourtuple does (one byte sent on each client, echoed by
 * its server end, read back; at most 512 awaited at once) and print {"verifyMs","alive"}.
 * Teardown is fourtuple's: the server ends inherit SO_LINGER {1,0} from the listener, so a
 * plain close() resets them (and their clients), then the clients are closed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  int target = argc > 1 ? atoi(argv[1]) : 9000;
  int window = argc > 2 ? atoi(argv[2]) : 128;
  int hold = argc > 3 && strcmp(argv[3], "hold") == 0;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct linger lg = {1, 0};
  setsockopt(lfd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg); /* inherited by accepted sockets */
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 4096) < 0) {
    perror("listen");
    return 2;
  }
  socklen_t len = sizeof sa;
  getsockname(lfd, (struct sockaddr *)&sa, &len);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);

  int *fds = calloc((size_t)target * 2 + 16, sizeof(int));
  /* by descriptor: 1 client, 2 server */
  unsigned char *role = calloc(1 << 20, 1);
  int nfds = 0, established = 0, accepted = 0, inflight = 0, started = 0, failed = 0;
  struct epoll_event events[1024];
  double t0 = now_ms();
  while ((established < target || accepted < established) && failed == 0) {
    while (inflight < window && started < target) {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) { failed = errno; break; }
      started++;
      if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
        failed = errno;
        close(fd);
        break;
      }
      struct epoll_event cev = {.events = EPOLLOUT | EPOLLIN | EPOLLET, .data.fd = fd};
      epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
      fds[nfds++] = fd;
      role[fd] = 1;
      inflight++;
    }
    int n = epoll_wait(ep, events, 1024, 1);
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd;
      if (fd == lfd) {
        int a;
        while ((a = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          struct epoll_event aev = {.events = EPOLLIN | EPOLLET, .data.fd = a};
          epoll_ctl(ep, EPOLL_CTL_ADD, a, &aev);
          fds[nfds++] = a;
          role[a] = 2;
          accepted++;
        }
      } else if (events[i].events & (EPOLLERR | EPOLLHUP)) {
        failed = ECONNREFUSED;
      } else if (events[i].events & EPOLLOUT) {
        inflight--;
        established++;
      }
    }
  }
  double ramp = now_ms() - t0;
  if (hold) {
    printf("{\"established\":%d,\"accepted\":%d,\"rampMs\":%.1f,\"failed\":%d}\n", established,
           accepted, ramp, failed);
    fflush(stdout);
    char buf[64];
    ssize_t r;
    while ((r = read(0, buf, sizeof buf)) > 0) {
      if (r < 6 || memcmp(buf, "verify", 6) != 0) continue;
      double tv = now_ms();
      int alive = 0, outstanding = 0, cursor = 0;
      char b[4096];
      while (cursor < nfds || outstanding > 0) {
        while (outstanding < 512 && cursor < nfds) {
          int fd = fds[cursor++];
          if (role[fd] == 1 && send(fd, "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1) outstanding++;
        }
        int n = epoll_wait(ep, events, 1024, 1);
        for (int i = 0; i < n; i++) {
          int fd = events[i].data.fd;
          ssize_t got = recv(fd, b, sizeof b, MSG_DONTWAIT);
          if (got <= 0) continue;
          if (role[fd] == 2) send(fd, b, (size_t)got, MSG_DONTWAIT | MSG_NOSIGNAL);
          else if (role[fd] == 1) {
            alive++;
            outstanding--;
          }
        }
      }
      printf("{\"verifyMs\":%.1f,\"alive\":%d}\n", now_ms() - tv, alive);
      fflush(stdout);
    }
  }
  for (int pass = 2; pass >= 1; pass--) {
    for (int i = 0; i < nfds; i++) {
      if (role[fds[i]] == pass) close(fds[i]);
    }
  }
  if (!hold) {
    printf("{\"established\":%d,\"accepted\":%d,\"rampMs\":%.1f,\"failed\":%d}\n", established,
           accepted, ramp, failed);
  }
  return failed ? 1 : 0;
}
