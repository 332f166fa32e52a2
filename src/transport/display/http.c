/* SPDX-License-Identifier: MIT */
/* The HTTP endpoint: one thread, poll(), non-blocking sockets. GET /
 * serves the viewer page (page.html); GET /stream upgrades to a WebSocket
 * (RFC 6455) that carries one binary message per access unit: a 24-byte
 * header (u8 key, u8 flags (1: input allowed), 2 reserved, u32 seq, f64
 * commit wall-clock ms, u32 width, u32 height; little endian) then the
 * Annex B bytes. A message whose flags have 2 is the output's cursor
 * instead (sent when it changes, and first to a new viewer): u8 0, u8
 * flags, 2 reserved, u32 hot_x, u32 hot_y, 4 reserved, u32 width, u32
 * height, then width x height R G B A pixels (0x0: the guest shows
 * none). A message whose flags have 4 names the output the viewer
 * watches (its first message): the 24-byte header, zero but for its
 * flags, then the name; the page asks for that output when it reconnects,
 * so no reconnect moves it to another. A message whose flags have 8 (the
 * 24-byte header alone, zero but for its flags) says the outputs of the
 * viewer's VM changed (one came or went): a page showing all of them
 * reads /outputs again.
 *
 * Viewers send binary messages back (masked, at most 125 bytes): u8 type,
 * 3 reserved, then little-endian fields, each type of one size:
 *   1 ack     u32 seq: every access unit up to seq is consumed (8 bytes)
 *   2 key     the viewer waits for a key frame: send one (4 bytes)
 *   3..6      input, with --input only (12 bytes; enum vs_input_type)
 * Anything else closes that viewer with one log line. Requests, frames and
 * messages are parsed without sockets (viewer_wire.h; fuzz/fuzz_viewer.c).
 *
 * Outputs: each is a stream of its own (display_internal.h) with a token
 * of its own. A viewer watches one output, chosen when it connects
 * (?output=NAME; without it, the newest output) and never changed after:
 * what another output shows, or when it comes and goes, moves no viewer
 * and none of its keys. When its output ends, the viewer is closed.
 *
 * Who may view: the page and the stream want a token in the query
 * (?token=; the page hands it and the output on to its WebSocket URL):
 * the server's own (printed once at start-up: any output, and the list of
 * outputs at /outputs) or the output's (logged when the output is made:
 * that output alone). A VM's outputs (one per scanout of a VM device) also
 * take the VM's token, that of its scanout 0's output, made with the VM's
 * first output and kept while any is left: with it, /outputs?output=NAME
 * (NAME any of the VM's outputs) lists the VM's outputs alone, each with
 * its own URL. Another VM's token admits none of them. A request that
 * says it comes from another site (Origin) is refused even with a token:
 * a page the viewer's browser opens elsewhere can neither read the stream
 * nor type into the guest. A refusal is a 403 and one log line.
 *
 * Slots: answering a request and serving a viewer take separate slots,
 * each table with a per-address cap, so viewers holding every viewer slot
 * do not keep the page from anyone. When the viewer slots are full, a
 * viewer from an address holding fewer takes the slot of the least
 * recently heard viewer of the address holding the most. A viewer that
 * sends nothing (acknowledgements, or the pongs browsers answer our pings
 * with) for VIEWER_IDLE_NS is closed. A refused connection gets a 503 and
 * one log line.
 *
 * Pacing: a viewer that acknowledges is sent at most VS_VIEWER_WINDOW unacknowledged
 * access units; the encoder waits while no viewer has room (the sink's
 * readiness),
 * so a viewer gets fewer, never older, frames. A frame a viewer has no room
 * for is skipped, and it resumes at a key frame. Viewers that never
 * acknowledge (plain readers) have a queue instead: when it holds
 * MAX_QUEUED unsent messages it is emptied and the viewer resumes at the
 * next key frame (one is requested). The encoder never waits for a socket. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transport/display/display.h"
#include "transport/display/display_internal.h"
#include "transport/display/tls.h"
#include "transport/display/viewer_wire.h"
#include "os/os.h"
#include "base/log.h"

#define MAX_VIEWERS 32
/* Connections that have not become viewers: sending a request, or
 * reading an answer. */
#define MAX_REQUESTS 16
#define MAX_CONNS (MAX_VIEWERS + MAX_REQUESTS)
#define MAX_QUEUED 8
/* Room for a partial frame and a whole one (6 + 125 bytes each). */
#define IN_MAX 256
/* A viewer of an output a live upgrade carried is asked to try again,
 * rather than refused, this long after the take-over, until the VM shows
 * the output again. */
#define CARRIED_WAIT_NS 10000000000ull
/* Key requests of one viewer closer than this are one request. */
#define KEY_REQUEST_GAP_NS 100000000ull
#define REQ_MAX 8192
/* A connection that has not sent its request and read the reply by then
 * is closed. */
#define REQUEST_TIMEOUT_NS 10000000000ull
/* A viewer whose socket took no byte of its queue for this long is closed:
 * it holds a slot without watching. */
#define VIEWER_STALL_NS 10000000000ull
/* Viewers, and requests, one peer address may hold: the others keep
 * their slots. */
#define MAX_VIEWERS_PER_ADDRESS (MAX_VIEWERS / 8)
#define MAX_REQUESTS_PER_ADDRESS 4
/* A viewer we have heard nothing from for this long is pinged (browsers
 * answer on their own, whatever the page's script is doing); one silent
 * for VIEWER_IDLE_NS is closed: it holds a slot without watching. */
#define VIEWER_PING_NS 5000000000ull
#define VIEWER_IDLE_NS 30000000000ull

extern const char vs_display_page[];

struct msg {
   uint32_t refs;
   size_t size;
   bool key;
   uint64_t commit_ns;
   uint8_t data[];
};

struct conn {
   struct vs_http *http;
   int fd;
   uint32_t id;                       /* viewer number, for the log */
   uint32_t output;                   /* a viewer's output: fixed at its upgrade */
   bool output_ended;                 /* closed by the HTTP thread, with a line */
   uint64_t accepted_ns;
   uint64_t progress_ns;              /* a viewer's socket last took bytes */
   uint64_t heard_ns;                 /* a viewer's last complete frame came */
   uint64_t ping_ns;                  /* the last ping was queued */
   uint8_t ping_left;                 /* bytes of a ping frame still to send */
   struct sockaddr_storage peer;
   char peer_text[INET6_ADDRSTRLEN];  /* its address, for the log */
   struct vs_tls_session *tls;        /* with --http-cert; NULL: plain */
   bool websocket;
   bool has_token;                    /* its upgrade carried the server's token */
   bool need_key;
   bool paced;                        /* it acknowledges */
   bool input_refused_logged;
   bool outputs_changed_owed;         /* its queue had no room for that message */
   struct vs_viewer_window unacked;   /* seqs sent, not acknowledged */
   uint64_t key_request_ns;
   uint8_t in[IN_MAX];                /* the viewer's frames being read */
   size_t in_len;
   char req[REQ_MAX];
   size_t req_len;
   /* plain HTTP reply being written */
   char *reply;
   size_t reply_len, reply_off;
   bool close_after_reply;
   /* WebSocket queue */
   struct msg *queue[MAX_QUEUED];
   uint32_t q_head, q_len;
   size_t sent;                       /* bytes of queue[q_head] (frame header included) */
   uint8_t hdr[10];
   size_t hdr_len;
};

