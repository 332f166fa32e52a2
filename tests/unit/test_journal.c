/* SPDX-License-Identifier: MIT */
/* wire/journal.c and the journal classes gen/venus_gen.py derives: what a
 * context's journal of lasting commands keeps, and that it stays bounded
 * by what lives. */
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "wire/journal.h"
#include "vn_wire.h"

TEST(journal_classes_from_data)
{
   CHECK_EQ(vn_commands[VN_CMD_vkCreateBuffer].journal, VN_JOURNAL_CREATE);
   CHECK_EQ(vn_commands[VN_CMD_vkAllocateMemory].journal, VN_JOURNAL_CREATE);
   CHECK_EQ(vn_commands[VN_CMD_vkAllocateCommandBuffers].journal, VN_JOURNAL_CREATE);
   CHECK(vn_commands[VN_CMD_vkAllocateCommandBuffers].created_ids != 0);
   CHECK(vn_commands[VN_CMD_vkCreateBuffer].created_id != 0);
   CHECK_EQ(vn_commands[VN_CMD_vkDestroyBuffer].journal, VN_JOURNAL_END);
   CHECK_EQ(vn_commands[VN_CMD_vkDestroyBuffer].journal_owner, VK_OBJECT_TYPE_BUFFER);
   CHECK_EQ(vn_commands[VN_CMD_vkFreeCommandBuffers].journal_owner, VK_OBJECT_TYPE_COMMAND_BUFFER);
   CHECK_EQ(vn_commands[VN_CMD_vkBindBufferMemory].journal, VN_JOURNAL_STATE);
   CHECK_EQ(vn_commands[VN_CMD_vkBindBufferMemory].journal_owner, VK_OBJECT_TYPE_BUFFER);
   /* Inside a struct: the first handle of the first write. */
   CHECK_EQ(vn_commands[VN_CMD_vkBindImageMemory2].journal_owner, VK_OBJECT_TYPE_IMAGE);
   CHECK_EQ(vn_commands[VN_CMD_vkUpdateDescriptorSets].journal, VN_JOURNAL_STATE);
   CHECK_EQ(vn_commands[VN_CMD_vkUpdateDescriptorSets].journal_owner, VK_OBJECT_TYPE_DESCRIPTOR_SET);
   CHECK_EQ(vn_commands[VN_CMD_vkCmdDispatch].journal, VN_JOURNAL_RECORD);
   CHECK_EQ(vn_commands[VN_CMD_vkEndCommandBuffer].journal, VN_JOURNAL_RECORD);
   CHECK_EQ(vn_commands[VN_CMD_vkBeginCommandBuffer].journal, VN_JOURNAL_BEGIN);
   CHECK_EQ(vn_commands[VN_CMD_vkResetCommandBuffer].journal, VN_JOURNAL_RESET);
   CHECK_EQ(vn_commands[VN_CMD_vkQueueSubmit].journal, VN_JOURNAL_TRANSIENT);
   CHECK_EQ(vn_commands[VN_CMD_vkWaitForFences].journal, VN_JOURNAL_TRANSIENT);
   CHECK_EQ(vn_commands[VN_CMD_vkGetPhysicalDeviceProperties].journal, VN_JOURNAL_TRANSIENT);
   CHECK_EQ(vn_commands[VN_CMD_vkCreateRingMESA].journal, VN_JOURNAL_TRANSIENT);
   CHECK_EQ(vn_commands[VN_CMD_vkImportFenceFdKHR].journal, VN_JOURNAL_UNREPLAYABLE);
   /* protocol/venus.xml's exceptions. */
   CHECK_EQ(vn_commands[VN_CMD_vkGetDeviceQueue].journal, VN_JOURNAL_CREATE);
   CHECK_EQ(vn_commands[VN_CMD_vkEnumeratePhysicalDevices].journal, VN_JOURNAL_CREATE);
   CHECK_EQ(vn_commands[VN_CMD_vkResetCommandPool].journal, VN_JOURNAL_RESET);
   CHECK_EQ(vn_commands[VN_CMD_vkResetCommandPool].journal_owner, VK_OBJECT_TYPE_COMMAND_POOL);
}

/* The objects the guest can name, for the journal's prunes. */
static uint8_t live[1024];

static bool
alive(void *data, uint64_t id)
{
   (void)data;
   return id < sizeof(live) && live[id];
}

/* A command as the journal keeps it: its type, then a word to tell it by. */
static bool
add(struct vs_journal *j, uint8_t cls, uint32_t word, uint64_t owner, const uint64_t *named, uint32_t named_count)
{
   uint32_t bytes[2] = { 1, word };
   return vs_journal_add(j, 1, cls, bytes, sizeof(bytes), &owner, 1, named, named_count);
}

struct seen {
   uint32_t words[64];
   uint32_t count;
};

static bool
collect(void *data, const void *bytes, size_t size)
{
   struct seen *s = data;
   uint32_t w[2];
   if (size != sizeof(w) || s->count == 64)
      return false;
   memcpy(w, bytes, sizeof(w));
   s->words[s->count++] = w[1];
   return true;
}

/* The journal holds the commands told by `words`, in that order. */
static void
expect_words(struct vs_journal *j, const uint32_t *words, uint32_t count)
{
   struct seen s = { .count = 0 };
   CHECK(vs_journal_walk(j, collect, &s));
   CHECK_EQ(s.count, count);
   for (uint32_t i = 0; i < count; i++)
      CHECK_EQ(s.words[i], words[i]);
}

