/* SPDX-License-Identifier: MIT */
/* base/ledger.c and worker/ledger_channel.c: the counts clients share live
 * in the server, a client can only charge and give back its own, and a
 * worker that ends, however, gives back all it held. */
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit.h"
#include "base/ledger.h"
#include "worker/ledger_channel.h"

static const struct vs_ledger_limits limits = {
   .scope = { [VS_LEDGER_BUFFERED] = 256, [VS_LEDGER_HOST_MEMORY] = 1000 },
   .account = { [VS_LEDGER_BUFFERED] = 64 },
};

TEST(ledger_scopes)
{
   struct vs_ledger *ledger = vs_ledger_create(&limits);
   struct vs_ledger_account *a = vs_ledger_open(ledger, 1000), *b = vs_ledger_open(ledger, 1000);
   struct vs_ledger_account *other = vs_ledger_open(ledger, 1001);
   struct vs_ledger_answer answer;
   /* Host memory: per uid. */
   vs_ledger_charge(a, VS_LEDGER_HOST_MEMORY, 600, &answer);
   CHECK(answer.granted);
   CHECK_EQ(answer.left, 400u);
   vs_ledger_charge(b, VS_LEDGER_HOST_MEMORY, 600, &answer);
   CHECK(!answer.granted);
   CHECK_EQ(answer.held, 600u);
   CHECK_EQ(answer.limit, 1000u);
   vs_ledger_charge(b, VS_LEDGER_HOST_MEMORY, 400, &answer);
   CHECK(answer.granted);
   CHECK_EQ(answer.left, 0u);
   vs_ledger_charge(other, VS_LEDGER_HOST_MEMORY, 1000, &answer);
   CHECK(answer.granted);
   /* A charge of 0 asks what is left. */
   vs_ledger_charge(b, VS_LEDGER_HOST_MEMORY, 0, &answer);
   CHECK(answer.granted);
   CHECK_EQ(answer.left, 0u);
   vs_ledger_close(a);
   vs_ledger_charge(b, VS_LEDGER_HOST_MEMORY, 0, &answer);
   CHECK_EQ(answer.left, 600u);
   /* Buffered bytes: server-wide, and at most 64 per account. */
   vs_ledger_charge(b, VS_LEDGER_BUFFERED, 65, &answer);
   CHECK(!answer.granted);
   vs_ledger_charge(b, VS_LEDGER_BUFFERED, 64, &answer);
   CHECK(answer.granted);
   vs_ledger_close(b);
   vs_ledger_close(other);
   vs_ledger_destroy(ledger);
}

TEST(ledger_cannot_be_poisoned)
{
   struct vs_ledger *ledger = vs_ledger_create(&limits);
   struct vs_ledger_account *hostile = vs_ledger_open(ledger, 1000), *victim = vs_ledger_open(ledger, 1001);
   struct vs_ledger_answer answer;
   /* Huge charges are refused, never wrap. */
   vs_ledger_charge(hostile, VS_LEDGER_BUFFERED, 1ull << 62, &answer);
   CHECK(!answer.granted);
   vs_ledger_charge(hostile, VS_LEDGER_HOST_MEMORY, UINT64_MAX, &answer);
   CHECK(!answer.granted);
   /* Giving back what it never held frees nobody else's share, nor makes
    * room beyond the limit. */
   vs_ledger_charge(victim, VS_LEDGER_BUFFERED, 64, &answer);
   CHECK(answer.granted);
   vs_ledger_give(hostile, VS_LEDGER_BUFFERED, UINT64_MAX);
   CHECK_EQ(vs_ledger_held(victim, VS_LEDGER_BUFFERED), 64u);
   vs_ledger_charge(hostile, VS_LEDGER_BUFFERED, 64, &answer);
   CHECK(answer.granted);
   CHECK_EQ(answer.held, 64u);
   /* One account holds at most its own limit: the rest stays for others. */
   vs_ledger_charge(hostile, VS_LEDGER_BUFFERED, 1, &answer);
   CHECK(!answer.granted);
   struct vs_ledger_account *third = vs_ledger_open(ledger, 1002);
   vs_ledger_charge(third, VS_LEDGER_BUFFERED, 64, &answer);
   CHECK(answer.granted);
   vs_ledger_close(hostile);
   vs_ledger_close(victim);
   vs_ledger_close(third);
   vs_ledger_destroy(ledger);
}

/* A worker's port over its channel; the channel's end gives its share back. */
TEST(ledger_channel_gives_back_when_the_worker_ends)
{
   struct vs_ledger *ledger = vs_ledger_create(&limits);
   struct vs_ledger_account *watcher = vs_ledger_open(ledger, 1000);
   int fd = -1;
   struct vs_ledger_channel *ch = vs_ledger_channel_open(ledger, 1000, 7, &fd);
   CHECK(ch != NULL);
   struct vs_ledger_port *port = vs_ledger_remote_port_create(fd, 7);
   struct vs_ledger_answer answer;
   port->charge(port, VS_LEDGER_HOST_MEMORY, 700, &answer);
   CHECK(answer.granted);
   CHECK_EQ(answer.left, 300u);
   port->charge(port, VS_LEDGER_HOST_MEMORY, 400, &answer);
   CHECK(!answer.granted);
   CHECK_EQ(answer.held, 700u);
   port->give(port, VS_LEDGER_HOST_MEMORY, 100);
   port->charge(port, VS_LEDGER_BUFFERED, 64, &answer);
   CHECK(answer.granted);
   vs_ledger_charge(watcher, VS_LEDGER_HOST_MEMORY, 0, &answer);
   CHECK_EQ(answer.left, 400u);
   /* The worker dies holding 600 bytes of memory and a message's buffer:
    * its end closes, and all of it is back before the server closes the
    * channel. */
   vs_ledger_remote_port_destroy(port);
   for (int i = 0; i < 2000; i++) {
      vs_ledger_charge(watcher, VS_LEDGER_HOST_MEMORY, 0, &answer);
      if (answer.left == 1000)
         break;
      usleep(1000);
   }
   CHECK_EQ(answer.left, 1000u);
   vs_ledger_charge(watcher, VS_LEDGER_BUFFERED, 0, &answer);
   CHECK_EQ(answer.held, 0u);
   vs_ledger_channel_close(ch);
   vs_ledger_close(watcher);
   vs_ledger_destroy(ledger);
}