/* An output's viewers' side: the sink its stream sends to. */
struct http_output {
   struct vs_http *http;
   uint32_t id;
   bool used;
   uint64_t seq;                      /* when it was added: the newest is the default */
   uint32_t vm;                       /* its VM device; 0: none (the desktop) */
   char name[VS_OUTPUT_NAME_MAX + 1];
   char token[2 * VS_VIEWER_TOKEN_BYTES + 1];
   char vm_token[2 * VS_VIEWER_TOKEN_BYTES + 1]; /* its VM's: all the VM's outputs and their list */
   atomic_bool ready;                 /* the sink's readiness */
   struct msg *cursor;                /* its cursor's message, or NULL */
};

struct vs_http {
   int listen_fd;
   struct os_event wake;
   pthread_t thread;
   pthread_mutex_t lock;
   struct conn *conns[MAX_CONNS];
   bool stop;
   bool running;
   bool input;                        /* --input: viewers' input reaches the seat */
   struct vs_tls *tls;                /* --http-cert: every connection's TLS; NULL: plain */
   char token[VS_HTTP_TOKEN_MAX + 1]; /* the server's: every output, and the list */
   char url_base[160];                /* http://ADDR:PORT or https:// */
   struct vs_http_events events;
   struct http_output outputs[VS_DISPLAY_MAX_OUTPUTS]; /* under lock */
   uint64_t output_seq;
   /* Outputs' tokens a live upgrade carried, each taken once (name ""),
    * awaited until carried_until_ns. */
   struct vs_display_hand_over carried;
   uint64_t carried_until_ns;
   uint64_t dropped, skipped, acks, key_requests, inputs;
   uint32_t viewers_total;
};

static void
msg_unref(struct msg *m)
{
   if (--m->refs == 0)
      free(m);
}

/* A message to viewers: its 24-byte header zero but for `flags` (and
 * input allowed), `payload` bytes after it, for the caller to fill. */
static struct msg *
msg_new(const struct vs_http *h, uint8_t flags, size_t payload)
{
   struct msg *m = malloc(sizeof(*m) + 24 + payload);
   if (!m)
      return NULL;
   *m = (struct msg){ .refs = 1, .size = 24 + payload };
   memset(m->data, 0, 24);
   m->data[1] = (uint8_t)(flags | (h->input ? 1 : 0));
   return m;
}

/* --- connections --- */

/* Whether two peers have one IP address (ports aside). */
static bool
same_address(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
   if (a->ss_family != b->ss_family)
      return false;
   if (a->ss_family == AF_INET)
      return ((const struct sockaddr_in *)a)->sin_addr.s_addr == ((const struct sockaddr_in *)b)->sin_addr.s_addr;
   if (a->ss_family == AF_INET6)
      return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &((const struct sockaddr_in6 *)b)->sin6_addr,
                    sizeof(struct in6_addr)) == 0;
   return false;
}

static void
conn_close(struct vs_http *h, int i)
{
   struct conn *c = h->conns[i];
   vs_tls_session_destroy(c->tls);
   close(c->fd);
   for (uint32_t k = 0; k < c->q_len; k++)
      msg_unref(c->queue[(c->q_head + k) % MAX_QUEUED]);
   free(c->reply);
   free(c);
   h->conns[i] = NULL;
}

/* Under h->lock: whether the output's encoder may go on; a change to
 * ready wakes it. */
static void
update_ready(struct vs_http *h, uint32_t output)
{
   struct http_output *o = &h->outputs[output];
   bool ready = true;
   for (int i = 0; i < MAX_CONNS; i++) {
      struct conn *c = h->conns[i];
      if (!c || !c->websocket || c->output != output)
         continue;
      ready = false;
      if (!c->paced || c->unacked.n < VS_VIEWER_WINDOW) {
         ready = true;
         break;
      }
   }
   if (ready && !atomic_exchange(&o->ready, true))
      h->events.room(h->events.data, output);
   else if (!ready)
      atomic_store(&o->ready, false);
}

static bool
http_ready(void *data)
{
   struct http_output *o = data;
   return atomic_load(&o->ready);
}

static void
set_reply(struct conn *c, const char *status, const char *type, const char *body, bool close_after)
{
   size_t blen = body ? strlen(body) : 0;
   size_t cap = blen + 512;
   c->reply = malloc(cap);
   if (!c->reply)
      return;
   int n = snprintf(c->reply, cap,
                    "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
                    /* No other site frames the page (the page of a VM's outputs frames its
                     * own), nor learns its URL (the token) from a Referer. */
                    "X-Frame-Options: SAMEORIGIN\r\nContent-Security-Policy: frame-ancestors 'self'\r\n"
                    "Referrer-Policy: no-referrer\r\nConnection: close\r\n\r\n",
                    status, type, blen);
   memcpy(c->reply + n, body ? body : "", blen);
   c->reply_len = (size_t)n + blen;
   c->reply_off = 0;
   c->close_after_reply = close_after;
}

/* The viewers (WebSocket connections), or the other connections, of
 * `peer`'s address; *total: of every address. */
static int
count_conns(struct vs_http *h, const struct sockaddr_storage *peer, bool viewers, int *total)
{
   int same = 0, all = 0;
   for (int i = 0; i < MAX_CONNS; i++) {
      struct conn *c = h->conns[i];
      if (!c || c->websocket != viewers)
         continue;
      all++;
      if (same_address(&c->peer, peer))
         same++;
   }
   if (total)
      *total = all;
   return same;
}

/* With every viewer slot taken, for a viewer whose address holds `held`:
 * the least recently heard viewer of the address holding the most, if
 * that is at least two more (so the two never take turns); -1 if none. */
static int
viewer_to_evict(struct vs_http *h, int held)
{
   int victim = -1, victim_held = 0;
   for (int i = 0; i < MAX_CONNS; i++) {
      struct conn *c = h->conns[i];
      if (!c || !c->websocket)
         continue;
      int n = count_conns(h, &c->peer, true, NULL);
      if (n > victim_held || (n == victim_held && c->heard_ns < h->conns[victim]->heard_ns)) {
         victim = i;
         victim_held = n;
      }
   }
   return victim >= 0 && victim_held >= held + 2 ? victim : -1;
}

