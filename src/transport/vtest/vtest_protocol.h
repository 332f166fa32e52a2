/* SPDX-License-Identifier: MIT */
/* The vtest wire protocol (version 3) as the Mesa Venus driver speaks it.
 * All integers are little-endian 32-bit words. Every message starts with
 * a two-word header: payload length, command id. The length counts 32-bit
 * words, except for CREATE_RENDERER where it counts bytes. */
#ifndef VTEST_PROTOCOL_H
#define VTEST_PROTOCOL_H

#define VTEST_DEFAULT_SOCKET_PATH "/tmp/.virgl_test"

/* The newest version we speak; we answer min(this, requested). Version 4
 * changes how SUBMIT_CMD2 batch headers are read, so never answer more than
 * the client asked for. */
#define VTEST_PROTOCOL_VERSION 3

#define VTEST_HDR_WORDS 2
#define VTEST_HDR_LEN 0
#define VTEST_HDR_ID 1

/* Command ids. Ids not listed after BUSY_WAIT are virgl (OpenGL) commands
 * or protocol 4 additions that a Venus-only server refuses. */
#define VTEST_CMD_GET_CAPS 1
#define VTEST_CMD_RESOURCE_CREATE 2
#define VTEST_CMD_RESOURCE_UNREF 3
#define VTEST_CMD_TRANSFER_GET 4
#define VTEST_CMD_TRANSFER_PUT 5
#define VTEST_CMD_SUBMIT_CMD 6
#define VTEST_CMD_RESOURCE_BUSY_WAIT 7
#define VTEST_CMD_CREATE_RENDERER 8
#define VTEST_CMD_GET_CAPS2 9
#define VTEST_CMD_PING_PROTOCOL_VERSION 10
#define VTEST_CMD_PROTOCOL_VERSION 11
#define VTEST_CMD_RESOURCE_CREATE2 12
#define VTEST_CMD_TRANSFER_GET2 13
#define VTEST_CMD_TRANSFER_PUT2 14
#define VTEST_CMD_GET_PARAM 15
#define VTEST_CMD_GET_CAPSET 16
#define VTEST_CMD_CONTEXT_INIT 17
#define VTEST_CMD_RESOURCE_CREATE_BLOB 18
#define VTEST_CMD_SYNC_CREATE 19
#define VTEST_CMD_SYNC_UNREF 20
#define VTEST_CMD_SYNC_READ 21
#define VTEST_CMD_SYNC_WRITE 22
#define VTEST_CMD_SYNC_WAIT 23
#define VTEST_CMD_SUBMIT_CMD2 24

/* Request payload lengths (words) of the fixed-size commands. */
#define VTEST_LEN_RESOURCE_UNREF 1
#define VTEST_LEN_RESOURCE_BUSY_WAIT 2
#define VTEST_LEN_PING_PROTOCOL_VERSION 0
#define VTEST_LEN_PROTOCOL_VERSION 1
#define VTEST_LEN_GET_PARAM 1
#define VTEST_LEN_GET_CAPSET 2
#define VTEST_LEN_CONTEXT_INIT 1
#define VTEST_LEN_RESOURCE_CREATE_BLOB 6
#define VTEST_LEN_SYNC_CREATE 2
#define VTEST_LEN_SYNC_UNREF 1
#define VTEST_LEN_SYNC_READ 1
#define VTEST_LEN_SYNC_WRITE 3

/* GET_PARAM parameters. */
#define VTEST_PARAM_MAX_TIMELINE_COUNT 1

/* RESOURCE_CREATE_BLOB request words: type, flags, size lo/hi, blob id lo/hi.
 * Reply: one word res_id, then the fd in a separate one-byte message. */
#define VTEST_BLOB_TYPE 0
#define VTEST_BLOB_FLAGS 1
#define VTEST_BLOB_SIZE_LO 2
#define VTEST_BLOB_SIZE_HI 3
#define VTEST_BLOB_ID_LO 4
#define VTEST_BLOB_ID_HI 5

/* SYNC_WAIT request: flags, timeout (ms), then one entry per sync.
 * Reply: empty, then a pollable fd in a separate one-byte message. */
#define VTEST_SYNC_WAIT_FLAG_ANY 0x1
#define VTEST_SYNC_WAIT_HDR_WORDS 2

/* A sync entry (SYNC_WAIT and SUBMIT_CMD2): sync id, value lo, value hi. */
#define VTEST_SYNC_ENTRY_WORDS 3

/* SUBMIT_CMD2: word 0 batch count, then one header per batch. Mesa writes
 * 6-word headers (its struct), though the protocol header's index macros
 * assume a stride of 8; the two agree only for batch 0. We follow Mesa. */
#define VTEST_SUBMIT_BATCH_WORDS 6
#define VTEST_BATCH_FLAGS 0
#define VTEST_BATCH_CMD_OFFSET 1
#define VTEST_BATCH_CMD_SIZE 2
#define VTEST_BATCH_SYNC_OFFSET 3
#define VTEST_BATCH_SYNC_COUNT 4
#define VTEST_BATCH_RING_IDX 5
#define VTEST_SUBMIT_FLAG_RING_IDX 0x1

/* Limits we impose on untrusted clients. */
#define VTEST_MAX_RENDERER_NAME 1024 /* bytes, including the NUL */
#define VTEST_MAX_SUBMIT_WORDS (64u * 1024 * 1024 / 4)
#define VTEST_MAX_WAIT_SYNCS 4096

#endif
