/* SPDX-License-Identifier: MIT */
/* The VM channel's guest messages, socket-free: framing the byte stream by
 * the header's size, and every check a message can be put to without the
 * channel's state (vmchannel_protocol.h). The channel (vmchannel.c) feeds
 * it what it reads; unit tests feed it hostile bytes. */
#ifndef VS_VMCHANNEL_MESSAGE_H
#define VS_VMCHANNEL_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport/vmchannel/vmchannel_protocol.h"

struct vs_resource_info;

union vs_vmch_message {
   struct vs_vmch_header header;
   struct vs_vmch_hello hello;
   struct vs_vmch_attach attach;
   struct vs_vmch_commit commit;
   struct vs_vmch_surface surface;
   uint8_t bytes[VS_VMCH_MAX_MESSAGE];
};

/* Bytes of a message not yet whole, kept between reads. */
struct vs_vmch_reader {
   union vs_vmch_message pending;
   uint32_t have;      /* bytes of `pending` filled */
   uint32_t skip;      /* bytes of a refused message still to drop */
};

enum vs_vmch_read_result {
   VS_VMCH_READ_MORE,    /* all of `size` taken, no whole message yet */
   VS_VMCH_READ_MESSAGE, /* *msg is a whole, checked message */
   VS_VMCH_READ_REFUSED, /* a message refused (why says which): skipped, the stream goes on */
   VS_VMCH_READ_BROKEN,  /* a size that cannot be framed: the stream is lost */
};

/* Takes bytes from `data` (at most `size`; *used says how many) until a
 * message is whole or refused. A refused message's remaining bytes are
 * dropped by the following calls. */
enum vs_vmch_read_result vs_vmch_read(struct vs_vmch_reader *reader, const uint8_t *data, size_t size, size_t *used,
                                      union vs_vmch_message *msg, char *why, size_t why_size);

/* Whether an ATTACH may show `res` (the resource it names, from the
 * resource table): a SHAREABLE blob the image fits in. */
bool vs_vmch_attach_fits(const struct vs_vmch_attach *attach, const struct vs_resource_info *res, char *why,
                         size_t why_size);

/* "HELLO", "ATTACH", "COMMIT", "DESTROY"; "message" for other types. */
const char *vs_vmch_type_name(uint32_t type);

#endif