/* Under h->lock: the output named `name`, or NULL. */
static struct http_output *
output_named(struct vs_http *h, const char *name)
{
   for (uint32_t i = 0; i < VS_DISPLAY_MAX_OUTPUTS; i++)
      if (h->outputs[i].used && strcmp(h->outputs[i].name, name) == 0)
         return &h->outputs[i];
   return NULL;
}

/* Under h->lock: the newest output. */
static struct http_output *
output_newest(struct vs_http *h)
{
   struct http_output *newest = NULL;
   for (uint32_t i = 0; i < VS_DISPLAY_MAX_OUTPUTS; i++)
      if (h->outputs[i].used && (!newest || h->outputs[i].seq > newest->seq))
         newest = &h->outputs[i];
   return newest;
}

/* Under h->lock: whether output `name` is one a live upgrade carried and
 * the VM has not shown again yet, for a while after the take-over, and
 * `token` (NULL: the server's) is its or its VM's. */
static bool
output_coming(const struct vs_http *h, const char *name, const char *token)
{
   if (os_now_ns() > h->carried_until_ns)
      return false;
   for (uint32_t i = 0; i < h->carried.outputs; i++) {
      const struct vs_display_output_tokens *c = &h->carried.output[i];
      if (c->name[0] && !strcmp(c->name, name) &&
          (!token || vs_viewer_token_equal(token, c->token) ||
           (c->vm_token[0] && vs_viewer_token_equal(token, c->vm_token))))
         return true;
   }
   return false;
}

/* Under h->lock: whether the request may have what it asks for: it
 * carries the server's token (anything), the named output's (that
 * output's page and stream) or the named output's VM's (the page and
 * stream of any of the VM's outputs, and their list), and no browser says
 * it comes from another site. *output: the output it watches, or whose
 * VM's outputs it lists (the list of every output: none, NULL). Else a
 * 403 (404: an output that does not exist, to a holder of the server's
 * token) and one line. */
static bool
viewer_admitted(struct conn *c, const struct vs_http_request *req, struct http_output **output)
{
   struct vs_http *h = c->http;
   const bool list = req->route == VS_HTTP_OUTPUTS;
   const char *what = req->route == VS_HTTP_PAGE ? "the page" : list ? "the outputs" : "the stream";
   struct http_output *o = req->output_given ? output_named(h, req->output) : list ? NULL : output_newest(h);
   bool server_token = req->token_given && vs_viewer_token_equal(req->token, h->token);
   bool vm_token = req->token_given && o && o->vm && vs_viewer_token_equal(req->token, o->vm_token);
   bool output_token = vm_token || (req->token_given && !list && o && vs_viewer_token_equal(req->token, o->token));
   if (req->origin == VS_HTTP_ORIGIN_FOREIGN) {
      vs_warn(0, "display: refusing viewer from %s (%s): Origin '%s' is not this server's", c->peer_text, what,
              req->origin_text);
   } else if (!req->token_given) {
      vs_warn(0, "display: refusing viewer from %s (%s): no token (open the URL the server printed, with its ?token=)",
              c->peer_text, what);
   } else if ((!o || !output_token) && req->output_given && output_coming(h, req->output, server_token ? NULL : req->token)) {
      vs_debug(0, "display: viewer from %s (%s of output %s): the output comes back after the live upgrade; asked to "
                  "try again", c->peer_text, what, req->output);
      set_reply(c, "503 Service Unavailable", "text/plain", "this output comes back in a moment: try again\n", true);
      return false;
   } else if (!server_token && !output_token) {
      vs_warn(0, "display: refusing viewer from %s (%s%s%s): wrong token%s", c->peer_text, what,
              req->output_given ? " of output " : "", req->output_given ? req->output : "",
              list && req->output_given ? " (an output's list takes its VM's token)" : "");
   } else if ((!list || req->output_given) && !o) {
      vs_warn(0, "display: refusing viewer from %s (%s): no output '%s' (see /outputs)", c->peer_text, what,
              req->output);
      set_reply(c, "404 Not Found", "text/plain", "no such output\n", true);
      return false;
   } else {
      *output = o;
      return true;
   }
   set_reply(c, "403 Forbidden", "text/plain",
             "open the page at the URL the server printed (with its ?token=), from this server's own origin\n", true);
   return false;
}

/* Whether the viewer gets a slot (it may take one from the address holding
 * the most); else a 503 and one line. */
static bool
viewer_slot(struct conn *c)
{
   struct vs_http *h = c->http;
   int total, held = count_conns(h, &c->peer, true, &total);
   if (held >= MAX_VIEWERS_PER_ADDRESS) {
      vs_warn(0, "display: refusing viewer from %s: its address holds %d viewers (limit %d)", c->peer_text, held,
              MAX_VIEWERS_PER_ADDRESS);
      set_reply(c, "503 Service Unavailable", "text/plain", "too many viewers from this address\n", true);
      return false;
   }
   if (total < MAX_VIEWERS)
      return true;
   int victim = viewer_to_evict(h, held);
   if (victim < 0) {
      vs_warn(0, "display: refusing viewer from %s: all %d viewer slots are taken (no address holds two more than it)",
              c->peer_text, MAX_VIEWERS);
      set_reply(c, "503 Service Unavailable", "text/plain", "every viewer slot is taken\n", true);
      return false;
   }
   struct conn *v = h->conns[victim];
   vs_warn(0, "display: viewer %u (%s, whose address holds the most) closed to make room for a viewer from %s", v->id,
           v->peer_text, c->peer_text);
   conn_close(h, victim);
   return true;
}

/* Under h->lock: the message naming a new viewer's output, its first. */
static void
queue_output_name(struct conn *c)
{
   const char *name = c->http->outputs[c->output].name;
   const size_t len = strlen(name);
   struct msg *m = msg_new(c->http, 4, len);
   if (!m)
      return;
   memcpy(m->data + 24, name, len);
   c->queue[(c->q_head + c->q_len) % MAX_QUEUED] = m;
   c->q_len++;
}

/* Under h->lock: the output's cursor message to a viewer, when its queue
 * has room (a viewer too slow for it gets the next). */
static void
queue_cursor(struct conn *c, struct msg *m)
{
   if (!m || c->q_len == MAX_QUEUED)
      return;
   m->refs++;
   c->queue[(c->q_head + c->q_len) % MAX_QUEUED] = m;
   c->q_len++;
}

/* Under h->lock: a viewer is told its VM's outputs changed; one whose
 * queue is full is owed the message until its queue has room, so no
 * page of a VM's outputs misses a change. */
