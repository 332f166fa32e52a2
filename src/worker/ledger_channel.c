/* SPDX-License-Identifier: MIT */
#include "worker/ledger_channel.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/ledger.h"
#include "base/log.h"
#include "os/os.h"
#include "worker/worker_link.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* os_socket_prepare() set SO_NOSIGPIPE on the socket */
#endif

/* The server's thread only waits on its socket: a small stack. */
#define SERVE_STACK_BYTES (128u << 10)

enum message_type {
   LEDGER_CHARGE = 1, /* worker -> server: pool, bytes; answered */
   LEDGER_GIVE,       /* worker -> server: pool, bytes */
   LEDGER_ANSWER,     /* server -> worker: granted, held, limit, left */
};

/* One fixed size both ways; both ends are the same binary. */
struct ledger_message {
   uint32_t type;
   uint32_t pool;
   uint64_t bytes;
   uint64_t held;
   uint64_t limit;
   uint64_t left;
   uint32_t granted;
   uint32_t peer;
};

struct vs_ledger_channel {
   int fd;
   uint32_t ctx_id;
   struct vs_ledger_account *account; /* the thread's; closed when it ends */
   pthread_t thread;
   /* A live upgrade parks the thread between two messages: it leaves the
    * account open and the worker's next message unread. */
   struct os_event park;
   atomic_bool parking;
};

struct remote_port {
   struct vs_ledger_port port;
   int fd;
   uint32_t ctx_id;
   pthread_mutex_t lock;
   bool broken; /* the channel failed: every charge is refused */
};

/* 1: a whole message; 0: the end (a message cut short too); -1: an error. */
static int
recv_message(int fd, struct ledger_message *m)
{
   size_t done = 0;
   while (done < sizeof(*m)) {
      ssize_t n = recv(fd, (char *)m + done, sizeof(*m) - done, 0);
      if (n > 0)
         done += (size_t)n;
      else if (n == 0)
         return 0;
      else if (errno != EINTR)
         return errno == ECONNRESET ? 0 : -1;
   }
   return 1;
}

static bool
send_message(int fd, const struct ledger_message *m)
{
   size_t done = 0;
   while (done < sizeof(*m)) {
      ssize_t n = send(fd, (const char *)m + done, sizeof(*m) - done, MSG_NOSIGNAL);
      if (n > 0)
         done += (size_t)n;
      else if (n < 0 && errno != EINTR)
         return false;
   }
   return true;
}

static void *
serve(void *arg)
{
   struct vs_ledger_channel *ch = arg;
   os_thread_set_name("vs-ledger");
   struct ledger_message m;
   int got = 1;
   for (;;) {
      struct pollfd pfds[2] = { { .fd = ch->fd, .events = POLLIN }, { .fd = ch->park.read_fd, .events = POLLIN } };
      if (poll(pfds, 2, -1) < 0 && errno != EINTR) {
         got = -1;
         break;
      }
      if (atomic_load(&ch->parking))
         return NULL;
      if (!pfds[0].revents || (got = recv_message(ch->fd, &m)) <= 0) {
         if (got <= 0)
            break;
         continue;
      }
      if (m.pool >= VS_LEDGER_POOLS || (m.type != LEDGER_CHARGE && m.type != LEDGER_GIVE)) {
         vs_error(ch->ctx_id, "ledger: ending the channel of the client's worker process: message type %u for "
                  "pool %u; all it held is given back and its later charges are refused", m.type, m.pool);
         break;
      }
      if (m.type == LEDGER_GIVE) {
         vs_ledger_give(ch->account, (enum vs_ledger_pool)m.pool, m.bytes);
         continue;
      }
      struct vs_ledger_answer answer;
      vs_ledger_charge(ch->account, (enum vs_ledger_pool)m.pool, m.bytes, &answer);
      const struct ledger_message reply = { .type = LEDGER_ANSWER, .pool = m.pool, .bytes = m.bytes,
                                            .held = answer.held, .limit = answer.limit, .left = answer.left,
                                            .granted = answer.granted, .peer = answer.peer };
      if (!send_message(ch->fd, &reply))
         break;
   }
   if (got < 0)
      vs_warn(ch->ctx_id, "ledger: the channel of the client's worker process failed: %s", strerror(errno));
   /* The worker is gone (or cut off): its share is free for the others now,
    * not when its server thread gets round to closing the channel. */
   vs_ledger_close(ch->account);
   ch->account = NULL;
   /* A worker cut off sees the end of its channel, not a silence. */
   shutdown(ch->fd, SHUT_RDWR);
   return NULL;
}

