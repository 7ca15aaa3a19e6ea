/* The floor of a wake on this machine: the CPU time one thread spends, per wake, to sleep in
 * epoll_wait and wake again, with no work between wakes. rcload's generator at a fixed rate
 * sleeps and wakes like this between actions, so this cost is part of its CPU per action.
 *
 * usage: wake-floor timer PERIOD_US SECONDS   a timerfd wakes this thread every PERIOD_US
 *        wake-floor socket PERIOD_US SECONDS  a child on another CPU writes a byte to a socket
 *                                             every PERIOD_US (as a server's answer would)
 * Prints: mode, period, wakes, CPU µs per wake (the thread's sum_exec_runtime, which the
 * scheduler keeps to the nanosecond, from /proc/thread-self/schedstat).
 * Run it pinned: taskset -c 1 wake-floor timer 200 10 (the socket child pins itself to CPU 0).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int timer_fd(long period_us, int flags) {
    int fd = timerfd_create(CLOCK_MONOTONIC, flags);
    struct itimerspec its = {{period_us / 1000000, (period_us % 1000000) * 1000},
                             {period_us / 1000000, (period_us % 1000000) * 1000}};
    if (fd < 0 || timerfd_settime(fd, 0, &its, NULL) != 0) {
        perror("timerfd");
        exit(1);
    }
    return fd;
}

static unsigned long long run_ns(void) {
    unsigned long long run = 0;
    FILE *f = fopen("/proc/thread-self/schedstat", "r");
    if (!f || fscanf(f, "%llu", &run) != 1) {
        perror("schedstat");
        exit(1);
    }
    fclose(f);
    return run;
}

int main(int argc, char **argv) {
    if (argc != 4 || (strcmp(argv[1], "timer") && strcmp(argv[1], "socket"))) {
        fprintf(stderr, "usage: wake-floor timer|socket PERIOD_US SECONDS\n");
        return 2;
    }
    int socket_mode = strcmp(argv[1], "socket") == 0;
    long period_us = atol(argv[2]);
    int secs = atoi(argv[3]);
    if (period_us <= 0 || secs <= 0) {
        fprintf(stderr, "PERIOD_US and SECONDS must be positive\n");
        return 2;
    }
    int fd;
    pid_t child = -1;
    if (socket_mode) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0) {
            perror("socketpair");
            return 1;
        }
        child = fork();
        if (child < 0) {
            perror("fork");
            return 1;
        }
        if (child == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(0, &set);
            sched_setaffinity(0, sizeof set, &set);
            int tf = timer_fd(period_us, 0);
            for (;;) {
                uint64_t n;
                if (read(tf, &n, 8) != 8) _exit(1);
                /* A full socket (the reader behind) skips a byte; a closed one ends the child. */
                if (write(sv[1], "x", 1) < 0 && errno != EAGAIN) _exit(0);
            }
        }
        close(sv[1]);
        fd = sv[0];
    } else {
        fd = timer_fd(period_us, TFD_NONBLOCK);
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.fd = fd};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    /* One second to settle, then the measured window. */
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long wakes = 0;
    unsigned long long r0 = 0;
    int measuring = 0;
    for (;;) {
        struct epoll_event e[8];
        /* Bounded: a second without a wake ends the run. */
        int got = epoll_wait(ep, e, 8, 1000);
        if (got == 0) {
            fprintf(stderr, "no wake for a second\n");
            return 1;
        }
        if (got < 0) continue;
        char buf[64];
        while (read(fd, buf, sizeof buf) > 0) {
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
        double el = (t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9;
        if (!measuring && el >= 1.0) {
            measuring = 1;
            r0 = run_ns();
            wakes = 0;
        } else if (measuring) {
            wakes++;
            if (el >= 1.0 + secs) break;
        }
    }
    unsigned long long r1 = run_ns();
    if (child > 0) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
    }
    printf("%s %ld %ld %.2f\n", argv[1], period_us, wakes, (r1 - r0) / 1e3 / wakes);
    return 0;
}
