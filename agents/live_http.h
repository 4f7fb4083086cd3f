/*
 * live_http.h - HTTP/1.1 for live mode: servers and pooled clients on
 * libevent bufferevents, messages parsed by http-parser.
 *
 * Why not libevent's own evhttp: its server reads a whole request body
 * before it calls the handler, and a proxy must stream bodies through
 * without holding them whole; it also gives no hold on hop-by-hop headers
 * or on how upstream connections are reused. http-parser (Debian's
 * libhttp-parser-dev, the parser Node.js used for years) only parses, so the
 * framing, the keep-alive rules and the connection pool are ours and small.
 *
 * Everything runs on one event_base and one thread. Header names keep the
 * case they arrived in and compare without case (RFC 9110 5.1).
 *
 * Lifetimes: an exchange (lh_sx on a server, lh_cx on a client) is owned by
 * the library. The caller may keep a pointer to it until the library calls
 * its last callback for it (on_abort for lh_sx, on_end or on_error for
 * lh_cx), or until the caller ends it (lh_sx_respond_end, lh_sx_abort,
 * lh_cx_cancel). After that the pointer is dead; no callback names it again.
 *
 * Servers and pools speak plaintext HTTP/1.1 unless given a TLS context:
 * then mutual TLS 1.3, as Istio's sidecars speak to each other (see
 * "TLS" at the end).
 */
#ifndef LIVE_HTTP_H
#define LIVE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

struct event_base;
struct evbuffer;

/* Backpressure marks on an exchange's unsent bytes (lh_sx_backlog,
 * lh_cx_backlog): a producer that sees more than LH_HIGH_MARK pauses its
 * source, and on_drain comes once the backlog is down to LH_LOW_MARK. */
enum { LH_HIGH_MARK = 256 * 1024, LH_LOW_MARK = 64 * 1024 };

/* ---- message heads ---- */

/* In heads the caller builds (lh_head_add, lh_head_copy), name and value
 * are one allocation, owned by the head: change headers through lh_head_add,
 * lh_head_set and lh_head_del rather than by assigning the pointers. */
typedef struct lh_header {
	char *name;
	char *value;
} lh_header;

typedef struct lh_head {
	/* request */
	char method[16];       /* "GET", ... */
	char *target;          /* request-target as sent: path and query */
	/* response */
	int status;
	/* both */
	unsigned major, minor; /* HTTP version: 1.1 or 1.0 */
	lh_header *h;
	uint32_t nh, cap;
	/* Body framing as parsed (incoming) or as wanted (outgoing):
	 * content_length >= 0: that many bytes; -1: unknown (chunked on
	 * HTTP/1.1, until close for a response to HTTP/1.0). A request
	 * without Content-Length or Transfer-Encoding has 0. */
	int64_t content_length;
	int keep_alive;        /* incoming: the peer allows reuse */
} lh_head;

/* An empty head: HTTP/1.1, no headers, content_length 0. lh_head_clear
 * frees what it holds and empties it again. Never clear a head the library
 * lent to a callback. */
void lh_head_init(lh_head *h);
void lh_head_clear(lh_head *h);
/* Copy src into dst (dst is cleared first). Returns 0, -1 on no memory. */
int lh_head_copy(lh_head *dst, const lh_head *src);
int lh_head_set_target(lh_head *h, const char *target);
/* The value of the first header named `name`, or NULL. */
const char *lh_head_get(const lh_head *h, const char *name);
/* Append a header (copies both strings). Returns 0, -1 on no memory. */
int lh_head_add(lh_head *h, const char *name, const char *value);
/* Remove every header named `name`. Returns how many were removed. */
uint32_t lh_head_del(lh_head *h, const char *name);
/* Replace every header named `name` by one with `value`. Returns 0, -1 on
 * no memory (the old ones are gone then). */
int lh_head_set(lh_head *h, const char *name, const char *value);
/* Remove the hop-by-hop headers a proxy must not forward (RFC 9110 7.6.1):
 * Connection and every header it names, Keep-Alive, Proxy-Connection,
 * TE, Transfer-Encoding, Upgrade. Content-Length stays (the framing is
 * redone from content_length when the head is sent). */
void lh_head_strip_hop_by_hop(lh_head *h);

/* ---- servers ---- */

typedef struct lh_server lh_server;
typedef struct lh_sx lh_sx;   /* one request on a server connection */

