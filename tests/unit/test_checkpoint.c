/* SPDX-License-Identifier: MIT */
/* worker/checkpoint.c: the server keeps a worker's newest checkpoint,
 * forgets it when the worker says it spoiled, hands it to the next worker
 * as a socket holding the state, and keeps none once a worker sent a
 * malformed note; a keeper parked for a live upgrade leaves what the
 * worker sends meanwhile to the keeper after it. */
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit.h"
#include "base/parcel.h"
#include "os/os.h"
#include "worker/checkpoint.h"

/* A state of one word and one fd (a pipe's end), published on `sock`. */
static bool
publish_word(int sock, uint32_t word)
{
   int pipe_fds[2];
   if (pipe(pipe_fds) != 0)
      return false;
   struct vs_parcel state = { 0 };
   vs_parcel_put_u32(&state, word);
   vs_parcel_put_fd(&state, pipe_fds[0]);
   char why[160];
   const bool ok = !state.failed && vs_checkpoint_publish(sock, &state, why, sizeof(why));
   vs_parcel_fini(&state);
   close(pipe_fds[0]);
   close(pipe_fds[1]);
   return ok;
}

/* The word of the state `kept` holds (the next worker's read); 0 if none. */
static uint32_t
kept_word(int kept)
{
   struct vs_parcel in;
   char why[160];
   uint32_t word = 0;
   if (vs_parcel_recv_kept(kept, &in, 1 << 20, 16, why, sizeof(why)) != 0)
      return 0;
   int fd = -1;
   if (!vs_parcel_take_u32(&in, &word) || (fd = vs_parcel_take_fd(&in)) < 0)
      word = 0;
   if (fd >= 0)
      close(fd);
   vs_parcel_fini(&in);
   return word;
}

/* A keeper on a fresh pair: pair[1] is the worker's end. */
static bool
start(struct vs_checkpoint_keeper *k, int pair[2])
{
   return vs_checkpoint_pair(pair) == 0 && vs_checkpoint_keeper_start(k, pair[0], 7, -1, 0, -1);
}

TEST(the_newest_checkpoint_is_kept)
{
   struct vs_checkpoint_keeper k;
   int pair[2];
   CHECK(start(&k, pair));
   CHECK(publish_word(pair[1], 1));
   CHECK(publish_word(pair[1], 2));
   close(pair[1]); /* the worker ends */
   uint64_t age = 0;
   const int kept = vs_checkpoint_keeper_finish(&k, &age);
   CHECK(kept >= 0);
   CHECK_EQ(kept_word(kept), 2);
   close(kept);
}

TEST(a_spoiled_checkpoint_is_forgotten)
{
   struct vs_checkpoint_keeper k;
   int pair[2];
   CHECK(start(&k, pair));
   CHECK(publish_word(pair[1], 1));
   CHECK(vs_checkpoint_spoil(pair[1]));
   close(pair[1]);
   uint64_t age = 0;
   CHECK_EQ(vs_checkpoint_keeper_finish(&k, &age), -1);
   /* Published again after the spoil: that one is kept. */
   CHECK(start(&k, pair));
   CHECK(publish_word(pair[1], 1));
   CHECK(vs_checkpoint_spoil(pair[1]));
   CHECK(publish_word(pair[1], 3));
   close(pair[1]);
   const int kept = vs_checkpoint_keeper_finish(&k, &age);
   CHECK(kept >= 0);
   CHECK_EQ(kept_word(kept), 3);
   close(kept);
}

/* What a worker its guest owns may send: a note of another form, a
 * published note without its fd or with one that is not a socket. None
 * is kept after it, whatever follows. */
TEST(a_malformed_note_ends_the_checkpoints)
{
   static const struct {
      char note;
      bool with_pipe;
   } bad[] = { { 'x', false }, { 'c', false }, { 'c', true }, { 's', true } };
   for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
      struct vs_checkpoint_keeper k;
      int pair[2];
      CHECK(start(&k, pair));
      CHECK(publish_word(pair[1], 1));
      int pipe_fds[2];
      CHECK(pipe(pipe_fds) == 0);
      CHECK_EQ(os_send_fds(pair[1], &bad[i].note, 1, &pipe_fds[0], bad[i].with_pipe ? 1 : 0, 0), 1);
      close(pipe_fds[0]);
      close(pipe_fds[1]);
      CHECK(publish_word(pair[1], 2));
      close(pair[1]);
      uint64_t age = 0;
      CHECK_EQ(vs_checkpoint_keeper_finish(&k, &age), -1);
   }
}

/* A worker that never sent anything, or a server whose keeper is gone. */
TEST(no_checkpoint_and_no_keeper)
{
   struct vs_checkpoint_keeper k;
   int pair[2];
   CHECK(start(&k, pair));
   close(pair[1]);
   uint64_t age = 1;
   CHECK_EQ(vs_checkpoint_keeper_finish(&k, &age), -1);
   CHECK_EQ(age, 0);
   /* The server's end closed: the worker's note says it was not told. */
   CHECK(vs_checkpoint_pair(pair) == 0);
   close(pair[0]);
   CHECK(!vs_checkpoint_spoil(pair[1]));
   CHECK(!publish_word(pair[1], 1));
   close(pair[1]);
}

/* Until keeper `k` holds a checkpoint (at most a second). */
static bool
wait_kept(struct vs_checkpoint_keeper *k)
{
   for (int i = 0; i < 1000; i++) {
      pthread_mutex_lock(&k->lock);
      const bool kept = k->kept >= 0;
      pthread_mutex_unlock(&k->lock);
      if (kept)
         return true;
      os_sleep_ns(1000000);
   }
   return false;
}

/* A keeper parks with a checkpoint; a spoil sent while it is parked is
 * the next keeper's to read (the checkpoint is then forgotten), and
 * without one the next keeper hands the checkpoint on. */
TEST(a_parked_keeper_leaves_the_rest_to_the_next)
{
   for (int spoil = 0; spoil <= 1; spoil++) {
      struct os_event park;
      CHECK(os_event_init(&park) == 0);
      struct vs_checkpoint_keeper k;
      int pair[2];
      CHECK(vs_checkpoint_pair(pair) == 0);
      CHECK(vs_checkpoint_keeper_start(&k, pair[0], 7, -1, 0, park.read_fd));
      CHECK(publish_word(pair[1], 1));
      CHECK(wait_kept(&k));
      os_event_signal(&park);
      int sock = -1, kept = -1;
      uint64_t age = 0;
      vs_checkpoint_keeper_park(&k, &sock, &kept, &age);
      CHECK_EQ(sock, pair[0]);
      CHECK(kept >= 0);
      if (spoil)
         CHECK(vs_checkpoint_spoil(pair[1]));
      pthread_mutex_destroy(&k.lock);
      struct vs_checkpoint_keeper next;
      CHECK(vs_checkpoint_keeper_start(&next, sock, 7, kept, age, -1));
      close(pair[1]);
      const int handed = vs_checkpoint_keeper_finish(&next, &age);
      if (spoil) {
         CHECK_EQ(handed, -1);
      } else {
         CHECK(handed >= 0);
         CHECK_EQ(kept_word(handed), 1);
         close(handed);
      }
      os_event_fini(&park);
   }
}

UNIT_MAIN(UNIT(the_newest_checkpoint_is_kept), UNIT(a_spoiled_checkpoint_is_forgotten),
          UNIT(a_malformed_note_ends_the_checkpoints), UNIT(no_checkpoint_and_no_keeper),
          UNIT(a_parked_keeper_leaves_the_rest_to_the_next))