TEST(journal_keeps_what_lives_needs)
{
   memset(live, 0, sizeof(live));
   struct vs_journal j;
   CHECK(vs_journal_init(&j, 1 << 20, alive, NULL));
   live[1] = live[2] = live[3] = 1;
   add(&j, VN_JOURNAL_CREATE, 100, 1, NULL, 0);             /* device 1 */
   uint64_t on_device[] = { 1 };
   add(&j, VN_JOURNAL_CREATE, 101, 2, on_device, 1);        /* shader module 2 */
   uint64_t module[] = { 1, 2 };
   add(&j, VN_JOURNAL_CREATE, 102, 3, module, 2);           /* pipeline 3 of it */
   add(&j, VN_JOURNAL_CREATE, 103, 4, on_device, 1);        /* buffer 4, failed: never live */
   live[5] = 1;
   add(&j, VN_JOURNAL_CREATE, 104, 5, on_device, 1);        /* sampler 5 */
   live[5] = 0;
   add(&j, VN_JOURNAL_END, 105, 5, on_device, 1);           /* ... destroyed */
   live[2] = 0;
   add(&j, VN_JOURNAL_END, 106, 2, module, 2);              /* module destroyed */
   vs_journal_prune(&j);
   /* The module's create and end stay for the pipeline that needs them;
    * the sampler and the failed buffer are gone. */
   expect_words(&j, (const uint32_t[]){ 100, 101, 102, 106 }, 4);
   if (unit_failed())
      return;
   /* The pipeline goes: so do the module's entries. */
   live[3] = 0;
   uint64_t pipeline[] = { 1, 3 };
   add(&j, VN_JOURNAL_END, 107, 3, pipeline, 2);
   vs_journal_prune(&j);
   expect_words(&j, (const uint32_t[]){ 100 }, 1);
   vs_journal_fini(&j);
}

TEST(journal_recording_starts_anew)
{
   memset(live, 0, sizeof(live));
   struct vs_journal j;
   CHECK(vs_journal_init(&j, 1 << 20, alive, NULL));
   live[1] = live[10] = live[11] = 1;
   add(&j, VN_JOURNAL_CREATE, 1, 10, NULL, 0);     /* command buffer 10 */
   add(&j, VN_JOURNAL_BEGIN, 2, 10, NULL, 0);
   add(&j, VN_JOURNAL_RECORD, 3, 10, NULL, 0);
   add(&j, VN_JOURNAL_BEGIN, 4, 10, NULL, 0);      /* recorded anew */
   add(&j, VN_JOURNAL_RECORD, 5, 10, NULL, 0);
   add(&j, VN_JOURNAL_CREATE, 6, 11, NULL, 0);     /* command buffer 11 */
   add(&j, VN_JOURNAL_BEGIN, 7, 11, NULL, 0);
   add(&j, VN_JOURNAL_RECORD, 8, 11, NULL, 0);
   vs_journal_restart(&j, 11);                     /* reset */
   vs_journal_prune(&j);
   expect_words(&j, (const uint32_t[]){ 1, 4, 5, 6 }, 4);
   vs_journal_fini(&j);
}

/* A client that makes, records and frees a command buffer each frame for
 * a long while: the journal stays the size of one frame's. */
TEST(journal_bounded_by_what_lives)
{
   memset(live, 0, sizeof(live));
   struct vs_journal j;
   CHECK(vs_journal_init(&j, 1 << 20, alive, NULL));
   live[1] = 1;
   add(&j, VN_JOURNAL_CREATE, 0, 1, NULL, 0);
   uint64_t on_device[] = { 1 };
   size_t most = 0;
   for (uint32_t frame = 0; frame < 100000; frame++) {
      uint64_t cb = 2 + frame % 1000;
      live[cb] = 1;
      add(&j, VN_JOURNAL_CREATE, frame, cb, on_device, 1);
      add(&j, VN_JOURNAL_BEGIN, frame, cb, NULL, 0);
      for (int k = 0; k < 5; k++)
         add(&j, VN_JOURNAL_RECORD, frame, cb, on_device, 1);
      live[cb] = 0;
      CHECK(add(&j, VN_JOURNAL_END, frame, cb, on_device, 1));
      most = j.count > most ? j.count : most;
   }
   CHECK(!j.refused[0]);
   CHECK_LE(most, 1024u);
   CHECK_LE(j.starts_cap, 2048u);
   vs_journal_prune(&j);
   CHECK_EQ(j.count, 1u);
   vs_journal_fini(&j);
}

TEST(journal_refusals)
{
   memset(live, 0, sizeof(live));
   struct vs_journal j;
   CHECK(vs_journal_init(&j, 64, alive, NULL));
   live[1] = live[2] = 1;
   uint32_t big[32] = { 0 };
   uint64_t owner = 1;
   /* Over its limit, with everything alive: refused, and empty. */
   CHECK(vs_journal_add(&j, 1, VN_JOURNAL_CREATE, big, 40, &owner, 1, NULL, 0));
   owner = 2;
   CHECK(!vs_journal_add(&j, 1, VN_JOURNAL_CREATE, big, 40, &owner, 1, NULL, 0));
   CHECK(strstr(j.refused, "over its limit") != NULL);
   CHECK_EQ(j.count, 0u);
   /* The first reason stays; nothing is kept after. */
   vs_journal_refuse(&j, "%s cannot be replayed", "vkImportFenceFdKHR");
   CHECK(strstr(j.refused, "over its limit") != NULL);
   CHECK(!vs_journal_add(&j, 1, VN_JOURNAL_CREATE, big, 8, &owner, 1, NULL, 0));
   CHECK_EQ(j.count, 0u);
   vs_journal_fini(&j);
}

UNIT_MAIN(UNIT(journal_classes_from_data), UNIT(journal_keeps_what_lives_needs), UNIT(journal_recording_starts_anew),
          UNIT(journal_bounded_by_what_lives), UNIT(journal_refusals))