typedef struct lh_server_cbs {
	/* A request head arrived. The handler answers now or later, through
	 * lh_sx_respond_*; the head is borrowed for the call. */
	void (*on_request)(void *arg, lh_sx *x, const lh_head *head);
	/* Request body bytes, as they arrive: the callee takes what it wants
	 * from `chunk` (what it leaves is dropped). May be NULL. */
	void (*on_body)(void *arg, lh_sx *x, struct evbuffer *chunk);
	/* The request body is complete. May be NULL. Not called once the
	 * response has ended (the rest of the body is read and dropped). */
	void (*on_body_end)(void *arg, lh_sx *x);
	/* The exchange died before its response was ended: the client
	 * closed or reset the connection, or a protocol error. x is dead on
	 * return. Not called for exchanges the caller ended or aborted. */
	void (*on_abort)(void *arg, lh_sx *x);
	/* The response's unsent bytes fell below the low mark (64 KB) after
	 * having been above the high mark (256 KB); see lh_sx_backlog. May be
	 * NULL. */
	void (*on_drain)(void *arg, lh_sx *x);
} lh_server_cbs;

/* Listen on addr:port (a numeric IPv4 or IPv6 address; port 0 picks a free
 * one, see lh_server_port), with SO_REUSEADDR. Connections are kept alive
 * as HTTP/1.1 says; pipelined requests are answered in order (one at a
 * time: the next request is read once the response before it has ended;
 * client bytes wait in the socket meanwhile). Returns NULL
 * and fills err on failure (for example, the address is in use). */
lh_server *lh_server_new(struct event_base *base, const char *addr,
			 uint16_t port, const lh_server_cbs *cbs, void *arg,
			 char *err, size_t errlen);
uint16_t lh_server_port(const lh_server *s);
/* Stop listening and close every connection; exchanges still open get no
 * further callbacks. */
void lh_server_free(lh_server *s);
/* Connections open now (for tests and metrics). */
uint32_t lh_server_connections(const lh_server *s);
/* Connections accepted since lh_server_new. */
uint64_t lh_server_accepted(const lh_server *s);

void lh_sx_set_data(lh_sx *x, void *data);
void *lh_sx_data(const lh_sx *x);
/* The peer's address as text ("127.0.0.1"), for logs. */
const char *lh_sx_peer(const lh_sx *x);

/* Send the response head. Framing comes from resp->content_length:
 * Content-Length when >= 0, else chunked (or close-delimited to an
 * HTTP/1.0 client); any framing headers in resp are replaced. Connection
 * is the library's too: a `close` token in resp's Connection header closes
 * the connection after this response, and the header sent says what the
 * library does. Responses to HEAD and 204/304 carry no body (body bytes
 * are dropped). Status 0 means 200; interim (1xx) statuses are refused:
 * the library answers `Expect: 100-continue` itself. A Date or Server
 * header is not added. Returns 0, or -1 when x cannot answer. */
int lh_sx_respond_head(lh_sx *x, const lh_head *resp);
/* Send body bytes; all of `data` is moved out. */
int lh_sx_respond_body(lh_sx *x, struct evbuffer *data);
/* Send `n` bytes of filler body (for fake services), without building
 * them in memory first where possible. */
int lh_sx_respond_fill(lh_sx *x, uint64_t n);
/* The response is complete. x is dead on return (the library finishes
 * writing it, then reads the next request or closes as keep-alive says). */
void lh_sx_respond_end(lh_sx *x);
/* Shorthand: a whole response with a small text body. x is dead on
 * return. `extra` may be NULL. */
void lh_sx_respond_simple(lh_sx *x, int status, const char *content_type,
			  const char *body, size_t len, const lh_head *extra);
/* Reset the connection (RST: SO_LINGER 0). x is dead on return. */
void lh_sx_abort(lh_sx *x);
/* Bytes of the response not yet written to the socket. */
size_t lh_sx_backlog(const lh_sx *x);
/* Stop (0) or restart (1) reading the request body from the client,
 * for flow control. Bytes already parsed in the same pass (a few small
 * chunks of a chunked body at most) may still reach on_body after a stop. */
void lh_sx_read_enable(lh_sx *x, int on);

/* ---- clients ---- */

typedef struct lh_pool lh_pool;
typedef struct lh_cx lh_cx;   /* one request to an upstream */

