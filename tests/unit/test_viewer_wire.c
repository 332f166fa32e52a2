/* SPDX-License-Identifier: MIT */
/* transport/display/http_request.c, ws_frame.c, viewer_message.c: what a viewer
 * sends, parsed without sockets. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "transport/display/viewer_wire.h"
#include "unit.h"
#include "base/log.h"

/* A masked client frame of `len` payload bytes into out; its size. */
static size_t
client_frame(uint8_t *out, uint8_t b0, const uint8_t *payload, size_t len)
{
   static const uint8_t mask[4] = { 0x12, 0x34, 0x56, 0x78 };
   out[0] = b0;
   out[1] = (uint8_t)(0x80 | len);
   memcpy(out + 2, mask, 4);
   for (size_t i = 0; i < len; i++)
      out[6 + i] = payload[i] ^ mask[i % 4];
   return 6 + len;
}

struct seen {
   uint8_t msgs[8][16];
   size_t lens[8];
   unsigned n;
   bool refuse;
};

static bool
record(void *data, const uint8_t *m, size_t len)
{
   struct seen *s = data;
   if (s->n < 8) {
      memcpy(s->msgs[s->n], m, len < 16 ? len : 16);
      s->lens[s->n] = len;
   }
   s->n++;
   return !s->refuse;
}

static enum vs_http_route
route(const char *req)
{
   struct vs_http_request r;
   vs_http_parse_request(req, &r);
   return r.route;
}