static int
start_serving(struct vs_ledger_channel *ch)
{
   atomic_store(&ch->parking, false);
   os_event_drain(&ch->park);
   pthread_attr_t attr;
   int err = pthread_attr_init(&attr);
   if (!err) {
      pthread_attr_setstacksize(&attr, SERVE_STACK_BYTES);
      err = pthread_create(&ch->thread, &attr, serve, ch);
      pthread_attr_destroy(&attr);
   }
   return err;
}

/* A channel serving `fd` (taken on success) for an account of `peer_uid`
 * holding `held` (NULL: nothing). */
static struct vs_ledger_channel *
channel_start(struct vs_ledger *ledger, uint32_t peer_uid, uint32_t ctx_id, int fd, const uint64_t *held)
{
   struct vs_ledger_channel *ch = calloc(1, sizeof(*ch));
   if (!ch || os_event_init(&ch->park) != 0) {
      int err = ch ? errno : ENOMEM;
      free(ch);
      errno = err;
      return NULL;
   }
   ch->fd = fd;
   ch->ctx_id = ctx_id;
   ch->account = vs_ledger_open(ledger, peer_uid);
   for (unsigned pool = 0; ch->account && held && pool < VS_LEDGER_POOLS; pool++)
      vs_ledger_carry(ch->account, (enum vs_ledger_pool)pool, held[pool]);
   int err = ch->account ? start_serving(ch) : ENOMEM;
   if (err) {
      vs_ledger_close(ch->account);
      os_event_fini(&ch->park);
      free(ch);
      errno = err;
      return NULL;
   }
   return ch;
}

struct vs_ledger_channel *
vs_ledger_channel_open(struct vs_ledger *ledger, uint32_t peer_uid, uint32_t ctx_id, int *worker_fd)
{
   int fds[2] = { -1, -1 };
   if (vs_link_pair(fds) != 0)
      return NULL;
   struct vs_ledger_channel *ch = channel_start(ledger, peer_uid, ctx_id, fds[0], NULL);
   if (!ch) {
      int err = errno;
      close(fds[0]);
      close(fds[1]);
      errno = err;
      return NULL;
   }
   *worker_fd = fds[1];
   return ch;
}

struct vs_ledger_channel *
vs_ledger_channel_adopt(struct vs_ledger *ledger, uint32_t peer_uid, uint32_t ctx_id, int fd,
                        const uint64_t held[VS_LEDGER_POOLS])
{
   return channel_start(ledger, peer_uid, ctx_id, fd, held);
}

int
vs_ledger_channel_park(struct vs_ledger_channel *ch, uint64_t held[VS_LEDGER_POOLS])
{
   atomic_store(&ch->parking, true);
   os_event_signal(&ch->park);
   pthread_join(ch->thread, NULL);
   for (unsigned pool = 0; pool < VS_LEDGER_POOLS; pool++)
      held[pool] = ch->account ? vs_ledger_held(ch->account, (enum vs_ledger_pool)pool) : 0;
   /* An account closed meanwhile: the worker is gone or cut off. */
   return ch->account ? ch->fd : -1;
}