enum lh_err {
	LH_ERR_CONNECT = 1, /* refused, unreachable or the connect timed
			     * out: the request never reached the server */
	LH_ERR_RESET,       /* the connection closed or reset after the
			     * request was sent, before the response ended */
	LH_ERR_PROTOCOL,    /* the server's answer was not HTTP (or the
			     * request's method or target cannot be sent:
			     * a space, CR or LF in it) */
	/* The TLS handshake failed (pools with a TLS context only), by
	 * class: what our check of the server's certificate found, or what
	 * the server's alert said of ours. In every case the request never
	 * reached the server's handler: Envoy counts these as connection
	 * failures (UF), and retry_on connect-failure retries them; see
	 * lh_err_is_connect. */
	LH_ERR_TLS_EXPIRED,    /* a certificate has expired or is not yet
				* valid (ours, if the server said so) */
	LH_ERR_TLS_UNKNOWN_CA, /* the chain does not lead to a trusted root */
	LH_ERR_TLS_IDENTITY,   /* a trusted chain with the wrong SPIFFE ID,
				* or none */
	LH_ERR_TLS_NO_CERT,    /* the server wanted our certificate and we
				* had none (Envoy: ssl.fail_verify_no_cert) */
	LH_ERR_TLS_OTHER,      /* anything else: not TLS, TLS 1.2 only, a bad
				* signature, the server hung up mid-handshake */
};

/* The classes of a failed handshake, in lh_tls_stats.failed[]: index
 * err - LH_ERR_TLS_EXPIRED. */
enum { LH_TLS_NCLASS = LH_ERR_TLS_OTHER - LH_ERR_TLS_EXPIRED + 1 };

/* Short names: "connect-failure", "reset" (Envoy's retry_on words),
 * "protocol-error", and "tls-expired", "tls-unknown-ca",
 * "tls-identity-mismatch", "tls-no-cert", "tls-other". */
const char *lh_err_name(int e);
/* 1 when the request of an exchange that failed with e never reached the
 * server: LH_ERR_CONNECT and the LH_ERR_TLS_* classes (Envoy's UF, the
 * "connect-failure" of retry_on); else 0. */
int lh_err_is_connect(int e);

typedef struct lh_client_cbs {
	/* The response head arrived (borrowed for the call). */
	void (*on_response)(void *arg, lh_cx *x, const lh_head *head);
	/* Response body bytes; as for lh_server_cbs.on_body. May be NULL. */
	void (*on_body)(void *arg, lh_cx *x, struct evbuffer *chunk);
	/* The response is complete; x is dead on return. */
	void (*on_end)(void *arg, lh_cx *x);
	/* The exchange failed (enum lh_err); x is dead on return. Called at
	 * most once, and never after on_end. An error after on_response
	 * means the body was cut short. */
	void (*on_error)(void *arg, lh_cx *x, int err);
	/* The request's unsent bytes fell below the low mark after being
	 * above the high mark (as on_drain of a server). May be NULL. */
	void (*on_drain)(void *arg, lh_cx *x);
} lh_client_cbs;

/* Connections to one upstream addr:port, kept alive and reused (last used
 * first). At most max_conns at once (0: no limit); requests beyond wait in
 * FIFO order for a connection. A connect that takes longer than
 * connect_timeout_ms fails with LH_ERR_CONNECT (0: the OS decides). */
lh_pool *lh_pool_new(struct event_base *base, const char *addr, uint16_t port,
		     uint32_t max_conns, uint32_t connect_timeout_ms);
/* Close every connection; open exchanges get no further callbacks. */
void lh_pool_free(lh_pool *p);
/* Limit the bytes per second read and written over all of the pool's
 * connections together (a token bucket, libevent's rate-limit groups);
 * 0 removes the limit. Returns 0, -1 on failure. */
int lh_pool_set_rate(lh_pool *p, uint64_t bytes_per_second);
/* The same with a limit per direction: bytes read (the answers) and bytes
 * written (the requests) per second; 0 leaves that direction free, and
 * both 0 removes the limit. */
int lh_pool_set_rates(lh_pool *p, uint64_t read_bps, uint64_t write_bps);
/* Connections open now, busy or idle. */
uint32_t lh_pool_connections(const lh_pool *p);
/* Connections opened since lh_pool_new. */
uint64_t lh_pool_opened(const lh_pool *p);

