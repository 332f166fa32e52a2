/* SPDX-License-Identifier: MIT */
#include "transport/display/tls.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <stdlib.h>

#include "base/log.h"

struct vs_tls {
   gnutls_certificate_credentials_t cred;
   gnutls_priority_t priority;
};

struct vs_tls_session {
   gnutls_session_t session;
   bool handshaken;
   bool failed;
};

struct vs_tls *
vs_tls_create(const char *cert_file, const char *key_file)
{
   struct vs_tls *tls = calloc(1, sizeof(*tls));
   if (!tls) {
      vs_error(0, "display: out of memory for TLS");
      return NULL;
   }
   int r = gnutls_certificate_allocate_credentials(&tls->cred);
   if (r == GNUTLS_E_SUCCESS) {
      r = gnutls_certificate_set_x509_key_file(tls->cred, cert_file, key_file, GNUTLS_X509_FMT_PEM);
      if (r != GNUTLS_E_SUCCESS)
         vs_error(0, "display: TLS certificate %s with key %s: %s", cert_file, key_file, gnutls_strerror(r));
   }
   /* The library's defaults (its own and the system's policy): TLS 1.2
    * and 1.3 with forward secrecy. */
   if (r == GNUTLS_E_SUCCESS && (r = gnutls_priority_init2(&tls->priority, "%SERVER_PRECEDENCE", NULL,
                                                           GNUTLS_PRIORITY_INIT_DEF_APPEND)) != GNUTLS_E_SUCCESS)
      vs_error(0, "display: TLS priorities: %s", gnutls_strerror(r));
   if (r != GNUTLS_E_SUCCESS) {
      vs_tls_destroy(tls);
      return NULL;
   }
   return tls;
}

void
vs_tls_destroy(struct vs_tls *tls)
{
   if (!tls)
      return;
   if (tls->priority)
      gnutls_priority_deinit(tls->priority);
   if (tls->cred)
      gnutls_certificate_free_credentials(tls->cred);
   free(tls);
}

struct vs_tls_session *
vs_tls_session_create(struct vs_tls *tls, int fd)
{
   struct vs_tls_session *s = calloc(1, sizeof(*s));
   if (!s)
      return NULL;
   if (gnutls_init(&s->session, GNUTLS_SERVER | GNUTLS_NONBLOCK) != GNUTLS_E_SUCCESS) {
      free(s);
      return NULL;
   }
   if (gnutls_priority_set(s->session, tls->priority) != GNUTLS_E_SUCCESS ||
       gnutls_credentials_set(s->session, GNUTLS_CRD_CERTIFICATE, tls->cred) != GNUTLS_E_SUCCESS) {
      vs_tls_session_destroy(s);
      return NULL;
   }
   gnutls_certificate_server_set_request(s->session, GNUTLS_CERT_IGNORE);
   gnutls_transport_set_int(s->session, fd);
   gnutls_handshake_set_timeout(s->session, 0);
   return s;
}

void
vs_tls_session_destroy(struct vs_tls_session *s)
{
   if (!s)
      return;
   gnutls_deinit(s->session);
   free(s);
}

/* A GnuTLS result as the socket's: -1 with errno. */
static ssize_t
result(struct vs_tls_session *s, ssize_t r)
{
   if (r >= 0)
      return r;
   if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
      errno = EAGAIN;
      return -1;
   }
   if (!s->failed)
      vs_debug(0, "display: a viewer's TLS %s failed: %s", s->handshaken ? "record" : "handshake",
               gnutls_strerror((int)r));
   s->failed = true;
   errno = EPROTO;
   return -1;
}

/* 1 once the handshake is done, else the socket-style result. */
static ssize_t
handshake(struct vs_tls_session *s)
{
   if (s->handshaken)
      return 1;
   int r = gnutls_handshake(s->session);
   if (r == GNUTLS_E_SUCCESS) {
      s->handshaken = true;
      return 1;
   }
   if (r < 0 && !gnutls_error_is_fatal(r) && r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED)
      r = GNUTLS_E_AGAIN; /* a warning alert: go on at the next wake-up */
   return result(s, r);
}

ssize_t
vs_tls_recv(struct vs_tls_session *s, void *buf, size_t len)
{
   ssize_t r = handshake(s);
   if (r <= 0)
      return r;
   r = gnutls_record_recv(s->session, buf, len);
   /* A peer that closes without its close_notify has ended all the same. */
   if (r == GNUTLS_E_PREMATURE_TERMINATION)
      return 0;
   return result(s, r);
}

ssize_t
vs_tls_send(struct vs_tls_session *s, const void *buf, size_t len)
{
   ssize_t r = handshake(s);
   if (r <= 0)
      return r;
   return result(s, gnutls_record_send(s->session, buf, len));
}

bool
vs_tls_handshake_wants_write(const struct vs_tls_session *s)
{
   return !s->handshaken && !s->failed && gnutls_record_get_direction(s->session) == 1;
}