void
vs_ledger_channel_resume(struct vs_ledger_channel *ch)
{
   int err = ch->account ? start_serving(ch) : 0;
   if (err) {
      vs_error(ch->ctx_id, "ledger: cannot serve the channel of the client's worker process again (%s); all it "
               "held is given back and its later charges are refused", strerror(err));
      vs_ledger_close(ch->account);
      ch->account = NULL;
      shutdown(ch->fd, SHUT_RDWR);
   }
}

void
vs_ledger_channel_close(struct vs_ledger_channel *ch)
{
   if (!ch)
      return;
   shutdown(ch->fd, SHUT_RDWR);
   pthread_join(ch->thread, NULL);
   close(ch->fd);
   os_event_fini(&ch->park);
   free(ch);
}

/* Under port->lock: the channel failed; said once. A closed end is the
 * server ending this client (or being killed, as a stock VMM kills its
 * render server): all the account held was given back then, so it is no
 * error of this worker's. */
static void
port_broken(struct remote_port *port, int err, const char *why)
{
   const bool ended = err == EPIPE || err == ECONNRESET || err == 0;
   if (!port->broken)
      vs_log(ended ? VS_LOG_INFO : VS_LOG_ERROR, port->ctx_id, "ledger: %s (%s); this client's charges are refused "
             "from now on", ended ? "the server closed the channel" : "no answer from the server", why);
   port->broken = true;
}

static void
remote_charge(struct vs_ledger_port *base, enum vs_ledger_pool pool, uint64_t bytes, struct vs_ledger_answer *answer)
{
   struct remote_port *port = (struct remote_port *)base;
   const struct ledger_message ask = { .type = LEDGER_CHARGE, .pool = (uint32_t)pool, .bytes = bytes };
   struct ledger_message reply;
   *answer = (struct vs_ledger_answer){ .granted = false };
   pthread_mutex_lock(&port->lock);
   if (!port->broken && !send_message(port->fd, &ask))
      port_broken(port, errno, strerror(errno));
   int got = port->broken ? 0 : recv_message(port->fd, &reply);
   if (!port->broken && got <= 0)
      port_broken(port, got < 0 ? errno : 0, got < 0 ? strerror(errno) : "its end closed");
   else if (!port->broken && (reply.type != LEDGER_ANSWER || reply.pool != ask.pool || reply.bytes != bytes))
      port_broken(port, EPROTO, "an answer to another question");
   if (!port->broken)
      *answer = (struct vs_ledger_answer){ .granted = reply.granted != 0, .held = reply.held, .limit = reply.limit,
                                           .left = reply.left, .peer = reply.peer != 0 };
   pthread_mutex_unlock(&port->lock);
}

static void
remote_give(struct vs_ledger_port *base, enum vs_ledger_pool pool, uint64_t bytes)
{
   struct remote_port *port = (struct remote_port *)base;
   const struct ledger_message give = { .type = LEDGER_GIVE, .pool = (uint32_t)pool, .bytes = bytes };
   pthread_mutex_lock(&port->lock);
   if (!port->broken && !send_message(port->fd, &give))
      port_broken(port, errno, strerror(errno));
   pthread_mutex_unlock(&port->lock);
}

struct vs_ledger_port *
vs_ledger_remote_port_create(int fd, uint32_t ctx_id)
{
   struct remote_port *port = calloc(1, sizeof(*port));
   if (!port || pthread_mutex_init(&port->lock, NULL) != 0) {
      vs_error(ctx_id, "ledger: out of memory for the server's channel; this client's charges are refused");
      free(port);
      close(fd);
      return NULL;
   }
   port->port = (struct vs_ledger_port){ .charge = remote_charge, .give = remote_give };
   port->fd = fd;
   port->ctx_id = ctx_id;
   return &port->port;
}

void
vs_ledger_remote_port_destroy(struct vs_ledger_port *base)
{
   struct remote_port *port = (struct remote_port *)base;
   if (!port)
      return;
   close(port->fd);
   pthread_mutex_destroy(&port->lock);
   free(port);
}