TEST(request_upgrade_accept)
{
   /* RFC 6455's own example key and answer. */
   struct vs_http_request r;
   const char *req = "GET /stream HTTP/1.1\r\nHost: x\r\nupgrade: WebSocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
   vs_http_parse_request(req, &r);
   CHECK_EQ(r.route, VS_HTTP_UPGRADE);
   CHECK(strcmp(r.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0);
}

TEST(request_routes)
{
   CHECK_EQ(route("GET / HTTP/1.1\r\n\r\n"), VS_HTTP_PAGE);
   CHECK_EQ(route("GET /index.html HTTP/1.0\r\n\r\n"), VS_HTTP_PAGE);
   CHECK_EQ(route("GET /?token=abc HTTP/1.1\r\n\r\n"), VS_HTTP_PAGE);
   CHECK_EQ(route("GET /outputs?token=abc HTTP/1.1\r\n\r\n"), VS_HTTP_OUTPUTS);
   CHECK_EQ(route("GET /x HTTP/1.1\r\n\r\n"), VS_HTTP_NOT_FOUND);
   CHECK_EQ(route("GET /x?/ HTTP/1.1\r\n\r\n"), VS_HTTP_NOT_FOUND);
   CHECK_EQ(route("POST / HTTP/1.1\r\n\r\n"), VS_HTTP_NOT_GET);
   CHECK_EQ(route(""), VS_HTTP_NOT_GET);
   /* No key, or no upgrade, or a key too long for the handshake. */
   CHECK_EQ(route("GET /stream HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"), VS_HTTP_BAD_UPGRADE);
   CHECK_EQ(route("GET /stream?token=abc HTTP/1.1\r\nSec-WebSocket-Key: abc\r\n\r\n"), VS_HTTP_BAD_UPGRADE);
   char big[400];
   int n = snprintf(big, sizeof(big), "GET /stream HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Key: ");
   memset(big + n, 'k', 200);
   strcpy(big + n + 200, "\r\n\r\n");
   CHECK_EQ(route(big), VS_HTTP_BAD_UPGRADE);
}

TEST(request_token)
{
   struct vs_http_request r;
   vs_http_parse_request("GET / HTTP/1.1\r\n\r\n", &r);
   CHECK(!r.token_given);
   vs_http_parse_request("GET /stream?a=1&token=0123abcd&b=2 HTTP/1.1\r\n\r\n", &r);
   CHECK(r.token_given);
   CHECK(strcmp(r.token, "0123abcd") == 0);
   vs_http_parse_request("GET /?token= HTTP/1.1\r\n\r\n", &r);
   CHECK(r.token_given);
   CHECK(strcmp(r.token, "") == 0);
   /* A token in a header, or a parameter that only ends in token=, is none. */
   vs_http_parse_request("GET /?xtoken=abc HTTP/1.1\r\ntoken=abc\r\n\r\n", &r);
   CHECK(!r.token_given);
   /* Longer than any token: given, and matching none. */
   char req[400];
   int n = snprintf(req, sizeof(req), "GET /?token=");
   memset(req + n, 'a', VS_HTTP_TOKEN_MAX + 1);
   strcpy(req + n + VS_HTTP_TOKEN_MAX + 1, " HTTP/1.1\r\n\r\n");
   vs_http_parse_request(req, &r);
   CHECK(r.token_given);
   CHECK(strcmp(r.token, "") == 0);
}

TEST(request_output)
{
   struct vs_http_request r;
   vs_http_parse_request("GET /stream?token=abc HTTP/1.1\r\n\r\n", &r);
   CHECK(!r.output_given);
   vs_http_parse_request("GET /stream?output=vm-2&token=abc HTTP/1.1\r\n\r\n", &r);
   CHECK(r.output_given && strcmp(r.output, "vm-2") == 0);
   CHECK(r.token_given && strcmp(r.token, "abc") == 0);
   /* The first of each counts; a name with other bytes names none. */
   vs_http_parse_request("GET /?output=a&output=b HTTP/1.1\r\n\r\n", &r);
   CHECK(strcmp(r.output, "a") == 0);
   vs_http_parse_request("GET /?output=VM%2F1 HTTP/1.1\r\n\r\n", &r);
   CHECK(r.output_given && strcmp(r.output, "") == 0);
   vs_http_parse_request("GET /?output=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n", &r);
   CHECK(r.output_given && strcmp(r.output, "") == 0);
   vs_http_parse_request("GET /?token=a%20b HTTP/1.1\r\n\r\n", &r);
   CHECK(r.token_given && strcmp(r.token, "") == 0);
}

TEST(request_origin)
{
   struct vs_http_request r;
   vs_http_parse_request("GET /stream HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n", &r);
   CHECK_EQ(r.origin, VS_HTTP_ORIGIN_NONE);
   CHECK(strcmp(r.origin_text, "") == 0);
   vs_http_parse_request("GET /stream HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nOrigin: http://127.0.0.1:8080\r\n\r\n", &r);
   CHECK_EQ(r.origin, VS_HTTP_ORIGIN_SAME);
   vs_http_parse_request("GET /stream HTTP/1.1\r\norigin: HTTPS://Viewer.example\r\nHOST: viewer.EXAMPLE\r\n\r\n", &r);
   CHECK_EQ(r.origin, VS_HTTP_ORIGIN_SAME);
   const char *foreign[] = {
      "Host: 127.0.0.1:8080\r\nOrigin: https://evil.example\r\n",
      "Host: 127.0.0.1:8080\r\nOrigin: http://127.0.0.1:8081\r\n",   /* another port is another origin */
      "Host: 127.0.0.1:8080\r\nOrigin: http://127.0.0.1:8080.evil.example\r\n",
      "Host: 127.0.0.1:8080\r\nOrigin: http://127.0.0.1\r\n",
      "Host: 127.0.0.1:8080\r\nOrigin: null\r\n",
      "Host: 127.0.0.1:8080\r\nOrigin: ftp://127.0.0.1:8080\r\n",
      "Origin: http://127.0.0.1:8080\r\n",                            /* no Host to be */
      "Host: \r\nOrigin: http://\r\n",
   };
   for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
      char req[256];
      snprintf(req, sizeof(req), "GET /stream HTTP/1.1\r\n%s\r\n", foreign[i]);
      vs_http_parse_request(req, &r);
      CHECK_EQ(r.origin, VS_HTTP_ORIGIN_FOREIGN);
   }
   vs_http_parse_request("GET / HTTP/1.1\r\nOrigin: https://evil.example\r\n\r\n", &r);
   CHECK(strcmp(r.origin_text, "https://evil.example") == 0);
   /* An Origin too long for the log is still one (cut, printable). */
   char req[600];
   int n = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: a\r\nOrigin: http://\x01");
   memset(req + n, 'a', 300);
   strcpy(req + n + 300, "\r\n\r\n");
   vs_http_parse_request(req, &r);
   CHECK_EQ(r.origin, VS_HTTP_ORIGIN_FOREIGN);
   CHECK_EQ(strlen(r.origin_text), (size_t)VS_HTTP_ORIGIN_LOG_MAX);
   CHECK(strncmp(r.origin_text, "http://?aaa", 11) == 0);
}