static void
queue_outputs_changed_to(struct conn *c)
{
   struct msg *m = c->q_len < MAX_QUEUED ? msg_new(c->http, 8, 0) : NULL;
   c->outputs_changed_owed = !m;
   if (m) {
      queue_cursor(c, m);
      msg_unref(m);
   }
}

/* The list of outputs: one line each, its name and its page's URL with
 * its own token (text/plain); every output, or `of`'s VM's (`of` alone
 * if it shows no VM). */
static void
outputs_reply(struct conn *c, const struct http_output *of)
{
   struct vs_http *h = c->http;
   char body[VS_DISPLAY_MAX_OUTPUTS * 320] = "";
   size_t len = 0;
   for (uint32_t i = 0; i < VS_DISPLAY_MAX_OUTPUTS; i++) {
      const struct http_output *o = &h->outputs[i];
      bool listed = !of || o == of || (of->vm && o->vm == of->vm);
      if (o->used && listed && len < sizeof(body))
         len += (size_t)snprintf(body + len, sizeof(body) - len, "%s %s/?output=%s&token=%s\n", o->name, h->url_base,
                                 o->name, o->token);
   }
   set_reply(c, "200 OK", "text/plain; charset=utf-8", body, true);
}

static void
handle_request(struct conn *c)
{
   struct vs_http *h = c->http;
   struct vs_http_request req;
   vs_http_parse_request(c->req, &req);
   switch (req.route) {
   case VS_HTTP_NOT_GET:
      set_reply(c, "405 Method Not Allowed", "text/plain", "GET only\n", true);
      return;
   case VS_HTTP_NOT_FOUND:
      set_reply(c, "404 Not Found", "text/plain", "not found\n", true);
      return;
   case VS_HTTP_BAD_UPGRADE:
      set_reply(c, "400 Bad Request", "text/plain", "a WebSocket upgrade is expected\n", true);
      return;
   case VS_HTTP_PAGE:
   case VS_HTTP_UPGRADE:
   case VS_HTTP_OUTPUTS:
      break;
   }
   struct http_output *o;
   if (!viewer_admitted(c, &req, &o))
      return;
   if (req.route == VS_HTTP_PAGE) {
      set_reply(c, "200 OK", "text/html; charset=utf-8", vs_display_page, true);
      return;
   }
   if (req.route == VS_HTTP_OUTPUTS) {
      outputs_reply(c, o);
      return;
   }
   const uint32_t output = o->id;
   if (!viewer_slot(c))
      return;
   c->reply = malloc(256);
   if (!c->reply)
      return;
   c->reply_len = (size_t)snprintf(c->reply, 256,
                                   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                   "Sec-WebSocket-Accept: %s\r\n\r\n",
                                   req.accept);
   c->reply_off = 0;
   c->websocket = true;
   c->has_token = true;
   c->need_key = true;
   c->progress_ns = c->heard_ns = c->ping_ns = os_now_ns();
   c->id = ++h->viewers_total;
   c->output = output;
   queue_output_name(c);
   queue_cursor(c, h->outputs[output].cursor);
   vs_info(0, "display: viewer %u connected from %s to output %s (%u so far)%s", c->id, c->peer_text,
           h->outputs[output].name, h->viewers_total, h->input ? ", input allowed" : "");
   h->events.want_key(h->events.data, output);
   update_ready(h, output);
}

/* The connection's bytes, through its TLS where it has one. */
static ssize_t
conn_send(struct conn *c, const void *buf, size_t len)
{
   return c->tls ? vs_tls_send(c->tls, buf, len) : send(c->fd, buf, len, MSG_NOSIGNAL);
}

static ssize_t
conn_recv(struct conn *c, void *buf, size_t len)
{
   return c->tls ? vs_tls_recv(c->tls, buf, len) : recv(c->fd, buf, len, 0);
}

/* Returns false when the connection should close. */
static bool
conn_write(struct conn *c)
{
   while (c->reply && c->reply_off < c->reply_len) {
      ssize_t n = conn_send(c, c->reply + c->reply_off, c->reply_len - c->reply_off);
      if (n < 0)
         return errno == EAGAIN || errno == EINTR;
      c->reply_off += (size_t)n;
   }
   if (c->reply) {
      free(c->reply);
      c->reply = NULL;
      if (c->close_after_reply)
         return false;
   }
   while (c->websocket && (c->q_len || c->ping_left)) {
      if (c->sent == 0 && c->ping_left) {
         /* Between messages: an empty ping (FIN, opcode 9). */
         static const uint8_t ping[2] = { 0x89, 0x00 };
         ssize_t n = conn_send(c, ping + sizeof(ping) - c->ping_left, c->ping_left);
         if (n < 0)
            return errno == EAGAIN || errno == EINTR;
         c->ping_left -= (uint8_t)n;
         continue;
      }
      struct msg *m = c->queue[c->q_head];
      if (c->sent == 0) {
         c->hdr[0] = 0x82;
         if (m->size < 126) {
            c->hdr[1] = (uint8_t)m->size;
            c->hdr_len = 2;
         } else if (m->size < 65536) {
            c->hdr[1] = 126;
            c->hdr[2] = (uint8_t)(m->size >> 8);
            c->hdr[3] = (uint8_t)m->size;
            c->hdr_len = 4;
         } else {
            c->hdr[1] = 127;
            for (int i = 0; i < 8; i++)
               c->hdr[2 + i] = (uint8_t)((uint64_t)m->size >> (56 - 8 * i));
            c->hdr_len = 10;
         }
      }
      struct iovec iov[2];
      int iovcnt = 0;
      if (c->sent < c->hdr_len)
         iov[iovcnt++] = (struct iovec){ c->hdr + c->sent, c->hdr_len - c->sent };
      size_t body_off = c->sent > c->hdr_len ? c->sent - c->hdr_len : 0;
      iov[iovcnt++] = (struct iovec){ m->data + body_off, m->size - body_off };
      struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)iovcnt };
      /* TLS: a record at a time, the header's then the body's. */
      ssize_t n = c->tls ? vs_tls_send(c->tls, iov[0].iov_base, iov[0].iov_len) : sendmsg(c->fd, &mh, MSG_NOSIGNAL);
      if (n < 0)
         return errno == EAGAIN || errno == EINTR;
      c->sent += (size_t)n;
      c->progress_ns = os_now_ns();
      if (c->sent == c->hdr_len + m->size) {
         if (m->commit_ns)
            c->http->events.sent(c->http->events.data, c->output, m->commit_ns);
         msg_unref(m);
         c->q_head = (c->q_head + 1) % MAX_QUEUED;
         c->q_len--;
         c->sent = 0;
         if (c->outputs_changed_owed)
            queue_outputs_changed_to(c);
      }
   }
   /* Nothing waiting: not stalled, whenever the next frame comes. */
   if (c->websocket && !c->q_len)
      c->progress_ns = os_now_ns();
   return true;
}