/* Start a request. The head is copied; its framing comes from
 * req->content_length as for responses (chunked when -1). An empty method
 * means GET and a NULL target "/"; a Host header (the pool's addr:port) is
 * added when req has none; Connection is sent as req has it. If a reused
 * idle connection turns out closed by the server before any byte of the
 * answer came back, a request with an idempotent method (GET, HEAD,
 * OPTIONS, PUT, DELETE, TRACE: RFC 9112 9.3.1.1) is sent again once on a
 * new connection, as browsers and Envoy do; others get LH_ERR_RESET. For
 * the resend up to
 * 64 KB of request body is kept until the first answer byte (a longer body
 * gets LH_ERR_RESET instead). Returns NULL only on no memory. */
lh_cx *lh_request(lh_pool *p, const lh_head *req, const lh_client_cbs *cbs,
		  void *arg);
void lh_cx_set_data(lh_cx *x, void *data);
void *lh_cx_data(const lh_cx *x);
/* Send request body bytes (all of `data` is moved out), then end it.
 * A request with content_length 0 needs no body_end; one with
 * content_length > 0 ends by itself once that many bytes were given
 * (bytes past it are dropped). Ending a Content-Length body short resets
 * the connection and on_error(LH_ERR_RESET) follows. */
int lh_cx_body(lh_cx *x, struct evbuffer *data);
int lh_cx_body_fill(lh_cx *x, uint64_t n);
void lh_cx_body_end(lh_cx *x);
/* Give up on the request: its connection is reset and not reused. No
 * callback follows. x is dead on return. */
void lh_cx_cancel(lh_cx *x);
size_t lh_cx_backlog(const lh_cx *x);
/* Stop (0) or restart (1) reading the response body, for flow control. */
void lh_cx_read_enable(lh_cx *x, int on);

/* ---- TLS ----
 *
 * Mutual TLS 1.3, as between Istio's sidecars (ISTIO_MUTUAL): each side
 * presents a certificate, verifies the other's chain against its trust
 * store and reads the peer's SPIFFE ID from the one URI SAN of its
 * certificate (agents/tls_ca.h issues such certificates). A client also
 * requires the ID it expects of the upstream, as Istio sets Envoy's
 * match_subject_alt_names on every cluster; a server hands the client's ID
 * to the handler (lh_sx_peer_id), for authorization.
 *
 * Contexts: an SSL_CTX holds the certificate, key, chain and trust store;
 * lh_tls_ctx_new builds one from tls_ca's objects. Whatever the context
 * says, every connection is made TLS 1.3 only, verifies its peer
 * (SSL_VERIFY_PEER, and SSL_VERIFY_FAIL_IF_NO_PEER_CERT on servers) and
 * checks the SPIFFE ID as above. Servers and pools keep a reference to
 * their current context, and each connection one to the context it began
 * with (SSL_new's), so replacing a context (lh_server_set_tls,
 * lh_pool_set_tls again) changes new connections only: that is how a
 * certificate is rotated without dropping what is in flight, as Envoy
 * does when SDS pushes a new secret.
 *
 * Resumption: servers issue TLS 1.3 stateless session tickets (OpenSSL's
 * default, two per full handshake); ticket keys belong to a context, so
 * after a rotation old tickets fall back to full handshakes, which then
 * show the new certificate. A pool keeps the last few tickets its
 * upstream sent and uses each once (RFC 8446 C.4; BoringSSL's client
 * cache under Envoy does the same), so a new connection to an upstream
 * seen before skips the certificates and their signatures. A resumed
 * connection keeps the identity of the certificate the session was
 * established with.
 *
 * Cost (`make bench`, bench_http handshakes: client and server in one
 * process, OpenSSL 3.0, P-256, the 2-core development machine): a request
 * on a kept mTLS connection 1.4x the CPU of a plaintext one (45 to 60 us
 * against 32 to 44 us); on a new connection with a resumed session
 * 1.7 ms, with a full handshake 3.8 ms, most of it OpenSSL 3.0 decoding
 * public keys (the peer's certificate; for a resumption, the client's
 * certificate inside the ticket, which stateful tickets, SSL_OP_NO_TICKET
 * on the server's context, would spare: 1.15 ms). So keep connections:
 * the pools do. Bodies: about 530 MB/s through one mTLS hop.
 *
 * Closing: a server that closes after a response sends close_notify
 * first, and so does a pool closing a connection in good order; a peer
 * that only closes TCP is taken as a close, not an error
 * (SSL_OP_IGNORE_UNEXPECTED_EOF): HTTP/1.1 framing tells a cut body (RFC
 * 9112 9.8 allows this "incomplete close"). As in plaintext, the process
 * must ignore SIGPIPE.
 *
 * Not done: a server gives a client no deadline to send its first byte or
 * to finish its handshake (nor, in plaintext, its request); no SNI or
 * ALPN is sent or required.
 *
 * OpenSSL's errors: the library empties the thread's error queue in its
 * event callbacks, and the calls below leave it empty. */