/* A message the server cannot accept ends that worker's channel alone,
 * and gives its share back. */
TEST(ledger_channel_drops_a_bad_message)
{
   struct vs_ledger *ledger = vs_ledger_create(&limits);
   int fd = -1, good_fd = -1;
   struct vs_ledger_channel *ch = vs_ledger_channel_open(ledger, 1000, 7, &fd);
   struct vs_ledger_channel *good = vs_ledger_channel_open(ledger, 1000, 8, &good_fd);
   CHECK(ch && good);
   struct vs_ledger_port *port = vs_ledger_remote_port_create(fd, 7);
   struct vs_ledger_port *good_port = vs_ledger_remote_port_create(good_fd, 8);
   struct vs_ledger_answer answer;
   port->charge(port, VS_LEDGER_HOST_MEMORY, 900, &answer);
   CHECK(answer.granted);
   /* What a compromised worker might write instead of a request. */
   const uint32_t garbage[16] = { 2, 99, 0xffffffffu, 0xffffffffu };
   CHECK_EQ(send(fd, garbage, sizeof(garbage), 0), (ssize_t)sizeof(garbage));
   for (int i = 0; i < 2000; i++) {
      good_port->charge(good_port, VS_LEDGER_HOST_MEMORY, 0, &answer);
      if (answer.left == 1000)
         break;
      usleep(1000);
   }
   CHECK_EQ(answer.left, 1000u);
   /* The bad worker's later charges are refused. */
   port->charge(port, VS_LEDGER_HOST_MEMORY, 1, &answer);
   CHECK(!answer.granted);
   good_port->charge(good_port, VS_LEDGER_HOST_MEMORY, 1000, &answer);
   CHECK(answer.granted);
   vs_ledger_remote_port_destroy(port);
   vs_ledger_remote_port_destroy(good_port);
   vs_ledger_channel_close(ch);
   vs_ledger_channel_close(good);
   vs_ledger_destroy(ledger);
}

/* A server-wide pool with a share per uid: a uid whose accounts (or their
 * workers) keep what they were granted leaves the others the rest, and its
 * refusal says it was its uid's share, also over a worker's channel. */
TEST(ledger_one_uid_takes_its_share)
{
   const struct vs_ledger_limits shared = {
      .scope = { [VS_LEDGER_BUFFERED] = 256 },
      .account = { [VS_LEDGER_BUFFERED] = 64 },
      .peer = { [VS_LEDGER_BUFFERED] = 128 },
   };
   struct vs_ledger *ledger = vs_ledger_create(&shared);
   struct vs_ledger_account *a = vs_ledger_open(ledger, 1000), *b = vs_ledger_open(ledger, 1000);
   struct vs_ledger_account *other[4];
   for (int i = 0; i < 4; i++)
      other[i] = vs_ledger_open(ledger, 1001);
   int fd = -1;
   struct vs_ledger_channel *ch = vs_ledger_channel_open(ledger, 1000, 7, &fd);
   CHECK(ch != NULL);
   struct vs_ledger_port *worker = vs_ledger_remote_port_create(fd, 7);
   struct vs_ledger_answer answer;
   vs_ledger_charge(a, VS_LEDGER_BUFFERED, 64, &answer);
   CHECK(answer.granted && !answer.peer);
   vs_ledger_charge(b, VS_LEDGER_BUFFERED, 64, &answer);
   CHECK(answer.granted);
   CHECK_EQ(answer.left, 0u);
   worker->charge(worker, VS_LEDGER_BUFFERED, 1, &answer);
   CHECK(!answer.granted);
   CHECK(answer.peer);
   CHECK_EQ(answer.held, 128u);
   CHECK_EQ(answer.limit, 128u);
   /* The other uid has the other half, and then the pool is full. */
   vs_ledger_charge(other[0], VS_LEDGER_BUFFERED, 64, &answer);
   CHECK(answer.granted);
   vs_ledger_charge(other[1], VS_LEDGER_BUFFERED, 64, &answer);
   CHECK(answer.granted);
   vs_ledger_charge(other[2], VS_LEDGER_BUFFERED, 1, &answer);
   CHECK(!answer.granted);
   CHECK(!answer.peer);
   CHECK_EQ(answer.held, 256u);
   /* What a uid gives back is its own again. */
   vs_ledger_close(a);
   worker->charge(worker, VS_LEDGER_BUFFERED, 64, &answer);
   CHECK(answer.granted);
   vs_ledger_remote_port_destroy(worker);
   vs_ledger_channel_close(ch);
   vs_ledger_charge(b, VS_LEDGER_BUFFERED, 64, &answer);
   CHECK(!answer.granted); /* b's own limit */
   CHECK(!answer.peer);
   vs_ledger_close(b);
   for (int i = 0; i < 4; i++)
      vs_ledger_close(other[i]);
   vs_ledger_destroy(ledger);
}

UNIT_MAIN(UNIT(ledger_scopes), UNIT(ledger_cannot_be_poisoned), UNIT(ledger_channel_gives_back_when_the_worker_ends),
          UNIT(ledger_channel_drops_a_bad_message), UNIT(ledger_one_uid_takes_its_share))