static void
viewer_ack(struct conn *c, uint32_t seq)
{
   struct vs_http *h = c->http;
   h->acks++;
   c->paced = true;
   vs_viewer_window_ack(&c->unacked, seq);
   /* It had no room for a frame: now it has, at a key frame. */
   if (c->need_key && c->unacked.n < VS_VIEWER_WINDOW)
      h->events.want_key(h->events.data, c->output);
   update_ready(h, c->output);
}

/* One message from a viewer; false (logged) if it is malformed. */
static bool
viewer_message(void *data, const uint8_t *m, size_t len)
{
   struct conn *c = data;
   struct vs_http *h = c->http;
   struct vs_viewer_message msg;
   if (!vs_viewer_decode(m, len, c->id, &msg))
      return false;
   if (msg.type == VS_VIEWER_ACK) {
      viewer_ack(c, msg.seq);
      return true;
   }
   if (msg.type == VS_VIEWER_KEY) {
      uint64_t now = os_now_ns();
      c->need_key = true;
      if (now - c->key_request_ns >= KEY_REQUEST_GAP_NS) {
         c->key_request_ns = now;
         h->key_requests++;
         h->events.want_key(h->events.data, c->output);
      }
      return true;
   }
   if (!h->input || !c->has_token) {
      if (!c->input_refused_logged)
         vs_info(0, "display: viewer %u: input ignored (%s)", c->id,
                 !h->input ? "view only; start the server with --input" : "it holds no token");
      c->input_refused_logged = true;
      return true;
   }
   if (msg.type == VS_VIEWER_MODE) {
      h->events.mode(h->events.data, c->output, msg.width, msg.height);
      return true;
   }
   if (!vs_viewer_input_valid(&msg.input, c->id))
      return false;
   msg.input.time_ms = (uint32_t)(os_now_ns() / 1000000);
   h->inputs++;
   h->events.input(h->events.data, c->output, &msg.input);
   return true;
}

/* The viewer's frames read so far; false when it is to be closed. */
static bool
viewer_frames(struct conn *c)
{
   size_t used;
   bool ok = vs_ws_frames(c->in, c->in_len, c->id, viewer_message, c, &used);
   if (used)
      c->heard_ns = os_now_ns();
   memmove(c->in, c->in + used, c->in_len - used);
   c->in_len -= used;
   return ok;
}

/* Reads the request, or (WebSocket) the viewer's messages. */
static bool
conn_read(struct conn *c)
{
   char buf[4096];
   for (;;) {
      if (c->websocket) {
         ssize_t n = conn_recv(c, c->in + c->in_len, sizeof(c->in) - c->in_len);
         if (n == 0)
            return false;
         if (n < 0)
            return errno == EAGAIN || errno == EINTR;
         c->in_len += (size_t)n;
         if (!viewer_frames(c))
            return false;
         continue;
      }
      ssize_t n = conn_recv(c, buf, sizeof(buf));
      if (n == 0)
         return false;
      if (n < 0)
         return errno == EAGAIN || errno == EINTR;
      if (c->req_len + (size_t)n >= REQ_MAX)
         return false;
      memcpy(c->req + c->req_len, buf, (size_t)n);
      c->req_len += (size_t)n;
      c->req[c->req_len] = '\0';
      if (strstr(c->req, "\r\n\r\n") && !c->reply && !c->websocket)
         handle_request(c);
   }
}

static void
http_send(void *data, const struct vs_access_unit *unit)
{
   struct http_output *o = data;
   struct vs_http *h = o->http;
   const size_t size = unit->size;
   const bool key = unit->key;
   if (!h->running)
      return;
   struct msg *m = msg_new(h, 0, size);
   if (!m)
      return;
   m->key = key;
   m->commit_ns = unit->commit_ns;
   m->data[0] = key;
   memcpy(m->data + 4, &unit->seq, 4);
   memcpy(m->data + 8, &unit->commit_wall_ms, 8);
   memcpy(m->data + 16, &unit->width, 4);
   memcpy(m->data + 20, &unit->height, 4);
   memcpy(m->data + 24, unit->data, size);
   bool need_key = false;
   pthread_mutex_lock(&h->lock);
   for (int i = 0; i < MAX_CONNS; i++) {
      struct conn *c = h->conns[i];
      if (!c || !c->websocket || c->output != o->id || c->output_ended)
         continue;
      if (c->need_key && !key)
         continue;
      if (c->paced && c->unacked.n == VS_VIEWER_WINDOW) {
         /* No room: this frame is skipped, the viewer resumes at a key
          * frame (requested when an acknowledgement makes room). */
         h->skipped++;
         c->need_key = true;
         continue;
      }
      if (c->q_len == MAX_QUEUED) {
         /* Too slow: drop what it has not started sending, resume at a key frame. */
         uint32_t keep = c->sent ? 1 : 0;
         for (uint32_t k = keep; k < c->q_len; k++)
            msg_unref(c->queue[(c->q_head + k) % MAX_QUEUED]);
         h->dropped += c->q_len - keep;
         c->q_len = keep;
         c->need_key = true;
         need_key = true;
         if (!key)
            continue;
      }
      c->need_key = false;
      m->refs++;
      c->queue[(c->q_head + c->q_len) % MAX_QUEUED] = m;
      c->q_len++;
      if (c->paced)
         vs_viewer_window_push(&c->unacked, unit->seq);
   }
   update_ready(h, o->id);
   pthread_mutex_unlock(&h->lock);
   msg_unref(m);
   os_event_signal(&h->wake);
   if (need_key)
      h->events.want_key(h->events.data, o->id);
}

void
vs_http_cursor(struct vs_http *h, uint32_t output, const struct vs_cursor_image *cursor)
{
   const size_t pixels = (size_t)cursor->width * cursor->height * 4;
   struct msg *m = msg_new(h, 2, pixels);
   if (!m)
      return;
   memcpy(m->data + 4, &cursor->hot_x, 4);
   memcpy(m->data + 8, &cursor->hot_y, 4);
   memcpy(m->data + 16, &cursor->width, 4);
   memcpy(m->data + 20, &cursor->height, 4);
   memcpy(m->data + 24, cursor->rgba, pixels);
   pthread_mutex_lock(&h->lock);
   struct http_output *o = &h->outputs[output];
   if (o->cursor)
      msg_unref(o->cursor);
   o->cursor = m;
   for (int i = 0; i < MAX_CONNS; i++) {
      struct conn *c = h->conns[i];
      if (c && c->websocket && c->output == output && !c->output_ended)
         queue_cursor(c, m);
   }
   pthread_mutex_unlock(&h->lock);
   os_event_signal(&h->wake);
}

