/* SPDX-License-Identifier: MIT */
/* The viewers' credential (see viewer_wire.h): the token the page's URL
 * and its WebSocket URL carry. http.c makes one from the OS's random bytes
 * at start-up unless one is configured, and compares every request's
 * token with it here. */
#include <string.h>

#include "transport/display/viewer_wire.h"

static bool
url_safe(char c)
{
   return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
          c == '_' || c == '~';
}

bool
vs_viewer_token_valid(const char *token)
{
   size_t len = strlen(token);
   if (len < VS_VIEWER_TOKEN_MIN || len > VS_HTTP_TOKEN_MAX)
      return false;
   for (size_t i = 0; i < len; i++)
      if (!url_safe(token[i]))
         return false;
   return true;
}

void
vs_viewer_token_hex(const uint8_t random[VS_VIEWER_TOKEN_BYTES], char out[2 * VS_VIEWER_TOKEN_BYTES + 1])
{
   static const char digits[] = "0123456789abcdef";
   for (int i = 0; i < VS_VIEWER_TOKEN_BYTES; i++) {
      out[2 * i] = digits[random[i] >> 4];
      out[2 * i + 1] = digits[random[i] & 15];
   }
   out[2 * VS_VIEWER_TOKEN_BYTES] = '\0';
}

bool
vs_viewer_token_equal(const char *given, const char *expected)
{
   /* Every byte of a fixed span is looked at, whatever differs first: a
    * remote clock learns nothing of how much of a guess was right. */
   size_t given_len = strnlen(given, VS_HTTP_TOKEN_MAX + 1), expected_len = strlen(expected);
   volatile unsigned char diff = given_len != expected_len;
   for (size_t i = 0; i < VS_HTTP_TOKEN_MAX; i++) {
      unsigned char g = i < given_len ? (unsigned char)given[i] : 0;
      unsigned char e = i < expected_len ? (unsigned char)expected[i] : 0;
      diff |= g ^ e;
   }
   return expected_len > 0 && diff == 0;
}