enum lh_tls_mode {
	LH_TLS_OFF = 0,    /* plaintext only (the default) */
	/* Istio's PeerAuthentication STRICT: mutual TLS only, the client's
	 * certificate required; a plaintext client is closed at its first
	 * byte, as Envoy closes a connection no filter chain matches. */
	LH_TLS_STRICT,
	/* PERMISSIVE: each connection is looked at before anything is read
	 * (Envoy's tls_inspector): a first byte 0x16 (a TLS handshake
	 * record, the ClientHello) means mutual TLS, as strict as STRICT
	 * (a TLS client without a certificate is refused, as Istio's mTLS
	 * filter chain requires one); anything else is plaintext HTTP, whose
	 * exchanges carry no identity. */
	LH_TLS_PERMISSIVE,
};

/* Counters of one server's or pool's handshakes since it was made. A
 * pool counts a handshake complete once the server has sent something
 * after it (a ticket, an answer): in TLS 1.3 a server checks the client's
 * certificate after the client has finished, so a client refused then
 * counts as failed, not complete. */
typedef struct lh_tls_stats {
	uint64_t full;     /* completed with certificates exchanged */
	uint64_t resumed;  /* completed by resuming a session */
	/* Failed, by class (index err - LH_ERR_TLS_EXPIRED): what our check
	 * of the peer found, else what the peer's alert named, else other
	 * (a peer that hung up mid-handshake, a client that is not TLS). */
	uint64_t failed[LH_TLS_NCLASS];
	uint64_t failed_by_peer; /* of those, the ones the peer refused (it
				  * sent the alert: our certificate failed
				  * its check) */
	/* Servers: plaintext connections served (PERMISSIVE) and closed at
	 * their first byte (STRICT). */
	uint64_t plaintext, plaintext_refused;
} lh_tls_stats;

/* A context for one side of mutual TLS 1.3: leaf and key (both or
 * neither; a server needs them; a client without them tests what a server
 * does with no client certificate), chain (the certificates between leaf
 * and root, may be NULL: tls_ca_cert_chain), trust (the roots a peer's
 * chain must lead to: tls_ca_store_new; required). All arguments are
 * borrowed: the context takes its own references. server: 1 for a
 * server's context, 0 for a client's (which gets the pool's session
 * callback). Returns a new context (SSL_CTX_free), or NULL with err
 * filled (the key does not match the certificate, for one). */
SSL_CTX *lh_tls_ctx_new(X509 *leaf, EVP_PKEY *key, STACK_OF(X509) *chain,
			X509_STORE *trust, int server, char *err,
			size_t errlen);

/* Set how s speaks to connections accepted from now on: mode (enum
 * lh_tls_mode), with ctx for STRICT and PERMISSIVE (borrowed: the server
 * takes a reference; NULL for OFF). Call it again with a new context to
 * rotate the certificate: connections open (and handshakes under way)
 * keep theirs. Returns 0, or -1 (nothing changed) for a bad mode or a
 * missing context. */
int lh_server_set_tls(lh_server *s, SSL_CTX *ctx, int mode);
/* Copy s's handshake counters into *out. */
void lh_server_tls_stats(const lh_server *s, lh_tls_stats *out);

/* Make p's new connections mutual TLS with ctx (borrowed: the pool takes a
 * reference; NULL: plaintext), requiring the server's certificate to carry
 * the SPIFFE ID expect_id (copied; NULL: any SPIFFE ID). The pool sets
 * the client session cache mode and new-session callback on ctx (a
 * context may be shared by pools, not with code that sets its own).
 * Every call drops the sessions the pool kept. A change of TLS on or off,
 * or of expected ID, also closes the idle connections and retires busy
 * ones when their exchange ends; a new context alone (a rotation) leaves
 * them in use. For TLS, connect_timeout_ms covers the handshake too.
 * Returns 0, or -1 on no memory (nothing changed). */
int lh_pool_set_tls(lh_pool *p, SSL_CTX *ctx, const char *expect_id);
/* Copy p's handshake counters into *out (failed[]: the classes its
 * exchanges' on_error reported, one per connection). */
void lh_pool_tls_stats(const lh_pool *p, lh_tls_stats *out);

