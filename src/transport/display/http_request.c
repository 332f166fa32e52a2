/* SPDX-License-Identifier: MIT */
/* A viewer's HTTP request head (see viewer_wire.h): which page it asks
 * for, the token and the output its query names, whether its Origin is the server's
 * own and, for a WebSocket upgrade, the handshake's answer (SHA-1 of the
 * key and the RFC 6455 GUID, in base64). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "transport/display/viewer_wire.h"

static uint32_t
rol(uint32_t v, int n)
{
   return (v << n) | (v >> (32 - n));
}

static void
sha1(const uint8_t *data, size_t len, uint8_t out[20])
{
   uint32_t h[5] = { 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0 };
   size_t total = ((len + 8) / 64 + 1) * 64;
   uint8_t *m = calloc(1, total);
   if (!m) {
      memset(out, 0, 20);
      return;
   }
   memcpy(m, data, len);
   m[len] = 0x80;
   uint64_t bits = (uint64_t)len * 8;
   for (int i = 0; i < 8; i++)
      m[total - 1 - i] = (uint8_t)(bits >> (8 * i));
   for (size_t off = 0; off < total; off += 64) {
      uint32_t w[80];
      for (int i = 0; i < 16; i++)
         w[i] = (uint32_t)m[off + 4 * i] << 24 | (uint32_t)m[off + 4 * i + 1] << 16 | (uint32_t)m[off + 4 * i + 2] << 8 |
                m[off + 4 * i + 3];
      for (int i = 16; i < 80; i++)
         w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
      uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
      for (int i = 0; i < 80; i++) {
         uint32_t f, k;
         if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5A827999;
         } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ED9EBA1;
         } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8F1BBCDC;
         } else {
            f = b ^ c ^ d;
            k = 0xCA62C1D6;
         }
         uint32_t t = rol(a, 5) + f + e + k + w[i];
         e = d;
         d = c;
         c = rol(b, 30);
         b = a;
         a = t;
      }
      h[0] += a;
      h[1] += b;
      h[2] += c;
      h[3] += d;
      h[4] += e;
   }
   free(m);
   for (int i = 0; i < 5; i++)
      for (int j = 0; j < 4; j++)
         out[4 * i + j] = (uint8_t)(h[i] >> (24 - 8 * j));
}

static void
base64(const uint8_t *in, size_t len, char *out)
{
   static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
   size_t o = 0;
   for (size_t i = 0; i < len; i += 3) {
      uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < len ? in[i + 2] : 0);
      out[o++] = t[(v >> 18) & 63];
      out[o++] = t[(v >> 12) & 63];
      out[o++] = i + 1 < len ? t[(v >> 6) & 63] : '=';
      out[o++] = i + 2 < len ? t[v & 63] : '=';
   }
   out[o] = '\0';
}

/* The first header `name`'s value (leading blanks skipped) and its length
 * (*len), or NULL if the request has none. */
static const char *
header_find(const char *req, const char *name, size_t *len)
{
   size_t nl = strlen(name);
   for (const char *p = strstr(req, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
      const char *line = p + 2;
      if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
         const char *v = line + nl + 1;
         while (*v == ' ' || *v == '\t')
            v++;
         const char *end = strstr(v, "\r\n");
         *len = end ? (size_t)(end - v) : strlen(v);
         return v;
      }
   }
   return NULL;
}

/* The header's value in buf (NUL-terminated), or NULL if it is absent or
 * does not fit. */
static const char *
header_value(const char *req, const char *name, char *buf, size_t cap)
{
   size_t len;
   const char *v = header_find(req, name, &len);
   if (!v || len >= cap)
      return NULL;
   memcpy(buf, v, len);
   buf[len] = '\0';
   return buf;
}

/* A parameter's value into buf (cap bytes with the NUL): *given when the
 * query names it; buf stays "" when the value does not fit or holds a
 * byte out of `allowed`. */