/* Under h->lock: the viewers of VM `vm`'s outputs are told its outputs
 * changed. */
static void
queue_outputs_changed(struct vs_http *h, uint32_t vm)
{
   for (int i = 0; i < MAX_CONNS; i++) {
      struct conn *c = h->conns[i];
      if (c && c->websocket && !c->output_ended && h->outputs[c->output].vm == vm)
         queue_outputs_changed_to(c);
   }
}

struct vs_stream_sink
vs_http_sink(struct vs_http *h, uint32_t output)
{
   return (struct vs_stream_sink){ .send = http_send, .ready = http_ready, .data = &h->outputs[output] };
}

_Static_assert(sizeof(((struct vs_display_hand_over *)0)->server) == VS_HTTP_TOKEN_MAX + 1, "the server's token");
_Static_assert(sizeof(((struct vs_display_hand_over *)0)->output[0].name) == VS_OUTPUT_NAME_MAX + 1, "a name");
_Static_assert(sizeof(((struct vs_display_hand_over *)0)->output[0].token) == 2 * VS_VIEWER_TOKEN_BYTES + 1, "a token");
_Static_assert(VS_DISPLAY_MAX_OUTPUTS <= VS_DISPLAY_HAND_OVER_OUTPUTS, "every output's tokens");

/* Under h->lock: output `o` (named, a VM's when o->vm) takes the tokens
 * a live upgrade carried for its name, once. */
static bool
take_carried(struct vs_http *h, struct http_output *o)
{
   for (uint32_t i = 0; i < h->carried.outputs; i++) {
      struct vs_display_output_tokens *c = &h->carried.output[i];
      if (!c->name[0] || strcmp(c->name, o->name) || (o->vm != 0) != (c->vm_token[0] != '\0'))
         continue;
      memcpy(o->token, c->token, sizeof(o->token));
      memcpy(o->vm_token, c->vm_token, sizeof(o->vm_token));
      c->name[0] = '\0';
      return true;
   }
   return false;
}

/* Whether `fd` (a live upgrade's) is a listening IPv4 TCP socket, as
 * vs_http_start makes. */
static bool
listening_tcp(int fd)
{
   struct sockaddr_storage addr;
   socklen_t addr_len = sizeof(addr);
   int type = 0, listening = 0;
   socklen_t len = sizeof(int);
   return getsockname(fd, (struct sockaddr *)&addr, &addr_len) == 0 && addr.ss_family == AF_INET &&
          getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM &&
          getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening;
}

/* A live upgrade's tokens, each checked (they are input): the outputs'
 * valid ones into `kept`; the server's returned, or NULL. */
static const char *
check_carried(const struct vs_display_hand_over *carried, struct vs_display_hand_over *kept)
{
   const bool server = memchr(carried->server, '\0', sizeof(carried->server)) && vs_viewer_token_valid(carried->server);
   unsigned bad = !server;
   for (uint32_t i = 0; i < carried->outputs && i < VS_DISPLAY_HAND_OVER_OUTPUTS; i++) {
      const struct vs_display_output_tokens *c = &carried->output[i];
      const bool ok = memchr(c->name, '\0', sizeof(c->name)) && c->name[0] &&
                      strspn(c->name, VS_OUTPUT_NAME_CHARS) == strlen(c->name) &&
                      memchr(c->token, '\0', sizeof(c->token)) && vs_viewer_token_valid(c->token) &&
                      memchr(c->vm_token, '\0', sizeof(c->vm_token)) &&
                      (!c->vm_token[0] || vs_viewer_token_valid(c->vm_token));
      if (ok)
         kept->output[kept->outputs++] = *c;
      bad += !ok;
   }
   bad += carried->outputs > VS_DISPLAY_HAND_OVER_OUTPUTS;
   if (bad)
      vs_warn(0, "display: %u of the viewers' tokens the upgrade carried are malformed; their outputs get new ones", bad);
   return server ? carried->server : NULL;
}

void
vs_http_hand_over(struct vs_http *h, struct vs_display_hand_over *tokens)
{
   pthread_mutex_lock(&h->lock);
   *tokens = (struct vs_display_hand_over){ .http_fd = h->listen_fd };
   snprintf(tokens->server, sizeof(tokens->server), "%s", h->token);
   for (uint32_t i = 0; i < VS_DISPLAY_MAX_OUTPUTS; i++) {
      const struct http_output *o = &h->outputs[i];
      if (!o->used)
         continue;
      struct vs_display_output_tokens *c = &tokens->output[tokens->outputs++];
      snprintf(c->name, sizeof(c->name), "%s", o->name);
      memcpy(c->token, o->token, sizeof(c->token));
      if (o->vm)
         memcpy(c->vm_token, o->vm_token, sizeof(c->vm_token));
   }
   pthread_mutex_unlock(&h->lock);
}

bool
vs_http_add_output(struct vs_http *h, uint32_t output, const char *name, const char *what, uint32_t vm,
                   uint32_t scanout)
{
   uint8_t random[2][VS_VIEWER_TOKEN_BYTES];
   if (output >= VS_DISPLAY_MAX_OUTPUTS || os_random_bytes(random, sizeof(random)) != 0) {
      vs_error(0, "display: output %s: no random bytes for its token", name);
      return false;
   }
   pthread_mutex_lock(&h->lock);
   struct http_output *o = &h->outputs[output];
   *o = (struct http_output){ .http = h, .id = output, .used = true, .seq = ++h->output_seq, .vm = vm };
   snprintf(o->name, sizeof(o->name), "%s", name);
   vs_viewer_token_hex(random[0], o->token);
   /* Its tokens as they were before a live upgrade, or new ones. */
   if (!take_carried(h, o) && vm) {
      /* The VM's token: its other outputs', or a new one. */
      vs_viewer_token_hex(random[1], o->vm_token);
      for (uint32_t i = 0; i < VS_DISPLAY_MAX_OUTPUTS; i++)
         if (i != output && h->outputs[i].used && h->outputs[i].vm == vm)
            memcpy(o->vm_token, h->outputs[i].vm_token, sizeof(o->vm_token));
      if (scanout == 0)
         memcpy(o->token, o->vm_token, sizeof(o->token));
   }
   if (o->vm)
      queue_outputs_changed(h, o->vm);
   atomic_init(&o->ready, true);
   pthread_mutex_unlock(&h->lock);
   os_event_signal(&h->wake);
   vs_info(0, "display: output %s (%s): viewer page at %s/?output=%s&token=%s", o->name, what, h->url_base, o->name,
           o->token);
   return true;
}