/* The client's SPIFFE ID, from the certificate it presented (or its
 * resumed session carried), or NULL for a plaintext connection. Valid as
 * long as x. lh_sx_peer_cert: that certificate (borrowed), or NULL. */
const char *lh_sx_peer_id(const lh_sx *x);
X509 *lh_sx_peer_cert(const lh_sx *x);
/* The same of the server, for an exchange on a connection: from
 * on_response until its last on_body (not in on_end or on_error, when the
 * exchange has left its connection); NULL otherwise or for plaintext. */
const char *lh_cx_peer_id(const lh_cx *x);
X509 *lh_cx_peer_cert(const lh_cx *x);

/* ---- one handshake in memory (the simulator) ----
 *
 * The simulator runs each new connection's handshake through OpenSSL for
 * real, with the same setup and verify callback as the servers and pools
 * above (TLS 1.3 only, peer required, SPIFFE ID checks), over a pair of
 * memory BIOs instead of a socket, and with certificates checked as at a
 * given time (X509_VERIFY_PARAM_set_time) instead of the clock.
 *
 *   client, server   the two sides' contexts (lh_tls_ctx_new; borrowed)
 *   expect_id        the SPIFFE ID the client requires of the server (NULL:
 *                    any), as lh_pool_set_tls's
 *   peer_domain      the trust domain the server requires of the client's
 *                    SPIFFE ID (NULL: any), as lh_server_set_peer_domain's
 *   at_s             seconds since the Unix epoch the chains are checked at
 *   resume           a session the client resumes (NULL: none; borrowed)
 *
 * Fills *res. On success (res->err 0) res->ticket is a new session the
 * client may resume next time (the caller owns it: SSL_SESSION_free; NULL
 * if the server sent none; the newest of the tickets a full handshake
 * brings) and res->client_id the client's SPIFFE ID as the server saw it.
 * Returns 0 when the handshake ran (whatever its outcome), -1 on no
 * memory. Leaves OpenSSL's error queue empty.
 *
 * A failure's class is what the refusing side's own check found (its
 * verify callback's verdict, or no client certificate), which is more
 * than a socket's client learns from the alert (an identity mismatch
 * arrives as a bare handshake_failure, LH_ERR_TLS_OTHER, in a pool's
 * counters). When both certificates are bad, the client refuses first
 * (it checks the server's before sending its own): by_server 0.
 *
 * Resumption, as over sockets: a resumed session is held to expect_id
 * and peer_domain again, and keeps the identity of the certificate it was
 * established with; no certificate is checked, so its validity at at_s
 * is not either. OpenSSL uses a session once (RFC 8446 C.4): once
 * resumed, `resume` is no longer resumable (pass the new res->ticket
 * next time). The ticket's age is counted by OpenSSL on the wall clock,
 * not at_s: the caller ends sessions in its own time
 * (MODEL_SESSION_LIFETIME). Tickets are sealed with keys of the server's
 * context, so a ticket from an earlier server context (before a renewal)
 * falls back to a full handshake by itself; but a ticket carries the
 * client's certificate of its day, so the caller must drop a client's
 * tickets when it changes the client's context (as lh_pool_set_tls
 * does), or a renewed or faulty client would go on presenting its old
 * identity. */
typedef struct lh_tls_mem_result {
	int err;          /* 0, or the class (LH_ERR_TLS_*) of the failure */
	int by_server;    /* 1: the server refused the client (its check of
			   * the client's certificate failed); 0: the client
			   * refused the server, or no failure */
	int resumed;      /* 1: the client's session was resumed */
	SSL_SESSION *ticket;
	char client_id[2049];
} lh_tls_mem_result;

int lh_tls_handshake_mem(SSL_CTX *client, SSL_CTX *server,
			 const char *expect_id, const char *peer_domain,
			 int64_t at_s, SSL_SESSION *resume,
			 lh_tls_mem_result *res);

/* Make s's TLS connections accepted from now on require a client SPIFFE
 * ID in trust domain td (copied; NULL: any domain), as Istio's inbound
 * matches the client's SAN against the prefix spiffe://<td>/: another
 * domain fails as LH_ERR_TLS_IDENTITY in s's counters (the client sees a
 * handshake_failure alert: LH_ERR_TLS_OTHER). Resumed sessions are
 * checked too. Returns 0, -1 on no memory (nothing changed). */
int lh_server_set_peer_domain(lh_server *s, const char *td);

#endif