TEST(viewer_token)
{
   const uint8_t random[VS_VIEWER_TOKEN_BYTES] = { 0x00, 0x01, 0xab, 0xff };
   char hex[2 * VS_VIEWER_TOKEN_BYTES + 1];
   vs_viewer_token_hex(random, hex);
   CHECK(strcmp(hex, "0001abff000000000000000000000000") == 0);
   CHECK(vs_viewer_token_valid(hex));
   CHECK(vs_viewer_token_valid("abcdefghijklmnopqrstuvwxyz-._~0123456789"));
   CHECK(!vs_viewer_token_valid("short"));
   CHECK(!vs_viewer_token_valid("0001abff00000000000000000000000/"));
   CHECK(!vs_viewer_token_valid("0001abff00000000000000000000000 "));
   CHECK(!vs_viewer_token_valid("0001abff00000000000000000000000&"));
   CHECK(vs_viewer_token_equal(hex, hex));
   CHECK(vs_viewer_token_equal("0001abff000000000000000000000000", hex));
   CHECK(!vs_viewer_token_equal("0001abff00000000000000000000000", hex));
   CHECK(!vs_viewer_token_equal("0001abff0000000000000000000000000", hex));
   CHECK(!vs_viewer_token_equal("1001abff000000000000000000000000", hex));
   CHECK(!vs_viewer_token_equal("", hex));
   CHECK(!vs_viewer_token_equal("", ""));
}

TEST(frames_split_and_unmasked)
{
   vs_log_threshold = VS_LOG_SILENT;
   const uint8_t ack[8] = { 1, 0, 0, 0, 7, 0, 0, 0 }, key[4] = { 2, 0, 0, 0 }, ping[2] = { 'h', 'i' };
   uint8_t buf[64];
   size_t len = client_frame(buf, 0x82, ack, sizeof(ack));
   len += client_frame(buf + len, 0x89, ping, sizeof(ping));
   size_t second = len;
   len += client_frame(buf + len, 0x82, key, sizeof(key));
   struct seen s = { 0 };
   size_t used;
   /* Cut inside the last frame: the two complete ones are handled. */
   CHECK(vs_ws_frames(buf, len - 1, 1, record, &s, &used));
   CHECK_EQ(used, second);
   CHECK_EQ(s.n, 1u);
   CHECK_EQ(s.lens[0], 8u);
   CHECK(memcmp(s.msgs[0], ack, 8) == 0);
   CHECK(vs_ws_frames(buf + used, len - used, 1, record, &s, &used));
   CHECK_EQ(used, len - second);
   CHECK_EQ(s.n, 2u);
   CHECK(memcmp(s.msgs[1], key, 4) == 0);
   /* Less than a frame header: nothing. */
   CHECK(vs_ws_frames(buf, 1, 1, record, &s, &used));
   CHECK_EQ(used, 0u);
}

TEST(frames_refused)
{
   vs_log_threshold = VS_LOG_SILENT;
   const uint8_t key[4] = { 2, 0, 0, 0 };
   uint8_t buf[300];
   struct seen s = { 0 };
   size_t used;
   /* Unmasked, fragmented (no FIN), extension bits, 16- and 64-bit lengths, text, close. */
   const uint8_t bad[][2] = { { 0x82, 0x04 }, { 0x02, 0x84 }, { 0xC2, 0x84 }, { 0x82, 0xFE }, { 0x82, 0xFF },
                              { 0x81, 0x84 }, { 0x88, 0x80 } };
   for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
      memset(buf, 0, sizeof(buf));
      buf[0] = bad[i][0];
      buf[1] = bad[i][1];
      CHECK(!vs_ws_frames(buf, sizeof(buf), 1, record, &s, &used));
   }
   CHECK_EQ(s.n, 0u);
   /* The message handler refuses: the viewer is closed. */
   size_t len = client_frame(buf, 0x82, key, sizeof(key));
   s.refuse = true;
   CHECK(!vs_ws_frames(buf, len, 1, record, &s, &used));
   CHECK_EQ(s.n, 1u);
}