void
vs_http_remove_output(struct vs_http *h, uint32_t output)
{
   pthread_mutex_lock(&h->lock);
   h->outputs[output].used = false;
   if (h->outputs[output].cursor)
      msg_unref(h->outputs[output].cursor);
   h->outputs[output].cursor = NULL;
   for (int i = 0; i < MAX_CONNS; i++)
      if (h->conns[i] && h->conns[i]->websocket && h->conns[i]->output == output)
         h->conns[i]->output_ended = true;
   if (h->outputs[output].vm)
      queue_outputs_changed(h, h->outputs[output].vm);
   pthread_mutex_unlock(&h->lock);
   os_event_signal(&h->wake);
}

/* A refusal at accept time, before the request is read: a 503 written
 * into the fresh socket's empty buffer, the request (whatever came of it)
 * read and dropped so that closing sends no reset in front of the answer. */
static void
refuse_connection(int fd)
{
   static const char reply[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                               "Content-Length: 29\r\nConnection: close\r\n\r\ntoo many requests; try again\n";
   ssize_t sent = send(fd, reply, sizeof(reply) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
   (void)sent;
   shutdown(fd, SHUT_WR);
   char drain[4096];
   while (recv(fd, drain, sizeof(drain), MSG_DONTWAIT) > 0)
      ;
   close(fd);
}

/* Under h->lock: a new connection gets a request slot, or a 503. */
static void
accept_conn(struct vs_http *h)
{
   struct sockaddr_storage peer;
   socklen_t peer_len = sizeof(peer);
   memset(&peer, 0, sizeof(peer));
   int fd = accept(h->listen_fd, (struct sockaddr *)&peer, &peer_len);
   if (fd < 0)
      return;
   /* A live upgrade's exec ends every viewer's connection: each reconnects. */
   if (os_set_cloexec(fd) < 0) {
      close(fd);
      return;
   }
   char peer_text[INET6_ADDRSTRLEN] = "?";
   if (peer.ss_family == AF_INET)
      inet_ntop(AF_INET, &((struct sockaddr_in *)&peer)->sin_addr, peer_text, sizeof(peer_text));
   else if (peer.ss_family == AF_INET6)
      inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&peer)->sin6_addr, peer_text, sizeof(peer_text));
   int total, same = count_conns(h, &peer, false, &total);
   int slot = -1;
   for (int i = 0; i < MAX_CONNS && slot < 0; i++)
      if (!h->conns[i])
         slot = i;
   struct conn *c = NULL;
   if (same >= MAX_REQUESTS_PER_ADDRESS)
      vs_warn(0, "display: refusing an HTTP connection from %s: its address holds %d unanswered ones (limit %d); 503",
              peer_text, same, MAX_REQUESTS_PER_ADDRESS);
   else if (total >= MAX_REQUESTS || slot < 0)
      vs_warn(0, "display: refusing an HTTP connection from %s: %d requests are being answered (limit %d); 503",
              peer_text, total, MAX_REQUESTS);
   else
      c = calloc(1, sizeof(*c));
   if (!c) {
      /* A 503 in the clear means nothing to a TLS client. */
      if (h->tls)
         close(fd);
      else
         refuse_connection(fd);
      return;
   }
   os_set_cloexec(fd);
   os_set_nonblocking(fd, true);
   os_socket_prepare(fd);
   int one = 1;
   setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
   if (h->tls && !(c->tls = vs_tls_session_create(h->tls, fd))) {
      vs_warn(0, "display: refusing an HTTP connection from %s: no TLS session for it", peer_text);
      free(c);
      close(fd);
      return;
   }
   c->http = h;
   c->fd = fd;
   c->accepted_ns = os_now_ns();
   c->peer = peer;
   memcpy(c->peer_text, peer_text, sizeof(peer_text));
   h->conns[slot] = c;
}

static void *
http_main(void *arg)
{
   struct vs_http *h = arg;
   os_thread_set_name("vs-http");
   struct pollfd pfds[MAX_CONNS + 2];
   int idx[MAX_CONNS + 2];
   for (;;) {
      int n = 0;
      pthread_mutex_lock(&h->lock);
      if (h->stop) {
         pthread_mutex_unlock(&h->lock);
         break;
      }
      pfds[n++] = (struct pollfd){ .fd = h->wake.read_fd, .events = POLLIN };
      pfds[n++] = (struct pollfd){ .fd = h->listen_fd, .events = POLLIN };
      for (int i = 0; i < MAX_CONNS; i++) {
         struct conn *c = h->conns[i];
         if (!c)
            continue;
         short ev = POLLIN;
         if (c->reply || (c->websocket && (c->q_len || c->ping_left)) || (c->tls && vs_tls_handshake_wants_write(c->tls)))
            ev |= POLLOUT;
         idx[n] = i;
         pfds[n++] = (struct pollfd){ .fd = c->fd, .events = ev };
      }
      pthread_mutex_unlock(&h->lock);
      if (poll(pfds, (nfds_t)n, 1000) < 0 && errno != EINTR)
         break;
      if (pfds[0].revents)
         os_event_drain(&h->wake);
      pthread_mutex_lock(&h->lock);
      for (int k = 2; k < n; k++) {
         struct conn *c = h->conns[idx[k]];
         if (!c)
            continue;
         bool keep = !c->output_ended;
         if (!keep)
            vs_info(0, "display: viewer %u closed: its output %s ended", c->id, h->outputs[c->output].name);
         else if ((pfds[k].revents & (POLLIN | POLLHUP | POLLERR)) ||
                  ((pfds[k].revents & POLLOUT) && c->tls && vs_tls_handshake_wants_write(c->tls)))
            keep = conn_read(c);
         if (keep)
            keep = conn_write(c);
         uint64_t now = os_now_ns();
         if (keep && !c->websocket && now - c->accepted_ns > REQUEST_TIMEOUT_NS) {
            vs_info(0, "display: an HTTP connection sent no request or read no reply within %llu s; closed",
                    REQUEST_TIMEOUT_NS / 1000000000ull);
            keep = false;
         }
         if (keep && c->websocket && c->q_len && now - c->progress_ns > VIEWER_STALL_NS) {
            vs_info(0, "display: a viewer read nothing for %llu s; closed", VIEWER_STALL_NS / 1000000000ull);
            keep = false;
         }
         if (keep && c->websocket && now - c->heard_ns > VIEWER_IDLE_NS) {
            vs_info(0, "display: viewer %u (%s) sent nothing for %llu s (no acknowledgement, no pong); closed",
                    c->id, c->peer_text, VIEWER_IDLE_NS / 1000000000ull);
            keep = false;
         }
         if (keep && c->websocket && now - c->heard_ns > VIEWER_PING_NS && now - c->ping_ns > VIEWER_PING_NS) {
            c->ping_ns = now;
            c->ping_left = 2;
         }
         if (!keep) {
            uint32_t output = c->output;
            bool viewer = c->websocket;
            if (viewer && !c->output_ended)
               vs_info(0, "display: viewer %u disconnected", c->id);
            conn_close(h, idx[k]);
            if (viewer)
               update_ready(h, output);
         }
      }
      if (pfds[1].revents & POLLIN)
         accept_conn(h);
      pthread_mutex_unlock(&h->lock);
   }
   return NULL;
}

