/* SPDX-License-Identifier: MIT */
/* The forker's relay of one worker's log lines to the server's stderr. A
 * worker writes into a pipe of its own, never to the operator's terminal;
 * the relay passes whole lines on, each led by "worker process PID: ", so
 * that no worker can write a line that reads as the server's or glue its
 * half line to another worker's. Every byte a terminal could act on
 * (escape sequences, control characters) is written as \xNN, so a worker
 * that a guest owns can add lines to the log but cannot drive the
 * terminal. Past VS_LOG_RELAY_BURST lines at once, or
 * VS_LOG_RELAY_PER_SECOND a second, its lines are dropped and counted; one
 * line tells the count once it may log again, or at its end. At debug
 * level, which an operator chooses to see everything, nothing is dropped. */
#ifndef VS_WORKER_LOG_RELAY_H
#define VS_WORKER_LOG_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/rate_limit.h"

/* A log line is at most this long (base/log.c's); longer runs are cut
 * into lines of this length. */
#define VS_LOG_RELAY_LINE 1024
#define VS_LOG_RELAY_BURST 256
#define VS_LOG_RELAY_PER_SECOND 32

struct vs_log_relay {
   char line[32 + VS_LOG_RELAY_LINE * 4 + 2]; /* the prefix; each byte may become \xNN */
   size_t prefix_len;
   size_t len;   /* bytes of `line` */
   size_t taken; /* input bytes of the current line */
   int out_fd;
   int pid;
   struct vs_rate_limit bucket; /* its lines; dropped: not passed on since the last count told */
   bool limited;                /* false: every line passes (debug level) */
};

/* The relay of worker `pid`'s lines, its bucket full at `now_ns`. */
void vs_log_relay_init(struct vs_log_relay *relay, int out_fd, int pid, uint64_t now_ns);

/* Passes `size` bytes read from the worker's pipe on; each completed line
 * is written with one write(2). */
void vs_log_relay_feed(struct vs_log_relay *relay, const char *bytes, size_t size, uint64_t now_ns);

/* At the worker's end: writes out an unfinished last line and the count
 * of lines dropped. */
void vs_log_relay_flush(struct vs_log_relay *relay, uint64_t now_ns);

#endif
