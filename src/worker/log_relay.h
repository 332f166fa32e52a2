/* SPDX-License-Identifier: MIT */
/* The forker's relay of its workers' log lines to the server's stderr. A
 * worker writes into a pipe, never to the operator's terminal; the relay
 * passes whole lines on with every byte a terminal could act on (escape
 * sequences, control characters) written as \xNN, so a worker that a
 * guest owns can add lines to the log but cannot drive the terminal. */
#ifndef VS_WORKER_LOG_RELAY_H
#define VS_WORKER_LOG_RELAY_H

#include <stddef.h>

/* A log line is at most this long (base/log.c's); longer runs are cut
 * into lines of this length. */
#define VS_LOG_RELAY_LINE 1024

struct vs_log_relay {
   char line[VS_LOG_RELAY_LINE * 4 + 2]; /* each byte may become \xNN */
   size_t len;   /* bytes of `line` */
   size_t taken; /* input bytes of the current line */
   int out_fd;
};

void vs_log_relay_init(struct vs_log_relay *relay, int out_fd);

/* Passes `size` bytes read from the pipe on; each completed line is
 * written with one write(2). */
void vs_log_relay_feed(struct vs_log_relay *relay, const char *bytes, size_t size);

/* Writes out an unfinished last line (at the end). */
void vs_log_relay_flush(struct vs_log_relay *relay);

#endif