struct vs_http *
vs_http_start(const char *addr_port, bool input, const char *token, bool url_in_log, const struct vs_http_tls *tls,
              const struct vs_http_events *events, const struct vs_display_hand_over *carried)
{
   char host[128] = "127.0.0.1";
   char made[2 * VS_VIEWER_TOKEN_BYTES + 1];
   struct vs_display_hand_over kept = { .http_fd = -1 };
   const char *carried_token = carried ? check_carried(carried, &kept) : NULL;
   if (!token)
      token = carried_token;
   if (token && !vs_viewer_token_valid(token)) {
      vs_error(0, "display: bad $VENUS_SERVER_HTTP_TOKEN (use %d to %d characters of A-Z a-z 0-9 - . _ ~)",
               VS_VIEWER_TOKEN_MIN, VS_HTTP_TOKEN_MAX);
      return NULL;
   }
   if (!token) {
      uint8_t random[VS_VIEWER_TOKEN_BYTES];
      if (os_random_bytes(random, sizeof(random)) != 0) {
         vs_error(0, "display: no random bytes for the viewers' token: %s", strerror(errno));
         return NULL;
      }
      vs_viewer_token_hex(random, made);
      token = made;
   }
   const char *colon = strrchr(addr_port, ':');
   const char *port_s = addr_port;
   if (colon) {
      size_t hl = (size_t)(colon - addr_port);
      if (hl >= sizeof(host)) {
         vs_error(0, "display: bad --http address '%s'", addr_port);
         return NULL;
      }
      if (hl) {
         memcpy(host, addr_port, hl);
         host[hl] = '\0';
      }
      port_s = colon + 1;
   }
   char *end;
   long port = strtol(port_s, &end, 10);
   struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
   if (*port_s == '\0' || *end || port < 0 || port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
      vs_error(0, "display: bad --http address '%s' (use ADDR:PORT, an IPv4 address)", addr_port);
      return NULL;
   }
   /* In the clear only where nobody else is on the way, unless the
    * operator says so. */
   const bool loopback = (ntohl(sa.sin_addr.s_addr) >> 24) == 127;
   if (!tls->cert && !loopback && !tls->plain_anywhere) {
      vs_error(0, "display: --http %s is not a loopback address: give the viewers TLS (--http-cert, --http-key), "
                  "or say --http-plain", addr_port);
      return NULL;
   }
   struct vs_tls *session_tls = tls->cert ? vs_tls_create(tls->cert, tls->key) : NULL;
   if (tls->cert && !session_tls)
      return NULL;
   const bool taken = carried && carried->http_fd >= 0 && listening_tcp(carried->http_fd);
   if (carried && carried->http_fd >= 0 && !taken)
      vs_warn(0, "display: the viewers' socket the upgrade carried (fd %d) is no listening TCP socket; listening "
                 "on %s anew", (int)carried->http_fd, addr_port);
   int fd = taken ? carried->http_fd : socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
   int one = 1;
   if (fd < 0 || (!taken && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
                             bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0))) {
      vs_error(0, "display: cannot listen on %s: %s", addr_port, strerror(errno));
      if (fd >= 0)
         close(fd);
      vs_tls_destroy(session_tls);
      return NULL;
   }
   os_set_nonblocking(fd, true);
   socklen_t len = sizeof(sa);
   getsockname(fd, (struct sockaddr *)&sa, &len);
   struct vs_http *h = calloc(1, sizeof(*h));
   if (!h || os_event_init(&h->wake) != 0) {
      vs_error(0, "display: out of memory");
      free(h);
      close(fd);
      vs_tls_destroy(session_tls);
      return NULL;
   }
   h->listen_fd = fd;
   h->tls = session_tls;
   h->input = input;
   h->carried = kept;
   h->carried_until_ns = os_now_ns() + CARRIED_WAIT_NS;
   snprintf(h->token, sizeof(h->token), "%s", token);
   snprintf(h->url_base, sizeof(h->url_base), "%s://%s:%u", session_tls ? "https" : "http", host,
            (unsigned)ntohs(sa.sin_port));
   h->events = *events;
   pthread_mutex_init(&h->lock, NULL);
   h->running = true;
   if (pthread_create(&h->thread, NULL, http_main, h) != 0) {
      vs_error(0, "display: cannot start the HTTP thread");
      h->running = false;
      vs_http_destroy(h);
      return NULL;
   }
   /* The one place the token is shown (tests wait for this line). */
   if (url_in_log) {
      vs_info(0, "display: viewer page at %s/?token=%s", h->url_base, h->token);
   } else {
      printf("venus-server: viewer page at %s/?token=%s\n", h->url_base, h->token);
      fflush(stdout);
   }
   return h;
}

void
vs_http_stop(struct vs_http *h)
{
   if (!h->running)
      return;
   pthread_mutex_lock(&h->lock);
   h->stop = true;
   pthread_mutex_unlock(&h->lock);
   os_event_signal(&h->wake);
   pthread_join(h->thread, NULL);
   h->running = false;
   for (int i = 0; i < MAX_CONNS; i++)
      if (h->conns[i])
         conn_close(h, i);
   for (uint32_t i = 0; i < VS_DISPLAY_MAX_OUTPUTS; i++) {
      if (h->outputs[i].cursor)
         msg_unref(h->outputs[i].cursor);
      h->outputs[i].cursor = NULL;
   }
   vs_info(0, "display: %u viewers served, %llu messages dropped for slow viewers, %llu frames skipped for "
              "viewers without room, %llu acknowledgements, %llu key frames asked for, %llu input events",
           h->viewers_total, (unsigned long long)h->dropped, (unsigned long long)h->skipped, (unsigned long long)h->acks,
           (unsigned long long)h->key_requests, (unsigned long long)h->inputs);
}

void
vs_http_destroy(struct vs_http *h)
{
   if (!h)
      return;
   vs_http_stop(h);
   close(h->listen_fd);
   vs_tls_destroy(h->tls);
   os_event_fini(&h->wake);
   pthread_mutex_destroy(&h->lock);
   free(h);
}