static void
copy_param(const char *value, size_t len, const char *allowed, char *buf, size_t cap, bool *given)
{
   *given = true;
   if (len >= cap)
      return;
   for (size_t i = 0; i < len; i++)
      if (!strchr(allowed, value[i]))
         return;
   memcpy(buf, value, len);
   buf[len] = '\0';
}

/* token= and output= among the &-separated parameters of `query` (not
 * NUL-terminated: query_len bytes); the first of each counts. */
static void
parse_query(const char *query, size_t query_len, struct vs_http_request *out)
{
   static const char token_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
   const char *p = query, *end = query + query_len;
   while (p < end) {
      const char *amp = memchr(p, '&', (size_t)(end - p));
      const char *param_end = amp ? amp : end;
      size_t len = (size_t)(param_end - p);
      if (len >= 6 && memcmp(p, "token=", 6) == 0 && !out->token_given)
         copy_param(p + 6, len - 6, token_chars, out->token, sizeof(out->token), &out->token_given);
      else if (len >= 7 && memcmp(p, "output=", 7) == 0 && !out->output_given)
         copy_param(p + 7, len - 7, VS_OUTPUT_NAME_CHARS, out->output, sizeof(out->output), &out->output_given);
      p = param_end + 1;
   }
}

/* Origin against the request's own Host: same only for http:// or
 * https:// followed by exactly the Host (ports included). */
static void
parse_origin(const char *req, struct vs_http_request *out)
{
   size_t len, host_len = 0;
   const char *origin = header_find(req, "Origin", &len);
   if (!origin)
      return;
   size_t shown = len < VS_HTTP_ORIGIN_LOG_MAX ? len : VS_HTTP_ORIGIN_LOG_MAX;
   for (size_t i = 0; i < shown; i++)
      out->origin_text[i] = origin[i] >= 0x20 && origin[i] < 0x7f ? origin[i] : '?';
   out->origin_text[shown] = '\0';
   const char *host = header_find(req, "Host", &host_len);
   size_t scheme = len >= 7 && strncasecmp(origin, "http://", 7) == 0    ? 7
                   : len >= 8 && strncasecmp(origin, "https://", 8) == 0 ? 8
                                                                          : 0;
   bool same = host && host_len && scheme && len - scheme == host_len &&
               strncasecmp(origin + scheme, host, host_len) == 0;
   out->origin = same ? VS_HTTP_ORIGIN_SAME : VS_HTTP_ORIGIN_FOREIGN;
}

static enum vs_http_route
parse_route(const char *req, struct vs_http_request *out)
{
   char target[256] = "";
   if (sscanf(req, "GET %255s HTTP/1.", target) != 1)
      return VS_HTTP_NOT_GET;
   char *query = strchr(target, '?');
   if (query) {
      *query++ = '\0';
      parse_query(query, strlen(query), out);
   }
   if (strcmp(target, "/") == 0 || strcmp(target, "/index.html") == 0)
      return VS_HTTP_PAGE;
   if (strcmp(target, "/outputs") == 0)
      return VS_HTTP_OUTPUTS;
   if (strcmp(target, "/stream") != 0)
      return VS_HTTP_NOT_FOUND;
   char key[128], up[64];
   if (!header_value(req, "Sec-WebSocket-Key", key, sizeof(key)) || !header_value(req, "Upgrade", up, sizeof(up)) ||
       strcasecmp(up, "websocket") != 0)
      return VS_HTTP_BAD_UPGRADE;
   char cat[200];
   snprintf(cat, sizeof(cat), "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
   uint8_t digest[20];
   sha1((const uint8_t *)cat, strlen(cat), digest);
   base64(digest, 20, out->accept);
   return VS_HTTP_UPGRADE;
}

void
vs_http_parse_request(const char *req, struct vs_http_request *out)
{
   memset(out, 0, sizeof(*out));
   out->route = parse_route(req, out);
   parse_origin(req, out);
}