TEST(messages_decoded)
{
   vs_log_threshold = VS_LOG_SILENT;
   struct vs_viewer_message m;
   const uint8_t ack[8] = { 1, 0, 0, 0, 0x78, 0x56, 0x34, 0x12 };
   CHECK(vs_viewer_decode(ack, 8, 1, &m));
   CHECK_EQ(m.type, VS_VIEWER_ACK);
   CHECK_EQ(m.seq, 0x12345678u);
   const uint8_t key[4] = { 2 };
   CHECK(vs_viewer_decode(key, 4, 1, &m));
   CHECK_EQ(m.type, VS_VIEWER_KEY);
   const uint8_t motion[12] = { 3, 0, 0, 0, 0x00, 0x01, 0, 0, 0xff, 0xff, 0xff, 0xff };
   CHECK(vs_viewer_decode(motion, 12, 1, &m));
   CHECK_EQ(m.input.x, 256);
   CHECK_EQ(m.input.y, -1);
   CHECK(vs_viewer_input_valid(&m.input, 1));
   const uint8_t axis[12] = { 5, 0, 0, 0, 1, 0, 0, 0, 0x00, 0xf6, 0xff, 0xff };
   CHECK(vs_viewer_decode(axis, 12, 1, &m));
   CHECK_EQ(m.input.code, 1u);
   CHECK_EQ(m.input.x, -2560);
   CHECK(vs_viewer_input_valid(&m.input, 1));
   /* Wrong sizes, unknown types, nothing. */
   CHECK(!vs_viewer_decode(ack, 4, 1, &m));
   CHECK(!vs_viewer_decode(key, 8, 1, &m));
   /* A window's size for the guest's mode: 1..16384 a side. */
   const uint8_t mode[12] = { 7, 0, 0, 0, 0x80, 0x07, 0, 0, 0x38, 0x04, 0, 0 };
   CHECK(vs_viewer_decode(mode, 12, 1, &m));
   CHECK_EQ(m.type, VS_VIEWER_MODE);
   CHECK_EQ(m.width, 1920u);
   CHECK_EQ(m.height, 1080u);
   const uint8_t no_width[12] = { 7, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 };
   const uint8_t too_tall[12] = { 7, 0, 0, 0, 1, 0, 0, 0, 0x01, 0x40, 0, 0 };
   CHECK(!vs_viewer_decode(no_width, 12, 1, &m));
   CHECK(!vs_viewer_decode(too_tall, 12, 1, &m));
   CHECK(!vs_viewer_decode(mode, 8, 1, &m));
   const uint8_t unknown[12] = { 8 }, zero[4] = { 0 };
   CHECK(!vs_viewer_decode(unknown, 12, 1, &m));
   CHECK(!vs_viewer_decode(zero, 4, 1, &m));
   CHECK(!vs_viewer_decode(zero, 0, 1, &m));
}

TEST(input_ranges)
{
   vs_log_threshold = VS_LOG_SILENT;
   struct vs_input_event e = { .type = VS_INPUT_BUTTON, .code = 0x110, .state = 1 };
   CHECK(vs_viewer_input_valid(&e, 1));
   e.code = 0x118;
   CHECK(!vs_viewer_input_valid(&e, 1));
   e = (struct vs_input_event){ .type = VS_INPUT_BUTTON, .code = 0x117, .state = 2 };
   CHECK(!vs_viewer_input_valid(&e, 1));
   e = (struct vs_input_event){ .type = VS_INPUT_KEY, .code = 247, .state = 0 };
   CHECK(vs_viewer_input_valid(&e, 1));
   e.code = 248;
   CHECK(!vs_viewer_input_valid(&e, 1));
   e.code = 0;
   CHECK(!vs_viewer_input_valid(&e, 1));
   e = (struct vs_input_event){ .type = VS_INPUT_AXIS, .code = 2 };
   CHECK(!vs_viewer_input_valid(&e, 1));
}

TEST(pointer_clamped)
{
   CHECK_EQ(vs_input_clamp_fixed(-5, 100), 0);
   CHECK_EQ(vs_input_clamp_fixed(100 * 256, 100), 100 * 256 - 1);
   CHECK_EQ(vs_input_clamp_fixed(50 * 256, 100), 50 * 256);
   CHECK_EQ(vs_input_clamp_fixed(300, 0), 255);
   /* A surface wider than wl_fixed reaches (a hostile wl_shm buffer of
    * 2^23 pixels): no overflow, the position stays. */
   CHECK_EQ(vs_input_clamp_fixed(INT32_MAX, 1u << 23), INT32_MAX);
   CHECK_EQ(vs_input_clamp_fixed(INT32_MAX, UINT32_MAX), INT32_MAX);
}

TEST(window_ack_wraps)
{
   struct vs_viewer_window w = { 0 };
   vs_viewer_window_push(&w, 0xfffffffeu);
   vs_viewer_window_push(&w, 0xffffffffu);
   vs_viewer_window_push(&w, 0);
   vs_viewer_window_push(&w, 1);
   CHECK_EQ(w.n, 4u);
   /* An old ack frees nothing; one past the wrap frees up to it. */
   vs_viewer_window_ack(&w, 0xfffffff0u);
   CHECK_EQ(w.n, 4u);
   vs_viewer_window_ack(&w, 0);
   CHECK_EQ(w.n, 1u);
   vs_viewer_window_push(&w, 2);
   vs_viewer_window_ack(&w, 5);
   CHECK_EQ(w.n, 0u);
}

UNIT_MAIN(UNIT(request_upgrade_accept), UNIT(request_routes), UNIT(request_token), UNIT(request_output), UNIT(request_origin),
          UNIT(viewer_token), UNIT(frames_split_and_unmasked), UNIT(frames_refused),
          UNIT(messages_decoded), UNIT(input_ranges), UNIT(pointer_clamped),
          UNIT(window_ack_wraps))
