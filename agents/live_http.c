/*
 * live_http.c - HTTP/1.1 servers and pooled clients for live mode (the
 * contract is in live_http.h).
 *
 * How a message is read. http-parser runs in place over the first
 * contiguous extent of a bufferevent's input. Its callbacks only record:
 * head bytes go to a per-connection scratch buffer (no malloc per header),
 * body bytes are noted as (offset, length) ranges of the extent, and the
 * parser pauses at the end of a head and at the end of a message. Once it
 * returns, the recorded ranges are moved out of the input into a chunk
 * buffer (evbuffer_remove_buffer: whole chains change hands, at most the
 * first one is copied) that on_body receives, and the parsed bytes are
 * drained. No user callback runs inside http_parser_execute, so a callback
 * may free its exchange, its connection or the whole server safely.
 *
 * Pipelining: a server connection serves one exchange at a time. When a
 * request has been read whole but its response has not ended, parsing
 * stops; what the client sent next waits in the input buffer (reading
 * stays on up to LH_READ_AHEAD, so a close or reset is still seen) and is
 * parsed once the response ends. Responses therefore leave in request
 * order with no queue, and the exchange struct is part of the connection
 * (no malloc per request). A response that ends before its request body
 * has arrived makes the rest of the body be read and dropped, as nginx
 * does, before the next request is read.
 *
 * Throughput: libevent 2.1 reads 4 KB per readiness event; lh_read_more
 * tops the input up with one larger readv, which made a relayed body 7x
 * faster (see there).
 *
 * Re-entrancy: every libevent callback brackets its work with a busy count
 * on the connection and on its server or pool. Closing a busy connection
 * (or freeing a busy server or pool) only marks it; the outermost callback
 * frees it on the way out. And no API function calls a callback of its
 * own caller before returning: work that would (parsing the next
 * pipelined request, an error found while starting a request) is handed
 * to the event loop.
 *
 * TLS: a TLS connection is the same code over a bufferevent_openssl
 * instead of a socket bufferevent (libevent_openssl, with the socket as
 * OpenSSL's BIO). What differs is gathered in the "TLS" section: each
 * connection's state (lh_tlsc, reached from its SSL through an ex_data
 * slot of ours), the verify callback that classifies what is wrong with a
 * peer's certificate and checks its SPIFFE ID, the first-byte sniffing of
 * PERMISSIVE servers, and the pool's session tickets. lh_read_more, which
 * reads the socket behind libevent's back, is for plaintext only: OpenSSL
 * must see every byte (libevent's OpenSSL reader takes up to two records,
 * 32 KB, per readiness event, against 4 KB for a socket's). The
 * simulator's handshakes (lh_tls_handshake_mem, at the end) go through the
 * same setup, verify callback and session callback, over a pair of memory
 * BIOs instead of a socket.
 */
#include "live_http.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include <http_parser.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "tls_ca.h"

#define LH_HIGH ((size_t)LH_HIGH_MARK)
#define LH_LOW ((size_t)LH_LOW_MARK)
/* Bytes of a head we keep (request-target, header names and values). A
 * longer head is answered 431, as nginx answers one that overflows its
 * large_client_header_buffers. */
#define LH_MAX_HEAD (64u * 1024)
/* Input read ahead of a parser that waits (a pipelined request behind a
 * response in progress, or a caller that paused reading). */
#define LH_READ_AHEAD (256u * 1024)
/* Body ranges one parser pass may record before it pauses. */
#define LH_NRANGES 32
/* Body bytes kept so that a request can be sent again when its reused
 * connection turns out closed; a longer body makes the request ineligible,
 * as Envoy stops buffering for retries past its per-request limit. */
#define LH_RESEND_MAX (64u * 1024)
/* How long a server connection that is closing waits for the client's
 * FIN after its own (RFC 9112 9.6: closing at once, with request bytes
 * still unread, would turn into a reset that can destroy the response). */
#define LH_LINGER_MS 2000
/* Finished client exchanges kept for reuse, per pool. */
#define LH_FREE_MAX 256
/* Bytes one read or write syscall may move. libevent's default is 16 KB;
 * a proxy moving large bodies then spends most of its time in syscalls and
 * callbacks. The backpressure marks stay well above it. */
#define LH_IO_MAX (128 * 1024)
/* TLS session tickets a pool keeps, newest used first. A full handshake
 * brings two (OpenSSL's default SSL_CTX_set_num_tickets), so two
 * connections opened at once after it can both resume. */
#define LH_SESS_MAX 4
/* The session ID context of our servers: OpenSSL refuses to resume a
 * session on a server that verifies clients unless one is set. */
#define LH_SID_CTX "meshsim-live-http"
/* The first byte of a TLS connection: a handshake record (RFC 8446 5.1). */
#define LH_TLS_HANDSHAKE 0x16
/* Filler bodies reference one read-only block instead of building bytes. */
#define LH_FILL (64u * 1024)
/* Below this, copying filler is cheaper than a reference chain. */
#define LH_FILL_COPY 512u

#define LH_X16 "xxxxxxxxxxxxxxxx"
#define LH_X64 LH_X16 LH_X16 LH_X16 LH_X16
#define LH_X256 LH_X64 LH_X64 LH_X64 LH_X64
#define LH_X1K LH_X256 LH_X256 LH_X256 LH_X256
#define LH_X4K LH_X1K LH_X1K LH_X1K LH_X1K
#define LH_X16K LH_X4K LH_X4K LH_X4K LH_X4K
#define LH_X64K LH_X16K LH_X16K LH_X16K LH_X16K
static const char lh_fill_block[LH_FILL + 1] = LH_X64K;

/* ---- small helpers ---- */

static void lh_nodelay(evutil_socket_t fd)
{
	int one = 1;
	/* Heads and small bodies go out in separate writes; Nagle would hold
	 * each one back for the previous one's ACK. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void lh_bev_tune(struct bufferevent *bev)
{
	bufferevent_set_max_single_read(bev, LH_IO_MAX);
	bufferevent_set_max_single_write(bev, LH_IO_MAX);
	bufferevent_setwatermark(bev, EV_READ, 0, LH_READ_AHEAD);
	/* The write callback runs when the output falls to the low mark:
	 * that is when on_drain is due. */
	bufferevent_setwatermark(bev, EV_WRITE, LH_LOW, 0);
}

/* libevent 2.1 reads at most 4 KB per readiness event (EVBUFFER_MAX_READ;
 * 2.2 made it settable), so a body relayed through a hop would cost an
 * epoll round, a 4 KB write and two epoll_ctl per 4 KB: 8x slower than
 * one direct transfer, measured. After libevent's read, take what else
 * the socket holds, up to the read-ahead limit, in one more readv into
 * the input buffer's own memory. EOF and errors are left for libevent's
 * next read to report. Not used under a rate limit, which must see
 * every byte. A bufferevent keeps the end of its input frozen except
 * around its own reads; so do we. Returns -1 when the read failed hard
 * (a reset), which libevent's next read would report as a mere EOF. */
static int lh_read_more(struct bufferevent *bev)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t have = evbuffer_get_length(in);
	struct evbuffer_iovec v[2];
	struct iovec iov[2];

	if (have >= LH_READ_AHEAD)
		return 0;
	size_t want = LH_READ_AHEAD - have;
	if (want > LH_IO_MAX)
		want = LH_IO_MAX;
	evbuffer_unfreeze(in, 0);
	int n = evbuffer_reserve_space(in, (ev_ssize_t)want, v, 2);
	if (n <= 0) {
		evbuffer_freeze(in, 0);
		return 0;
	}
	for (int i = 0; i < n; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len;
	}
	ssize_t r = readv(bufferevent_getfd(bev), iov, n);
	int hard = r < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		   errno != EINTR;
	size_t left = r > 0 ? (size_t)r : 0;
	int used = 0;
	for (; used < n && left; used++) {
		if (v[used].iov_len > left)
			v[used].iov_len = left;
		left -= v[used].iov_len;
	}
	evbuffer_commit_space(in, v, used);
	evbuffer_freeze(in, 0);
	return hard ? -1 : 0;
}

static void lh_linger0(evutil_socket_t fd)
{
	struct linger l = { 1, 0 };
	/* close() then sends RST, which is what "abort" means to the peer. */
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

/* Parse a numeric IPv4 or IPv6 address ("::1" or "[::1]"). */
static int lh_addr(const char *addr, uint16_t port, struct sockaddr_storage *ss,
		   int *len)
{
	char tmp[INET6_ADDRSTRLEN + 2];
	size_t n = addr ? strlen(addr) : 0;

	memset(ss, 0, sizeof *ss);
	if (!n || n >= sizeof tmp)
		return -1;
	if (addr[0] == '[' && addr[n - 1] == ']') {
		memcpy(tmp, addr + 1, n - 2);
		tmp[n - 2] = '\0';
	} else {
		memcpy(tmp, addr, n + 1);
	}
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, tmp, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		*len = sizeof *a4;
		return 0;
	}
	if (inet_pton(AF_INET6, tmp, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*len = sizeof *a6;
		return 0;
	}
	return -1;
}

static int add_fill(struct evbuffer *out, uint64_t n)
{
	while (n) {
		size_t k = n < LH_FILL ? (size_t)n : LH_FILL;
		int r = k < LH_FILL_COPY
			? evbuffer_add(out, lh_fill_block, k)
			: evbuffer_add_reference(out, lh_fill_block, k, NULL, NULL);
		if (r < 0)
			return -1;
		n -= k;
	}
	return 0;
}

/* Append n body bytes to out from one of three sources: the front of
 * `buf` (moved, not copied), `mem` (copied), or filler when both are
 * NULL. */
static int put_src(struct evbuffer *out, struct evbuffer *buf, const char *mem,
		   uint64_t n)
{
	if (buf) {
		if (n == evbuffer_get_length(buf))
			return evbuffer_add_buffer(out, buf);
		return evbuffer_remove_buffer(buf, out, (size_t)n) == (int)n ? 0 : -1;
	}
	if (mem)
		return evbuffer_add(out, mem, (size_t)n);
	return add_fill(out, n);
}

static int is_tchar(unsigned char ch)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9'))
		return 1;
	return ch && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static int is_token(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++)
		if (!is_tchar((unsigned char)*s))
			return 0;
	return 1;
}

/* A request-target has no controls and no spaces (RFC 9112 3.2). */
static int is_target(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return 0;
	return 1;
}

/* ---- heads ---- */

void lh_head_init(lh_head *h)
{
	memset(h, 0, sizeof *h);
	h->major = 1;
	h->minor = 1;
}

void lh_head_clear(lh_head *h)
{
	for (uint32_t i = 0; i < h->nh; i++)
		free(h->h[i].name);
	free(h->h);
	free(h->target);
	lh_head_init(h);
}

int lh_head_set_target(lh_head *h, const char *target)
{
	size_t n = strlen(target);
	char *t = malloc(n + 1);
	if (!t)
		return -1;
	memcpy(t, target, n + 1);
	free(h->target);
	h->target = t;
	return 0;
}

const char *lh_head_get(const lh_head *h, const char *name)
{
	for (uint32_t i = 0; i < h->nh; i++)
		if (h->h[i].name && !strcasecmp(h->h[i].name, name))
			return h->h[i].value;
	return NULL;
}

int lh_head_add(lh_head *h, const char *name, const char *value)
{
	if (!value)
		value = "";
	if (h->nh == h->cap) {
		uint32_t cap = h->cap ? h->cap * 2 : 16;
		lh_header *a = realloc(h->h, cap * sizeof *a);
		if (!a)
			return -1;
		h->h = a;
		h->cap = cap;
	}
	size_t nl = strlen(name), vl = strlen(value);
	char *m = malloc(nl + vl + 2);
	if (!m)
		return -1;
	memcpy(m, name, nl + 1);
	memcpy(m + nl + 1, value, vl + 1);
	h->h[h->nh].name = m;
	h->h[h->nh].value = m + nl + 1;
	h->nh++;
	return 0;
}

uint32_t lh_head_del(lh_head *h, const char *name)
{
	uint32_t j = 0, gone = 0;
	for (uint32_t i = 0; i < h->nh; i++) {
		if (h->h[i].name && !strcasecmp(h->h[i].name, name)) {
			free(h->h[i].name);
			gone++;
		} else {
			h->h[j++] = h->h[i];
		}
	}
	h->nh = j;
	return gone;
}

int lh_head_set(lh_head *h, const char *name, const char *value)
{
	lh_head_del(h, name);
	return lh_head_add(h, name, value);
}

int lh_head_copy(lh_head *dst, const lh_head *src)
{
	if (dst == src)
		return 0;
	lh_head_clear(dst);
	memcpy(dst->method, src->method, sizeof dst->method);
	dst->method[sizeof dst->method - 1] = '\0';
	dst->status = src->status;
	dst->major = src->major;
	dst->minor = src->minor;
	dst->content_length = src->content_length;
	dst->keep_alive = src->keep_alive;
	if (src->target && lh_head_set_target(dst, src->target) < 0)
		goto fail;
	if (src->nh) {
		dst->h = malloc(src->nh * sizeof *dst->h);
		if (!dst->h)
			goto fail;
		dst->cap = src->nh;
	}
	for (uint32_t i = 0; i < src->nh; i++)
		if (src->h[i].name &&
		    lh_head_add(dst, src->h[i].name, src->h[i].value) < 0)
			goto fail;
	return 0;
fail:
	lh_head_clear(dst);
	return -1;
}

/* Calls fn on each token of the head's Connection headers (RFC 9110 7.6.1:
 * comma-separated, optional whitespace). Stops when fn returns nonzero and
 * returns that value. */
static int conn_tokens(const lh_head *h, int (*fn)(const char *t, size_t n,
						   void *arg), void *arg)
{
	for (uint32_t i = 0; i < h->nh; i++) {
		if (!h->h[i].name || strcasecmp(h->h[i].name, "Connection") ||
		    !h->h[i].value)
			continue;
		const char *v = h->h[i].value;
		while (*v) {
			while (*v == ' ' || *v == '\t' || *v == ',')
				v++;
			const char *e = v;
			while (*e && *e != ',')
				e++;
			const char *t = e;
			while (t > v && (t[-1] == ' ' || t[-1] == '\t'))
				t--;
			if (t > v) {
				int r = fn(v, (size_t)(t - v), arg);
				if (r)
					return r;
			}
			v = e;
		}
	}
	return 0;
}

static int tok_is(const char *t, size_t n, void *arg)
{
	const char *want = arg;
	return strlen(want) == n && !strncasecmp(t, want, n);
}

static int conn_has(const lh_head *h, const char *tok)
{
	return conn_tokens(h, tok_is, (void *)tok);
}

typedef struct tok_list {
	char *buf;
	size_t len, cap;
} tok_list;

static int tok_collect(const char *t, size_t n, void *arg)
{
	tok_list *l = arg;
	if (l->len + n + 1 > l->cap)
		return 1;
	memcpy(l->buf + l->len, t, n);
	l->buf[l->len + n] = '\0';
	l->len += n + 1;
	return 0;
}

void lh_head_strip_hop_by_hop(lh_head *h)
{
	static const char *const fixed[] = {
		"Keep-Alive", "Proxy-Connection", "TE", "Transfer-Encoding",
		"Upgrade", "Connection",
	};
	char stack[512];
	tok_list l = { stack, 0, sizeof stack };
	size_t need = 0;

	for (uint32_t i = 0; i < h->nh; i++)
		if (h->h[i].name && h->h[i].value &&
		    !strcasecmp(h->h[i].name, "Connection"))
			need += strlen(h->h[i].value) + 1;
	if (need > sizeof stack) {
		l.buf = malloc(need);
		l.cap = need;
	}
	/* The listed names are copied out first: deleting headers moves the
	 * Connection values they were read from. Without memory for the
	 * copy, only the fixed set goes (nothing better is possible). */
	if (l.buf) {
		conn_tokens(h, tok_collect, &l);
		for (size_t off = 0; off < l.len; off += strlen(l.buf + off) + 1)
			lh_head_del(h, l.buf + off);
	}
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		lh_head_del(h, fixed[i]);
	if (l.buf != stack)
		free(l.buf);
}

/* Bytes "name: value\r\n" takes on the wire, or 0 when the header cannot
 * be sent as it is: a name that is not a token, or a CR or LF in the value
 * would let the caller's data split the head (response splitting). */
static size_t hdr_wire(const lh_header *hd)
{
	size_t n = 0, v = 0;
	if (!hd->name || !hd->value)
		return 0;
	for (; hd->name[n]; n++)
		if (!is_tchar((unsigned char)hd->name[n]))
			return 0;
	if (!n)
		return 0;
	for (; hd->value[v]; v++)
		if (hd->value[v] == '\r' || hd->value[v] == '\n')
			return 0;
	return n + v + 4;
}

/* Headers whose value the library computes when it sends a head. */
static int is_framing(const char *name, int with_connection)
{
	return !strcasecmp(name, "Content-Length") ||
	       !strcasecmp(name, "Transfer-Encoding") ||
	       (with_connection && !strcasecmp(name, "Connection"));
}

static size_t head_lines_size(const lh_head *h, int with_connection)
{
	size_t n = 0;
	for (uint32_t i = 0; i < h->nh; i++) {
		size_t k = hdr_wire(&h->h[i]);
		if (k && !is_framing(h->h[i].name, with_connection))
			n += k;
	}
	return n;
}

static char *head_lines_put(char *w, const lh_head *h, int with_connection)
{
	for (uint32_t i = 0; i < h->nh; i++) {
		const lh_header *hd = &h->h[i];
		size_t k = hdr_wire(hd);
		if (!k || is_framing(hd->name, with_connection))
			continue;
		size_t nl = strlen(hd->name), vl = k - nl - 4;
		memcpy(w, hd->name, nl);
		w += nl;
		*w++ = ':';
		*w++ = ' ';
		memcpy(w, hd->value, vl);
		w += vl;
		*w++ = '\r';
		*w++ = '\n';
	}
	return w;
}

/* ---- parsing (both sides) ---- */

enum { PC_NONE, PC_URL, PC_FIELD, PC_VALUE };
enum { EV_NONE, EV_HEAD, EV_DONE };
#define NO_OFF UINT32_MAX

typedef struct lh_pc {
	http_parser p;
	char *buf;              /* head strings, NUL-separated */
	uint32_t len, cap;
	uint32_t *off;          /* name and value offsets into buf, in pairs */
	uint32_t nf, ocap;      /* pairs used, pairs allocated */
	lh_header *hv;          /* the head's header array, reused */
	uint32_t hcap;
	uint32_t url;
	uint8_t last;           /* what the previous head callback was */
	uint8_t in_head;        /* between message begin and head end */
	uint8_t ev;             /* what the pass stopped on */
	uint8_t skip_body;      /* client: the request was HEAD */
	uint8_t too_big, nomem;
	uint32_t nr;            /* body ranges recorded in this pass */
	const char *seg;        /* the extent this pass runs over */
	size_t roff[LH_NRANGES], rlen[LH_NRANGES];
	lh_head head;           /* built at head end; strings live in buf */
} lh_pc;

static lh_pc *pc_of(http_parser *p)
{
	return p->data;
}

static int pc_put(lh_pc *pc, const char *at, size_t n)
{
	size_t need = (size_t)pc->len + n;
	if (need > LH_MAX_HEAD) {
		pc->too_big = 1;
		return -1;
	}
	if (need > pc->cap) {
		size_t cap = pc->cap ? pc->cap : 1024;
		while (cap < need)
			cap *= 2;
		char *b = realloc(pc->buf, cap);
		if (!b) {
			pc->nomem = 1;
			return -1;
		}
		pc->buf = b;
		pc->cap = (uint32_t)cap;
	}
	memcpy(pc->buf + pc->len, at, n);
	pc->len = (uint32_t)need;
	return 0;
}

static int pc_term(lh_pc *pc)
{
	return pc_put(pc, "", 1);
}

static int pc_begin(http_parser *p)
{
	lh_pc *pc = pc_of(p);
	pc->len = 0;
	pc->nf = 0;
	pc->url = NO_OFF;
	pc->last = PC_NONE;
	pc->in_head = 1;
	return 0;
}

static int pc_url(http_parser *p, const char *at, size_t n)
{
	lh_pc *pc = pc_of(p);
	if (!pc->in_head)
		return 0;
	if (pc->last != PC_URL) {
		pc->url = pc->len;
		pc->last = PC_URL;
	}
	return pc_put(pc, at, n);
}

static int pc_field(http_parser *p, const char *at, size_t n)
{
	lh_pc *pc = pc_of(p);
	/* Fields after the head are a chunked body's trailers: dropped. */
	if (!pc->in_head)
		return 0;
	if (pc->last != PC_FIELD) {
		if (pc->last != PC_NONE && pc_term(pc) < 0)
			return -1;
		if (pc->nf == pc->ocap) {
			uint32_t cap = pc->ocap ? pc->ocap * 2 : 32;
			uint32_t *o = realloc(pc->off, 2 * (size_t)cap * sizeof *o);
			if (!o) {
				pc->nomem = 1;
				return -1;
			}
			pc->off = o;
			pc->ocap = cap;
		}
		pc->off[2 * pc->nf] = pc->len;
		pc->off[2 * pc->nf + 1] = NO_OFF;
		pc->nf++;
		pc->last = PC_FIELD;
	}
	return pc_put(pc, at, n);
}

static int pc_value(http_parser *p, const char *at, size_t n)
{
	lh_pc *pc = pc_of(p);
	if (!pc->in_head)
		return 0;
	if (pc->last != PC_VALUE) {
		if (!pc->nf || pc_term(pc) < 0)
			return -1;
		pc->off[2 * pc->nf - 1] = pc->len;
		pc->last = PC_VALUE;
	}
	return pc_put(pc, at, n);
}

static int pc_head_done(http_parser *p)
{
	lh_pc *pc = pc_of(p);
	lh_head *h = &pc->head;
	int skip = 0;

	if (pc->last != PC_NONE && pc_term(pc) < 0)
		return -1;
	if (pc->url == NO_OFF) {
		pc->url = pc->len;
		if (pc_term(pc) < 0)
			return -1;
	}
	if (pc->nf > pc->hcap) {
		lh_header *a = realloc(pc->hv, pc->nf * sizeof *a);
		if (!a) {
			pc->nomem = 1;
			return -1;
		}
		pc->hv = a;
		pc->hcap = pc->nf;
	}
	for (uint32_t i = 0; i < pc->nf; i++) {
		char *name = pc->buf + pc->off[2 * i];
		char *value = pc->off[2 * i + 1] == NO_OFF
			? name + strlen(name) : pc->buf + pc->off[2 * i + 1];
		size_t vl = strlen(value);
		while (vl && (value[vl - 1] == ' ' || value[vl - 1] == '\t'))
			value[--vl] = '\0';
		pc->hv[i].name = name;
		pc->hv[i].value = value;
	}
	h->h = pc->hv;
	h->nh = pc->nf;
	h->cap = pc->hcap;
	h->major = p->http_major;
	h->minor = p->http_minor;
	if (p->type == HTTP_REQUEST) {
		snprintf(h->method, sizeof h->method, "%s",
			 http_method_str((enum http_method)p->method));
		h->target = pc->buf + pc->url;
		h->status = 0;
	} else {
		h->method[0] = '\0';
		h->target = NULL;
		h->status = (int)p->status_code;
		/* RFC 9110 6.4.1: no body after 1xx, 204, 304, or for HEAD;
		 * returning 1 tells http-parser so. */
		skip = pc->skip_body || p->status_code / 100 == 1 ||
		       p->status_code == 204 || p->status_code == 304;
	}
	int chunked = (p->flags & F_CHUNKED) != 0;
	int has_cl = p->content_length != UINT64_MAX;
	if (chunked)
		h->content_length = -1;
	else if (has_cl)
		h->content_length = (int64_t)p->content_length;
	else
		h->content_length = (p->type == HTTP_REQUEST || skip) ? 0 : -1;
	/* RFC 9112 9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with
	 * "keep-alive"; a response delimited by the close cannot persist. */
	int v11 = p->http_major > 1 || (p->http_major == 1 && p->http_minor >= 1);
	int ka = v11 ? !(p->flags & F_CONNECTION_CLOSE)
		     : (p->flags & F_CONNECTION_KEEP_ALIVE) != 0;
	if (p->type == HTTP_RESPONSE && !skip && !chunked && !has_cl)
		ka = 0;
	h->keep_alive = ka;
	pc->in_head = 0;
	pc->ev = EV_HEAD;
	/* Upgrade and CONNECT are not supported: the message is handled as a
	 * plain one (a server may ignore Upgrade, RFC 9110 7.8), rather than
	 * letting http-parser stop at "the rest is another protocol". */
	p->upgrade = 0;
	http_parser_pause(p, 1);
	return skip;
}

static int pc_body(http_parser *p, const char *at, size_t n)
{
	lh_pc *pc = pc_of(p);
	if (!n)
		return 0;
	if (pc->nr == LH_NRANGES)
		return -1;
	pc->roff[pc->nr] = (size_t)(at - pc->seg);
	pc->rlen[pc->nr] = n;
	pc->nr++;
	/* Only a chunked body can fill the ranges (a Content-Length or
	 * close-delimited one is one range per pass); http-parser pauses
	 * cleanly at a chunk's end, where it consumed what it reported. */
	if (pc->nr == LH_NRANGES)
		http_parser_pause(p, 1);
	return 0;
}

static int pc_msg_done(http_parser *p)
{
	lh_pc *pc = pc_of(p);
	pc->ev = EV_DONE;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings lh_settings = {
	.on_message_begin = pc_begin,
	.on_url = pc_url,
	.on_header_field = pc_field,
	.on_header_value = pc_value,
	.on_headers_complete = pc_head_done,
	.on_body = pc_body,
	.on_message_complete = pc_msg_done,
};

static void pc_init(lh_pc *pc, enum http_parser_type type)
{
	memset(pc, 0, sizeof *pc);
	http_parser_init(&pc->p, type);
	pc->p.data = pc;
	pc->url = NO_OFF;
}

static void pc_free(lh_pc *pc)
{
	free(pc->buf);
	free(pc->off);
	free(pc->hv);
}

/* Run the parser over the first extent of `in`. On return the pass's body
 * ranges and event are in pc and *consumed says how many bytes of `in`
 * the parser is done with (the caller drains them). Returns -1 on a parse
 * error. */
static int pc_run(lh_pc *pc, struct evbuffer *in, size_t *consumed)
{
	struct evbuffer_iovec v;
	if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || !v.iov_len) {
		size_t n = evbuffer_get_length(in);
		v.iov_len = n < 4096 ? n : 4096;
		v.iov_base = evbuffer_pullup(in, (ev_ssize_t)v.iov_len);
		if (!v.iov_base)
			return -1;
	}
	pc->seg = v.iov_base;
	pc->nr = 0;
	pc->ev = EV_NONE;
	size_t n = http_parser_execute(&pc->p, &lh_settings, v.iov_base,
				       v.iov_len);
	enum http_errno e = HTTP_PARSER_ERRNO(&pc->p);
	if (e == HPE_PAUSED)
		http_parser_pause(&pc->p, 0);
	else if (e != HPE_OK)
		return -1;
	/* A pass that moves nothing would loop forever. */
	if (!n && pc->ev == EV_NONE && !pc->nr)
		return -1;
	*consumed = n;
	return 0;
}

/* Move body range i from `in` into `chunk`; *pos is how much of `in` the
 * previous ranges used up. */
static void pc_take(const lh_pc *pc, uint32_t i, struct evbuffer *in,
		    size_t *pos, struct evbuffer *chunk)
{
	size_t off = pc->roff[i], len = pc->rlen[i];
	if (off > *pos)
		evbuffer_drain(in, off - *pos);
	evbuffer_remove_buffer(in, chunk, len);
	*pos = off + len;
}

/* ---- TLS (both sides) ---- */

/* One connection's TLS state; zero for plaintext. */
typedef struct lh_tlsc {
	SSL *ssl;               /* the bufferevent's (it frees it) */
	void *owner;            /* the lh_sconn or lh_cconn it is part of */
	char *expect;           /* client: the SPIFFE ID the server must have */
	char *domain;           /* server: the trust domain the client's
				 * SPIFFE ID must be in (NULL: any) */
	char *peer_id;          /* the peer's SPIFFE ID, once connected */
	int verr;               /* LH_ERR_TLS_*: what our check of the peer's
				 * certificate found (0: nothing wrong) */
	uint8_t client;
	uint8_t done;           /* the handshake completed */
	uint8_t counted;        /* client: counted in the pool's stats */
	uint8_t mem;            /* client of lh_tls_handshake_mem: no pool */
	SSL_SESSION *ticket;    /* mem: the newest ticket the server sent */
} lh_tlsc;

/* Our ex_data slot on SSL objects. Not the "app data" slot: a context may
 * be shared with code that uses that one. One thread, so no lock. */
static int lh_ex_idx = -1;

static int tls_ex_idx(void)
{
	if (lh_ex_idx < 0)
		lh_ex_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	return lh_ex_idx;
}

static lh_tlsc *tls_of(const SSL *ssl)
{
	return ssl && lh_ex_idx >= 0 ? SSL_get_ex_data(ssl, lh_ex_idx) : NULL;
}

static int tls_class_of_verdict(tls_ca_verdict v)
{
	switch (v) {
	case TLS_CA_EXPIRED:
		return LH_ERR_TLS_EXPIRED;
	case TLS_CA_UNKNOWN_CA:
		return LH_ERR_TLS_UNKNOWN_CA;
	case TLS_CA_ID_MISMATCH:
		return LH_ERR_TLS_IDENTITY;
	default:
		return LH_ERR_TLS_OTHER;
	}
}

/* The class a TLS alert names (RFC 8446 6.2). OpenSSL sends
 * certificate_expired for an expired certificate and unknown_ca for a
 * chain it cannot complete, so those two cross the wire; tls_verify
 * refuses a wrong SPIFFE ID with X509_V_ERR_CERT_REJECTED, which OpenSSL
 * sends as bad_certificate, so the refused peer counts it as an identity
 * mismatch as the refusing side does. (A certificate not yet valid also
 * arrives as bad_certificate; the mesh's CA never issues one.) Anything
 * else says no more than "other". */
static int tls_class_of_alert(int alert)
{
	switch (alert) {
	case SSL_AD_CERTIFICATE_EXPIRED:
		return LH_ERR_TLS_EXPIRED;
	case SSL_AD_UNKNOWN_CA:
		return LH_ERR_TLS_UNKNOWN_CA;
	case SSL_AD_CERTIFICATE_REQUIRED:
		return LH_ERR_TLS_NO_CERT;
	case SSL_AD_BAD_CERTIFICATE:
		return LH_ERR_TLS_IDENTITY;
	default:
		return LH_ERR_TLS_OTHER;
	}
}

/* Whether SPIFFE ID id is in trust domain td: it starts with
 * "spiffe://<td>/", as Istio's inbound matches a client's SAN with a
 * prefix. */
static int tls_in_domain(const char *id, const char *td)
{
	static const char scheme[] = "spiffe://";
	size_t n = strlen(td);
	return strncmp(id, scheme, sizeof scheme - 1) == 0 &&
	       strncmp(id + sizeof scheme - 1, td, n) == 0 &&
	       id[sizeof scheme - 1 + n] == '/';
}

/* OpenSSL's verify callback, set on every SSL we make: the chain's
 * verdict, then the SPIFFE ID of the leaf (present, the expected one for
 * a client, as Envoy's SAN matcher, and for a server one in the trust
 * domain it requires, if any). It records the class of the first failure
 * for the event callback to report. */
static int tls_verify(int ok, X509_STORE_CTX *sx)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(sx,
		SSL_get_ex_data_X509_STORE_CTX_idx());
	lh_tlsc *t = tls_of(ssl);
	char id[TLS_CA_ID_MAX];

	if (!t)
		return 0;
	if (!ok) {
		if (!t->verr)
			t->verr = tls_class_of_verdict(tls_ca_classify_x509_error(
				X509_STORE_CTX_get_error(sx)));
		return 0;
	}
	/* Called once per certificate, root first; the leaf comes last. */
	if (X509_STORE_CTX_get_error_depth(sx) > 0)
		return 1;
	if (tls_ca_peer_id(X509_STORE_CTX_get_current_cert(sx), id,
			   sizeof id) < 0 ||
	    (t->expect && strcmp(id, t->expect) != 0) ||
	    (t->domain && !tls_in_domain(id, t->domain))) {
		t->verr = LH_ERR_TLS_IDENTITY;
		/* OpenSSL sends bad_certificate for it (tls_class_of_alert). */
		X509_STORE_CTX_set_error(sx, X509_V_ERR_CERT_REJECTED);
		return 0;
	}
	return 1;
}

static void tls_note(unsigned long e, int *alert, int *no_cert)
{
	if (ERR_GET_LIB(e) != ERR_LIB_SSL)
		return;
	int r = ERR_GET_REASON(e);
	if (r == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
		*no_cert = 1;
	else if (r > SSL_AD_REASON_OFFSET && r < SSL_AD_REASON_OFFSET + 256 &&
		 !*alert)
		*alert = tls_class_of_alert(r - SSL_AD_REASON_OFFSET);
}

/* Empty the OpenSSL errors of a connection (libevent keeps the first few
 * in the bufferevent) and of the thread (STYLE rule 7), noting what they
 * say: *alert, the class of an alert the peer sent (0: none); *no_cert,
 * whether a client sent no certificate. Either pointer may be NULL. */
static void tls_drain(struct bufferevent *bev, int *alert, int *no_cert)
{
	unsigned long e;
	int a = 0, n = 0;

	if (bev)
		while ((e = bufferevent_get_openssl_error(bev)) != 0)
			tls_note(e, &a, &n);
	while ((e = ERR_get_error()) != 0)
		tls_note(e, &a, &n);
	if (alert)
		*alert = a;
	if (no_cert)
		*no_cert = n;
}

/* What every SSL of ours gets, whatever its context says: TLS 1.3 only,
 * the peer verified (a client's certificate required), our verify
 * callback, t reachable from the SSL, and a clean EOF from a peer that
 * closes TCP without close_notify. Returns 0, -1 on no memory. */
static int tls_setup(SSL *ssl, lh_tlsc *t, int server)
{
	int idx = tls_ex_idx();
	if (idx < 0 || !SSL_set_ex_data(ssl, idx, t) ||
	    !SSL_set_min_proto_version(ssl, TLS1_3_VERSION))
		return -1;
	SSL_set_options(ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_set_verify(ssl, SSL_VERIFY_PEER |
		       (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), tls_verify);
	if (server && !SSL_set_session_id_context(ssl,
			(const unsigned char *)LH_SID_CTX, sizeof LH_SID_CTX - 1))
		return -1;
	t->ssl = ssl;
	t->client = !server;
	return 0;
}

/* A TLS bufferevent over the connected socket fd, handshaking in `state`.
 * Ownership (STYLE rule 7): ssl belongs to the bufferevent from here on,
 * even when this fails; so does fd, which is closed on failure. The
 * bufferevent is made without a descriptor and given fd after, so that a
 * failed constructor (which may or may not free the SSL, depending on the
 * libevent release) cannot have closed fd too. */
static struct bufferevent *tls_bev(struct event_base *base, evutil_socket_t fd,
				   SSL *ssl, enum bufferevent_ssl_state state)
{
	struct bufferevent *bev = bufferevent_openssl_socket_new(base, -1, ssl,
		state, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (!bev) {
		evutil_closesocket(fd);
		ERR_clear_error();
		return NULL;
	}
	if (bufferevent_setfd(bev, fd) < 0) {
		/* Whether the SSL's BIO has fd decides who closes it. */
		BIO *b = SSL_get_wbio(ssl);
		int given = b && BIO_get_fd(b, NULL) == (long)fd;
		bufferevent_free(bev);
		if (!given)
			evutil_closesocket(fd);
		ERR_clear_error();
		return NULL;
	}
	/* A peer that closes TCP without close_notify is at EOF, not in
	 * error (with SSL_OP_IGNORE_UNEXPECTED_EOF, see tls_setup). */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* Move into the input what OpenSSL already holds decrypted, up to the
 * read-ahead mark; returns the bytes moved. OpenSSL reads a record (up to
 * 16 KB) whole and keeps what a short SSL_read left of it. libevent 2.1's
 * reader takes that rest in the same pass, except when a rate limit's
 * bucket has run dry: it stops with the rest inside OpenSSL and then
 * waits for the socket, which may have nothing more to say (the end of a
 * body): a stall, found by the tls_rate_limit test. So after processing
 * their input, our read callbacks take the rest themselves. It never
 * touches the socket (SSL_read is asked for no more than SSL_pending),
 * and the rate limit counted those bytes when the record came in, as
 * libevent's own reader does. */
static size_t tls_read_pending(struct bufferevent *bev, SSL *ssl)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t have = evbuffer_get_length(in), moved = 0;
	int pend;

	/* Unlike a socket bufferevent's, an OpenSSL one's input is not
	 * frozen at the end (and must not be left so). */
	while (have + moved < LH_READ_AHEAD && (pend = SSL_pending(ssl)) > 0) {
		struct evbuffer_iovec v;
		size_t want = LH_READ_AHEAD - have - moved;
		if ((size_t)pend < want)
			want = (size_t)pend;
		if (evbuffer_reserve_space(in, (ev_ssize_t)want, &v, 1) < 1)
			break;
		if (v.iov_len > want)
			v.iov_len = want;
		int r = SSL_read(ssl, v.iov_base, (int)v.iov_len);
		if (r <= 0) {
			ERR_clear_error(); /* libevent's next read reports it */
			break;
		}
		v.iov_len = (size_t)r;
		evbuffer_commit_space(in, &v, 1);
		moved += (size_t)r;
	}
	return moved;
}

/* Whether OpenSSL holds input bytes for a reader to take (see
 * tls_read_pending). */
static int tls_has_pending(const lh_tlsc *t)
{
	return t->ssl && t->done && SSL_pending(t->ssl) > 0;
}

/* Format the message into err, with the first OpenSSL error appended;
 * empties the queue. */
static void tls_fail(char *err, size_t errlen, const char *fmt, ...)
{
	char buf[256];
	unsigned long e = ERR_peek_error();
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
		if (e) {
			size_t n = strlen(err);
			ERR_error_string_n(e, buf, sizeof buf);
			snprintf(err + n, errlen - n, " (openssl: %s)", buf);
		}
	}
	ERR_clear_error();
}

static int tls_new_session(SSL *ssl, SSL_SESSION *sess);

SSL_CTX *lh_tls_ctx_new(X509 *leaf, EVP_PKEY *key, STACK_OF(X509) *chain,
			X509_STORE *trust, int server, char *err, size_t errlen)
{
	SSL_CTX *ctx = NULL;

	if (!trust) {
		tls_fail(err, errlen, "TLS context: a trust store is required "
			 "(without roots no peer can be verified)");
		return NULL;
	}
	if (!leaf != !key || (server && !leaf)) {
		tls_fail(err, errlen, "TLS context: %s", server
			 ? "a server needs a certificate and its key"
			 : "a certificate and its key go together");
		return NULL;
	}
	ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION)) {
		tls_fail(err, errlen, "TLS context: cannot create one");
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (leaf) {
		char id[TLS_CA_ID_MAX];
		if (tls_ca_peer_id(leaf, id, sizeof id) < 0)
			snprintf(id, sizeof id, "(no SPIFFE ID)");
		if (SSL_CTX_use_certificate(ctx, leaf) != 1 ||
		    SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1) {
			tls_fail(err, errlen, "TLS context: the certificate of %s "
				 "and the key do not go together", id);
			goto fail;
		}
		if (chain && sk_X509_num(chain) > 0 &&
		    SSL_CTX_set1_chain(ctx, chain) != 1) {
			tls_fail(err, errlen, "TLS context: cannot set the chain "
				 "of %s", id);
			goto fail;
		}
	}
	SSL_CTX_set1_cert_store(ctx, trust);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
			   (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
	if (server) {
		if (!SSL_CTX_set_session_id_context(ctx,
				(const unsigned char *)LH_SID_CTX,
				sizeof LH_SID_CTX - 1)) {
			tls_fail(err, errlen, "TLS context: out of memory");
			goto fail;
		}
	} else {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
					       SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(ctx, tls_new_session);
	}
	ERR_clear_error();
	return ctx;
fail:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return NULL;
}

/* ---- servers ---- */

enum { REQ_IDLE, REQ_BODY, REQ_DONE };
enum { ST_OPEN, ST_FLUSH, ST_LINGER };
enum { MODE_NONE, MODE_CL, MODE_CHUNKED, MODE_EOF };

typedef struct lh_sconn lh_sconn;

struct lh_sx {
	lh_sconn *c;
	void *data;
	int64_t left;           /* Content-Length bytes still to send */
	uint8_t mode;           /* how the response body is framed */
	uint8_t head_sent, head_req, over, rd_off;
};

struct lh_sconn {
	lh_server *s;
	lh_sconn *prev, *next;
	struct bufferevent *bev;
	struct evbuffer *chunk;
	lh_pc pc;
	lh_sx x;                /* the one exchange; see the top comment */
	int busy;
	uint8_t dead;           /* closed; freed when no longer busy */
	uint8_t live;           /* x delivered, not yet ended or aborted */
	uint8_t req;            /* REQ_*: how far the request was read */
	uint8_t ka;             /* the connection may serve another request */
	uint8_t v11;            /* the request is HTTP/1.1 or later */
	uint8_t state;          /* ST_*: open, flushing to close, lingering */
	uint8_t peer_eof;
	uint8_t stalled;        /* parsing waits for the output to drain */
	uint8_t rd_full;        /* reading is off: the input is full and
				 * cannot be parsed yet (sc_read_gate) */
	struct sockaddr_storage peer;
	char peer_txt[INET6_ADDRSTRLEN];
	/* Until bev exists: the socket, and (TLS modes) the event that
	 * waits for its first byte. */
	evutil_socket_t fd;
	struct event *sniff;
	lh_tlsc tls;
};

struct lh_server {
	struct event_base *base;
	struct evconnlistener *lev;
	struct event *retry;
	lh_server_cbs cbs;
	void *arg;
	lh_sconn *conns;
	uint32_t nconns;
	uint64_t accepted;
	uint16_t port;
	int busy;
	uint8_t freeing;
	int tls_mode;           /* enum lh_tls_mode */
	SSL_CTX *tls_ctx;       /* a reference of ours, for new connections */
	char *peer_domain;      /* clients' trust domain (NULL: any) */
	lh_tls_stats tls;
};

static void sc_process(lh_sconn *c);

static void sc_free(lh_sconn *c)
{
	if (c->bev)
		bufferevent_free(c->bev); /* and the SSL, and the socket */
	else if (c->fd >= 0)
		evutil_closesocket(c->fd);
	if (c->sniff)
		event_free(c->sniff);
	if (c->chunk)
		evbuffer_free(c->chunk);
	pc_free(&c->pc);
	free(c->tls.peer_id);
	free(c->tls.domain);
	free(c);
}

/* Close now (dropping unsent bytes); no callback follows. */
static void sc_kill(lh_sconn *c)
{
	lh_server *s = c->s;
	if (c->dead)
		return;
	c->dead = 1;
	c->live = 0;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	if (c->bev)
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	if (c->sniff)
		event_del(c->sniff);
	if (!c->busy)
		sc_free(c);
}

static void sc_reset(lh_sconn *c)
{
	lh_linger0(c->bev ? bufferevent_getfd(c->bev) : c->fd);
	sc_kill(c);
}

static void sc_enter(lh_sconn *c)
{
	c->busy++;
	c->s->busy++;
}

static void sc_leave(lh_sconn *c)
{
	lh_server *s = c->s;
	if (--c->busy == 0 && c->dead)
		sc_free(c);
	if (--s->busy == 0 && s->freeing)
		free(s);
}

/* Parse what is already buffered, later, from the event loop. */
static void sc_kick(lh_sconn *c)
{
	if (!c->dead && (evbuffer_get_length(bufferevent_get_input(c->bev)) ||
			 tls_has_pending(&c->tls)))
		bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS |
				    BEV_TRIG_DEFER_CALLBACKS);
}

/* Everything is written: half-close and wait for the client's FIN. */
static void sc_flushed(lh_sconn *c)
{
	struct timeval tv = { LH_LINGER_MS / 1000, (LH_LINGER_MS % 1000) * 1000 };
	if (c->peer_eof) {
		sc_kill(c);
		return;
	}
	/* TLS closes with close_notify first (RFC 8446 6.1), written
	 * straight to the socket: nothing is left in the output to pass. */
	if (c->tls.ssl) {
		(void)SSL_shutdown(c->tls.ssl);
		ERR_clear_error();
	}
	shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	c->state = ST_LINGER;
	bufferevent_disable(c->bev, EV_WRITE);
	bufferevent_set_timeouts(c->bev, &tv, NULL);
	bufferevent_enable(c->bev, EV_READ);
	struct evbuffer *in = bufferevent_get_input(c->bev);
	evbuffer_drain(in, evbuffer_get_length(in));
}

/* Close once the output is written. */
static void sc_close(lh_sconn *c)
{
	c->live = 0;
	c->ka = 0;
	if (c->state != ST_OPEN)
		return;
	c->state = ST_FLUSH;
	if (!c->peer_eof)
		bufferevent_enable(c->bev, EV_READ);
	if (!evbuffer_get_length(bufferevent_get_output(c->bev)))
		sc_flushed(c);
}

static void sc_head(lh_sconn *c)
{
	lh_server *s = c->s;
	lh_head *h = &c->pc.head;
	lh_sx *x = &c->x;

	c->req = REQ_BODY;
	c->ka = (uint8_t)h->keep_alive;
	c->v11 = h->major > 1 || (h->major == 1 && h->minor >= 1);
	x->data = NULL;
	x->left = -1;
	x->mode = MODE_NONE;
	x->head_sent = 0;
	x->over = 0;
	x->rd_off = 0;
	x->head_req = c->pc.p.method == HTTP_HEAD;
	c->live = 1;
	if (c->v11 && h->content_length != 0) {
		/* RFC 9110 10.1.1: a client that waits for 100 before sending
		 * its body (curl does, for bodies over 1 MB) gets it at once,
		 * as nginx sends it when it starts reading the body. */
		const char *e = lh_head_get(h, "Expect");
		if (e && !strcasecmp(e, "100-continue"))
			evbuffer_add(bufferevent_get_output(c->bev),
				     "HTTP/1.1 100 Continue\r\n\r\n", 25);
	}
	s->cbs.on_request(s->arg, x, h);
}

static void sc_done(lh_sconn *c)
{
	lh_server *s = c->s;
	c->req = REQ_DONE;
	if (c->live) {
		if (s->cbs.on_body_end)
			s->cbs.on_body_end(s->arg, &c->x);
	} else if (c->ka) {
		/* The response had ended already: on to the next request. */
		c->req = REQ_IDLE;
	} else {
		sc_close(c);
	}
}

/* The request could not be parsed: answer 400 (431 for an oversized head)
 * if no response has begun, and close. */
static void sc_bad(lh_sconn *c)
{
	lh_server *s = c->s;
	enum http_errno e = HTTP_PARSER_ERRNO(&c->pc.p);
	int code = c->pc.too_big || e == HPE_HEADER_OVERFLOW ? 431 : 400;
	int answer = c->req == REQ_IDLE || (c->live && !c->x.head_sent);

	if (c->pc.nomem) {
		sc_reset(c);
		return;
	}
	if (c->live) {
		c->live = 0;
		if (s->cbs.on_abort)
			s->cbs.on_abort(s->arg, &c->x);
		if (c->dead)
			return;
	}
	if (answer)
		evbuffer_add_printf(bufferevent_get_output(c->bev),
				    "HTTP/1.1 %d %s\r\nContent-Length: 0\r\n"
				    "Connection: close\r\n\r\n", code,
				    http_status_str((enum http_status)code));
	sc_close(c);
}

static int sc_can_parse(lh_sconn *c)
{
	if (c->dead || c->state != ST_OPEN)
		return 0;
	if (c->live && (c->req == REQ_DONE || c->x.rd_off))
		return 0;
	/* A client that pipelines without reading the answers must not make
	 * us buffer every response: read on once it has taken them. */
	if (c->req == REQ_IDLE &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) > LH_HIGH) {
		c->stalled = 1;
		return 0;
	}
	return 1;
}

static void sc_process(lh_sconn *c)
{
	lh_server *s = c->s;
	lh_pc *pc = &c->pc;
	struct evbuffer *in = bufferevent_get_input(c->bev);

	while (sc_can_parse(c) && evbuffer_get_length(in)) {
		size_t n, pos = 0;
		if (pc_run(pc, in, &n) < 0) {
			sc_bad(c);
			return;
		}
		for (uint32_t i = 0; i < pc->nr; i++) {
			if (!c->live || !s->cbs.on_body)
				continue;
			pc_take(pc, i, in, &pos, c->chunk);
			s->cbs.on_body(s->arg, &c->x, c->chunk);
			if (c->dead)
				return;
			evbuffer_drain(c->chunk, evbuffer_get_length(c->chunk));
		}
		if (n > pos)
			evbuffer_drain(in, n - pos);
		if (pc->ev == EV_HEAD)
			sc_head(c);
		else if (pc->ev == EV_DONE)
			sc_done(c);
	}
}

/* Reading is off while the input is at the read-ahead mark and cannot
 * be parsed (a request waits behind the response in progress, or for
 * the client to take its answers), on again once it can. Not only to
 * bound memory, which the high watermark does: libevent 2.1.12 calls the
 * read callback again on every pass of the loop while the input is at
 * its high mark and reading is on (bufferevent_inbuf_wm_check), and a
 * callback that takes nothing would spin. A close or a reset is seen
 * once reading is on again. */
static void sc_read_gate(lh_sconn *c)
{
	if (c->dead || c->state != ST_OPEN || c->peer_eof ||
	    (c->live && c->x.rd_off))
		return;
	int full = evbuffer_get_length(bufferevent_get_input(c->bev)) >=
		   LH_READ_AHEAD && !sc_can_parse(c);
	if (full) {
		/* Again too: lh_sx_read_enable may have turned it on. */
		c->rd_full = 1;
		bufferevent_disable(c->bev, EV_READ);
	} else if (c->rd_full) {
		c->rd_full = 0;
		bufferevent_enable(c->bev, EV_READ);
	}
}

/* Parse what is buffered; for TLS, then what OpenSSL holds, while the
 * parser takes it. */
static void sc_pump(lh_sconn *c)
{
	sc_process(c);
	while (!c->dead && c->state == ST_OPEN && tls_has_pending(&c->tls) &&
	       sc_can_parse(c) && !(c->live && c->x.rd_off) &&
	       tls_read_pending(c->bev, c->tls.ssl) > 0)
		sc_process(c);
	sc_read_gate(c);
}

static void sc_readcb(struct bufferevent *bev, void *arg)
{
	lh_sconn *c = arg;
	sc_enter(c);
	if (!c->dead) {
		if (c->state == ST_OPEN) {
			/* A reset shows soon enough as EOF or a write
			 * error; an aborted exchange is all it changes. */
			if (!c->tls.ssl && (!c->x.rd_off || !c->live))
				(void)lh_read_more(bev);
			sc_pump(c);
		} else {
			struct evbuffer *in = bufferevent_get_input(bev);
			do
				evbuffer_drain(in, evbuffer_get_length(in));
			while (tls_has_pending(&c->tls) &&
			       tls_read_pending(bev, c->tls.ssl) > 0);
		}
	}
	sc_leave(c);
}

static void sc_writecb(struct bufferevent *bev, void *arg)
{
	lh_sconn *c = arg;
	lh_server *s = c->s;
	sc_enter(c);
	if (!c->dead) {
		size_t out = evbuffer_get_length(bufferevent_get_output(bev));
		if (c->state == ST_FLUSH) {
			if (!out)
				sc_flushed(c);
		} else if (c->state == ST_OPEN) {
			if (c->live && c->x.over && out <= LH_LOW) {
				c->x.over = 0;
				if (s->cbs.on_drain)
					s->cbs.on_drain(s->arg, &c->x);
			}
			if (!c->dead && c->stalled && out <= LH_LOW) {
				c->stalled = 0;
				sc_pump(c);
			}
		}
	}
	sc_leave(c);
}

/* The handshake is done: count it and note the client's identity (its
 * certificate passed tls_verify; a resumed session carries the one it
 * was established with). */
static void sc_tls_ready(lh_sconn *c)
{
	lh_server *s = c->s;
	lh_tlsc *t = &c->tls;
	X509 *peer = SSL_get0_peer_certificate(t->ssl);
	char id[TLS_CA_ID_MAX];

	/* The domain again: a resumed session's certificate was checked
	 * when the session began, perhaps under another rule. */
	if (!peer || tls_ca_peer_id(peer, id, sizeof id) < 0 ||
	    (t->domain && !tls_in_domain(id, t->domain))) {
		s->tls.failed[LH_ERR_TLS_IDENTITY - LH_ERR_TLS_EXPIRED]++;
		sc_reset(c);
		return;
	}
	if (!(t->peer_id = strdup(id))) {
		sc_reset(c);
		return;
	}
	t->done = 1;
	if (SSL_session_reused(t->ssl))
		s->tls.resumed++;
	else
		s->tls.full++;
}

/* The handshake failed: count it by class and close. */
/* A lingering close after a failed handshake (as the connections' own,
 * LH_LINGER_MS, and nginx's lingering_close): what the peer sent after we
 * stopped reading is read and thrown away until it closes too, or
 * LH_ALERT_LINGER_MS pass, and only then is the socket closed.
 * Closing a socket with unread input sends RST, and a RST can make the
 * peer's kernel drop what we sent last before its application read it. */
#define LH_ALERT_LINGER_MS 500

static void linger_cb(evutil_socket_t fd, short what, void *arg)
{
	struct event_base *base = arg;
	char buf[4096];
	if (what & EV_READ) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR))) {
			struct timeval tv = {0, LH_ALERT_LINGER_MS * 1000};
			if (event_base_once(base, fd, EV_READ, linger_cb, base, &tv) == 0)
				return;
		}
	}
	evutil_closesocket(fd);
}

/* Hand the socket under bev to a lingering close, after the TLS alert
 * OpenSSL has written to it: half-close it (the alert, then FIN), and
 * keep a descriptor of it open for linger_cb. bev may then be freed (its
 * own descriptor closes; the socket stays open through ours). Nothing
 * happens when the socket cannot be kept. */
static void linger_after_alert(struct event_base *base, struct bufferevent *bev)
{
	evutil_socket_t fd = bufferevent_getfd(bev);
	if (fd < 0)
		return;
	evutil_socket_t keep = dup(fd);
	if (keep < 0)
		return;
	(void)shutdown(keep, SHUT_WR);
	struct timeval tv = {0, LH_ALERT_LINGER_MS * 1000};
	if (evutil_make_socket_nonblocking(keep) < 0 ||
	    event_base_once(base, keep, EV_READ, linger_cb, base, &tv) < 0)
		evutil_closesocket(keep);
}

static void sc_tls_failed(lh_sconn *c, struct bufferevent *bev)
{
	lh_server *s = c->s;
	int alert, no_cert, cls = LH_ERR_TLS_OTHER;

	tls_drain(bev, &alert, &no_cert);
	if (c->tls.verr) {
		cls = c->tls.verr;
	} else if (no_cert) {
		cls = LH_ERR_TLS_NO_CERT;
	} else if (alert) {
		cls = alert;
		s->tls.failed_by_peer++;
	}
	s->tls.failed[cls - LH_ERR_TLS_EXPIRED]++;
	/* In TLS 1.3 a client has finished its side of the handshake, and
	 * sent its request, before we check its certificate: our alert must
	 * not be lost to the RST that closing on that unread request sends,
	 * or the client sees a reset and never learns why. */
	if (!alert)
		linger_after_alert(s->base, bev);
	sc_kill(c);
}

static void sc_eventcb(struct bufferevent *bev, short what, void *arg)
{
	lh_sconn *c = arg;
	lh_server *s = c->s;
	int tls = c->tls.ssl != NULL;
	sc_enter(c);
	if (c->dead) {
		/* nothing: it is closing */
	} else if (what & BEV_EVENT_CONNECTED) {
		sc_tls_ready(c);
	} else if (tls && !c->tls.done) {
		sc_tls_failed(c, bev);
	} else {
		int eof = (what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR);
		if (c->state == ST_FLUSH && eof) {
			c->peer_eof = 1;
		} else if (c->state != ST_OPEN) {
			sc_kill(c);
		} else if (c->live) {
			/* As Envoy: a client that closes (or half-closes)
			 * before its response ended has given up on it. */
			c->live = 0;
			if (s->cbs.on_abort)
				s->cbs.on_abort(s->arg, &c->x);
			sc_kill(c);
		} else if (eof && evbuffer_get_length(bufferevent_get_output(bev))) {
			c->peer_eof = 1;
			sc_close(c);
		} else {
			sc_kill(c);
		}
	}
	if (tls)
		tls_drain(bev, NULL, NULL);
	sc_leave(c);
}

/* Give c its bufferevent, plaintext or TLS (accepting), over c->fd.
 * Returns 0, or -1 with the socket closed (kill c then). */
static int sc_start(lh_sconn *c, int tls)
{
	lh_server *s = c->s;
	evutil_socket_t fd = c->fd;
	struct bufferevent *bev;

	c->fd = -1;
	if (tls) {
		SSL *ssl = SSL_new(s->tls_ctx);
		if (!ssl || tls_setup(ssl, &c->tls, 1) < 0 ||
		    (s->peer_domain &&
		     !(c->tls.domain = strdup(s->peer_domain)))) {
			SSL_free(ssl);
			c->tls.ssl = NULL;
			evutil_closesocket(fd);
			ERR_clear_error();
			return -1;
		}
		bev = tls_bev(s->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING);
		if (!bev)
			c->tls.ssl = NULL; /* gone with the bufferevent */
	} else {
		bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE |
					     BEV_OPT_DEFER_CALLBACKS);
		if (!bev)
			evutil_closesocket(fd);
	}
	if (!bev)
		return -1;
	c->bev = bev;
	lh_bev_tune(bev);
	bufferevent_setcb(bev, sc_readcb, sc_writecb, sc_eventcb, c);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	return 0;
}

/* A connection to a STRICT or PERMISSIVE server: its first byte, peeked
 * (left in the socket for whoever reads next), says TLS or plaintext, as
 * Envoy's tls_inspector decides before a filter chain is chosen. */
static void sc_sniff(evutil_socket_t fd, short what, void *arg)
{
	lh_sconn *c = arg;
	lh_server *s = c->s;
	unsigned char b = 0;
	ssize_t n = recv(fd, &b, 1, MSG_PEEK);
	(void)what;

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		if (event_add(c->sniff, NULL) < 0)
			sc_kill(c);
		return;
	}
	event_free(c->sniff);
	c->sniff = NULL;
	if (n <= 0) {
		sc_kill(c); /* gone before a byte: nothing to serve */
		return;
	}
	/* The mode in force now decides (it may have changed since the
	 * accept). */
	if (s->tls_mode != LH_TLS_OFF && b == LH_TLS_HANDSHAKE) {
		if (sc_start(c, 1) < 0)
			sc_kill(c);
	} else if (s->tls_mode != LH_TLS_STRICT) {
		if (s->tls_mode == LH_TLS_PERMISSIVE)
			s->tls.plaintext++;
		if (sc_start(c, 0) < 0)
			sc_kill(c);
	} else {
		s->tls.plaintext_refused++;
		sc_kill(c);
	}
}

static void srv_accept(struct evconnlistener *l, evutil_socket_t fd,
		       struct sockaddr *sa, int salen, void *arg)
{
	lh_server *s = arg;
	lh_sconn *c = calloc(1, sizeof *c);
	(void)l;
	if (!c) {
		evutil_closesocket(fd);
		return;
	}
	c->fd = fd; /* c's from here: sc_kill closes it */
	pc_init(&c->pc, HTTP_REQUEST);
	if (salen > 0 && (size_t)salen <= sizeof c->peer)
		memcpy(&c->peer, sa, (size_t)salen);
	c->s = s;
	c->x.c = c;
	c->tls.owner = c;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	s->accepted++;
	lh_nodelay(fd);
	c->chunk = evbuffer_new();
	if (!c->chunk) {
		sc_kill(c);
		return;
	}
	if (s->tls_mode == LH_TLS_OFF) {
		if (sc_start(c, 0) < 0)
			sc_kill(c);
		return;
	}
	c->sniff = event_new(s->base, fd, EV_READ, sc_sniff, c);
	if (!c->sniff || event_add(c->sniff, NULL) < 0)
		sc_kill(c);
}

static void srv_retry(evutil_socket_t fd, short what, void *arg)
{
	lh_server *s = arg;
	(void)fd;
	(void)what;
	if (s->lev)
		evconnlistener_enable(s->lev);
}

static void srv_accept_error(struct evconnlistener *l, void *arg)
{
	lh_server *s = arg;
	struct timeval tv = { 0, 100 * 1000 };
	/* Out of descriptors (EMFILE), the listening socket stays readable
	 * and libevent would spin on it: stop accepting for a moment, as
	 * nginx does. */
	evconnlistener_disable(l);
	evtimer_add(s->retry, &tv);
}

lh_server *lh_server_new(struct event_base *base, const char *addr,
			 uint16_t port, const lh_server_cbs *cbs, void *arg,
			 char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	int sl = 0;
	evutil_socket_t fd = -1;
	lh_server *s = NULL;
	char msg[256];
	int one = 1;

	if (!cbs || !cbs->on_request) {
		snprintf(msg, sizeof msg, "lh_server_new: on_request is required");
		goto fail;
	}
	if (lh_addr(addr, port, &ss, &sl) < 0) {
		snprintf(msg, sizeof msg, "listen address '%s' is not a numeric "
			 "IPv4 or IPv6 address", addr ? addr : "(null)");
		goto fail;
	}
	s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(msg, sizeof msg, "listen on %s port %u: out of memory",
			 addr, (unsigned)port);
		goto fail;
	}
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0) {
		snprintf(msg, sizeof msg, "listen on %s port %u: socket: %s",
			 addr, (unsigned)port, strerror(errno));
		goto fail;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    evutil_make_socket_nonblocking(fd) < 0 ||
	    evutil_make_socket_closeonexec(fd) < 0) {
		snprintf(msg, sizeof msg, "listen on %s port %u: %s", addr,
			 (unsigned)port, strerror(errno));
		goto fail;
	}
	if (bind(fd, (struct sockaddr *)&ss, (socklen_t)sl) < 0) {
		snprintf(msg, sizeof msg, "listen on %s port %u: bind: %s%s",
			 addr, (unsigned)port, strerror(errno),
			 errno == EADDRINUSE ? " (another process has it)" : "");
		goto fail;
	}
	struct sockaddr_storage got;
	socklen_t gl = sizeof got;
	if (getsockname(fd, (struct sockaddr *)&got, &gl) < 0) {
		snprintf(msg, sizeof msg, "listen on %s port %u: getsockname: %s",
			 addr, (unsigned)port, strerror(errno));
		goto fail;
	}
	s->port = ntohs(got.ss_family == AF_INET6
			? ((struct sockaddr_in6 *)&got)->sin6_port
			: ((struct sockaddr_in *)&got)->sin_port);
	s->base = base;
	s->cbs = *cbs;
	s->arg = arg;
	s->retry = evtimer_new(base, srv_retry, s);
	if (!s->retry) {
		snprintf(msg, sizeof msg, "listen on %s port %u: out of memory",
			 addr, (unsigned)port);
		goto fail;
	}
	s->lev = evconnlistener_new(base, srv_accept, s, LEV_OPT_CLOSE_ON_FREE |
				    LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
				    511, fd);
	if (!s->lev) {
		snprintf(msg, sizeof msg, "listen on %s port %u: listen: %s",
			 addr, (unsigned)port, strerror(errno));
		goto fail;
	}
	evconnlistener_set_error_cb(s->lev, srv_accept_error);
	return s;
fail:
	if (fd >= 0)
		evutil_closesocket(fd);
	if (s && s->retry)
		event_free(s->retry);
	free(s);
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
	return NULL;
}

uint16_t lh_server_port(const lh_server *s)
{
	return s->port;
}

uint32_t lh_server_connections(const lh_server *s)
{
	return s->nconns;
}

uint64_t lh_server_accepted(const lh_server *s)
{
	return s->accepted;
}

void lh_server_free(lh_server *s)
{
	if (!s || s->freeing)
		return;
	s->freeing = 1;
	if (s->lev)
		evconnlistener_free(s->lev);
	s->lev = NULL;
	if (s->retry)
		event_free(s->retry);
	s->retry = NULL;
	while (s->conns)
		sc_kill(s->conns);
	SSL_CTX_free(s->tls_ctx);
	s->tls_ctx = NULL;
	free(s->peer_domain);
	s->peer_domain = NULL;
	if (!s->busy)
		free(s);
}

int lh_server_set_tls(lh_server *s, SSL_CTX *ctx, int mode)
{
	if (mode != LH_TLS_OFF && mode != LH_TLS_STRICT &&
	    mode != LH_TLS_PERMISSIVE)
		return -1;
	if (mode != LH_TLS_OFF && !ctx)
		return -1;
	if (mode == LH_TLS_OFF)
		ctx = NULL;
	if (ctx && SSL_CTX_up_ref(ctx) != 1) {
		ERR_clear_error();
		return -1;
	}
	/* Connections hold their own reference (SSL_new's): this one is
	 * only for those to come. */
	SSL_CTX_free(s->tls_ctx);
	s->tls_ctx = ctx;
	s->tls_mode = mode;
	return 0;
}

void lh_server_tls_stats(const lh_server *s, lh_tls_stats *out)
{
	*out = s->tls;
}

int lh_server_set_peer_domain(lh_server *s, const char *td)
{
	char *d = NULL;
	if (td && !(d = strdup(td)))
		return -1;
	/* Connections keep a copy of their own (sc_start). */
	free(s->peer_domain);
	s->peer_domain = d;
	return 0;
}

void lh_sx_set_data(lh_sx *x, void *data)
{
	x->data = data;
}

void *lh_sx_data(const lh_sx *x)
{
	return x->data;
}

const char *lh_sx_peer_id(const lh_sx *x)
{
	return x->c->tls.peer_id;
}

X509 *lh_sx_peer_cert(const lh_sx *x)
{
	const lh_tlsc *t = &x->c->tls;
	return t->ssl && t->done ? SSL_get0_peer_certificate(t->ssl) : NULL;
}

const char *lh_sx_peer(const lh_sx *x)
{
	lh_sconn *c = x->c;
	if (!c->peer_txt[0]) {
		const void *a = NULL;
		if (c->peer.ss_family == AF_INET)
			a = &((const struct sockaddr_in *)&c->peer)->sin_addr;
		else if (c->peer.ss_family == AF_INET6)
			a = &((const struct sockaddr_in6 *)&c->peer)->sin6_addr;
		if (!a || !inet_ntop(c->peer.ss_family, a, c->peer_txt,
				     sizeof c->peer_txt))
			snprintf(c->peer_txt, sizeof c->peer_txt, "?");
	}
	return c->peer_txt;
}

static void sx_check(lh_sx *x)
{
	if (evbuffer_get_length(bufferevent_get_output(x->c->bev)) > LH_HIGH)
		x->over = 1;
}

int lh_sx_respond_head(lh_sx *x, const lh_head *resp)
{
	lh_sconn *c = x->c;
	char extra[160], line[96];
	int el = 0, ll;
	int status = resp->status ? resp->status : 200;

	if (!c->live || x->head_sent || status < 200 || status > 999)
		return -1;
	if (conn_has(resp, "close"))
		c->ka = 0;
	if (x->head_req || status == 204 || status == 304) {
		x->mode = MODE_NONE;
		if (status != 204 && resp->content_length >= 0)
			el = snprintf(extra, sizeof extra, "Content-Length: %" PRId64
				      "\r\n", resp->content_length);
	} else if (resp->content_length >= 0) {
		x->mode = MODE_CL;
		x->left = resp->content_length;
		el = snprintf(extra, sizeof extra, "Content-Length: %" PRId64
			      "\r\n", resp->content_length);
	} else if (c->v11) {
		x->mode = MODE_CHUNKED;
		el = snprintf(extra, sizeof extra, "Transfer-Encoding: chunked\r\n");
	} else {
		/* HTTP/1.0 has no chunks: the close ends the body. */
		x->mode = MODE_EOF;
		c->ka = 0;
	}
	if (!c->ka)
		el += snprintf(extra + el, sizeof extra - (size_t)el,
			       "Connection: close\r\n");
	else if (!c->v11)
		el += snprintf(extra + el, sizeof extra - (size_t)el,
			       "Connection: keep-alive\r\n");
	const char *reason = http_status_str((enum http_status)status);
	if (reason[0] == '<')
		reason = "";
	ll = snprintf(line, sizeof line, "HTTP/1.1 %d %s\r\n", status, reason);

	size_t need = (size_t)ll + head_lines_size(resp, 1) + (size_t)el + 2;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct evbuffer_iovec v;
	if (evbuffer_reserve_space(out, (ev_ssize_t)need, &v, 1) < 1 ||
	    v.iov_len < need)
		return -1;
	char *w = v.iov_base;
	memcpy(w, line, (size_t)ll);
	w = head_lines_put(w + ll, resp, 1);
	memcpy(w, extra, (size_t)el);
	w += el;
	memcpy(w, "\r\n", 2);
	v.iov_len = need;
	if (evbuffer_commit_space(out, &v, 1) < 0)
		return -1;
	x->head_sent = 1;
	sx_check(x);
	return 0;
}

static int sx_emit(lh_sx *x, struct evbuffer *buf, const char *mem, uint64_t n)
{
	lh_sconn *c = x->c;
	int r = 0;

	if (!c->live || !x->head_sent)
		return -1;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	switch (x->mode) {
	case MODE_CL: {
		uint64_t k = n < (uint64_t)x->left ? n : (uint64_t)x->left;
		if (k)
			r = put_src(out, buf, mem, k);
		x->left -= (int64_t)k;
		break;
	}
	case MODE_CHUNKED:
		if (n) {
			char hb[24];
			int hl = snprintf(hb, sizeof hb, "%" PRIx64 "\r\n", n);
			r = evbuffer_add(out, hb, (size_t)hl) < 0 ||
			    put_src(out, buf, mem, n) < 0 ||
			    evbuffer_add(out, "\r\n", 2) < 0;
		}
		break;
	case MODE_EOF:
		if (n)
			r = put_src(out, buf, mem, n);
		break;
	default:
		break;
	}
	/* What the framing has no room for (past Content-Length, or any
	 * body of a HEAD answer) is dropped. */
	if (buf)
		evbuffer_drain(buf, evbuffer_get_length(buf));
	sx_check(x);
	return r ? -1 : 0;
}

int lh_sx_respond_body(lh_sx *x, struct evbuffer *data)
{
	return sx_emit(x, data, NULL, evbuffer_get_length(data));
}

int lh_sx_respond_fill(lh_sx *x, uint64_t n)
{
	return sx_emit(x, NULL, NULL, n);
}

void lh_sx_respond_end(lh_sx *x)
{
	lh_sconn *c = x->c;
	if (!c->live)
		return;
	c->live = 0;
	x->over = 0;
	if (!x->head_sent)
		c->ka = 0; /* nothing was said; closing is all that is left */
	else if (x->mode == MODE_CHUNKED)
		evbuffer_add(bufferevent_get_output(c->bev), "0\r\n\r\n", 5);
	else if ((x->mode == MODE_CL && x->left > 0) || x->mode == MODE_EOF)
		c->ka = 0; /* a short body shows as the close */
	if (x->rd_off) {
		x->rd_off = 0;
		if (!c->peer_eof)
			bufferevent_enable(c->bev, EV_READ);
	}
	if (!c->ka) {
		sc_close(c);
	} else if (c->req == REQ_DONE) {
		c->req = REQ_IDLE;
		sc_kick(c);
	}
	/* Else the rest of the request body is read and dropped first. */
}

void lh_sx_respond_simple(lh_sx *x, int status, const char *content_type,
			  const char *body, size_t len, const lh_head *extra)
{
	lh_header stack[16], *hv = stack;
	uint32_t n = extra ? extra->nh : 0, nh = 0;
	lh_head h;

	if (n + 1 > sizeof stack / sizeof stack[0]) {
		hv = malloc((n + 1) * sizeof *hv);
		if (!hv) {
			hv = stack;
			n = 0;
		}
	}
	for (uint32_t i = 0; i < n; i++)
		hv[nh++] = extra->h[i];
	if (content_type && !(extra && lh_head_get(extra, "Content-Type")))
		hv[nh++] = (lh_header){ (char *)"Content-Type", (char *)content_type };
	lh_head_init(&h);
	h.status = status;
	h.h = hv;
	h.nh = nh;
	h.cap = nh;
	h.content_length = (int64_t)len;
	if (lh_sx_respond_head(x, &h) == 0 && len)
		sx_emit(x, NULL, body, len);
	lh_sx_respond_end(x);
	if (hv != stack)
		free(hv);
}

void lh_sx_abort(lh_sx *x)
{
	lh_sconn *c = x->c;
	if (!c->live)
		return;
	c->live = 0;
	sc_reset(c);
}

size_t lh_sx_backlog(const lh_sx *x)
{
	if (x->c->dead)
		return 0;
	return evbuffer_get_length(bufferevent_get_output(x->c->bev));
}

void lh_sx_read_enable(lh_sx *x, int on)
{
	lh_sconn *c = x->c;
	if (!c->live || c->state != ST_OPEN)
		return;
	x->rd_off = !on;
	if (!on) {
		bufferevent_disable(c->bev, EV_READ);
	} else if (!c->peer_eof) {
		bufferevent_enable(c->bev, EV_READ);
		sc_kick(c);
	}
}

/* ---- clients ---- */

enum { X_FREE, X_WAIT, X_CONN, X_KICK, X_DONE };

typedef struct lh_cconn lh_cconn;

struct lh_cx {
	lh_pool *p;
	lh_cconn *c;
	lh_cx *prev, *next;     /* wait or error queue, or free list */
	lh_client_cbs cbs;
	void *arg, *data;
	char *hbuf;             /* the request head as sent, kept to resend */
	size_t hlen, hcap;
	struct evbuffer *pending; /* wire bytes before a connection is ours */
	struct evbuffer *retain;  /* wire body bytes kept to resend */
	int64_t left;           /* Content-Length bytes the caller still owes */
	int err;
	uint8_t where;          /* X_*: queued, on a connection, failing... */
	uint8_t chunked, ended, head_req, ka;
	uint8_t reused;         /* sent on a connection that served before */
	uint8_t resent, keep, lost, got_byte, resp, over, rd_off;
	uint8_t idempotent;     /* may be sent again (RFC 9110 9.2.2) */
};

struct lh_cconn {
	lh_pool *p;
	lh_cconn *prev, *next;   /* all connections */
	lh_cconn *iprev, *inext; /* idle ones, most recent first */
	struct bufferevent *bev;
	struct evbuffer *chunk;
	lh_pc pc;
	lh_cx *x;
	uint64_t served;
	int busy;
	uint8_t dead, connected, idle, interim, resp_ka, eof;
	uint8_t rst;             /* our own read saw the reset */
	uint8_t aborting;        /* closing with a reset: no close_notify */
	uint32_t gen;            /* the pool's tls_gen when it was opened */
	lh_tlsc tls;
};

typedef struct lh_xq {
	lh_cx *h, *t;
} lh_xq;

struct lh_pool {
	struct event_base *base;
	struct sockaddr_storage sa;
	int salen;
	char host[INET6_ADDRSTRLEN + 16];
	uint32_t max_conns, nconns, ctimeout_ms;
	uint64_t opened;
	lh_cconn *conns, *idle;
	lh_xq wait, kick;
	lh_cx *free;
	uint32_t nfree;
	struct event *kick_ev;
	struct bufferevent_rate_limit_group *rlg;
	int busy;
	uint8_t freeing;
	SSL_CTX *tls_ctx;        /* a reference of ours; NULL: plaintext */
	char *tls_expect;        /* the server's SPIFFE ID; NULL: any */
	uint32_t tls_gen;        /* bumped when TLS or expect_id changes */
	SSL_SESSION *sess[LH_SESS_MAX]; /* tickets to resume, oldest first */
	uint32_t nsess;
	lh_tls_stats tls;
};

static void xq_push(lh_xq *q, lh_cx *x)
{
	x->next = NULL;
	x->prev = q->t;
	if (q->t)
		q->t->next = x;
	else
		q->h = x;
	q->t = x;
}

static void xq_del(lh_xq *q, lh_cx *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		q->h = x->next;
	if (x->next)
		x->next->prev = x->prev;
	else
		q->t = x->prev;
	x->prev = x->next = NULL;
}

static lh_cx *xq_pop(lh_xq *q)
{
	lh_cx *x = q->h;
	if (x)
		xq_del(q, x);
	return x;
}

static void cx_destroy(lh_cx *x)
{
	free(x->hbuf);
	if (x->pending)
		evbuffer_free(x->pending);
	if (x->retain)
		evbuffer_free(x->retain);
	free(x);
}

static lh_cx *cx_get(lh_pool *p)
{
	lh_cx *x = p->free;
	if (x) {
		p->free = x->next;
		p->nfree--;
	} else {
		x = calloc(1, sizeof *x);
		if (!x)
			return NULL;
		x->pending = evbuffer_new();
		if (!x->pending) {
			free(x);
			return NULL;
		}
	}
	char *hb = x->hbuf;
	size_t hc = x->hcap;
	struct evbuffer *pe = x->pending, *re = x->retain;
	memset(x, 0, sizeof *x);
	x->hbuf = hb;
	x->hcap = hc;
	x->pending = pe;
	x->retain = re;
	x->p = p;
	return x;
}

static void cx_put(lh_pool *p, lh_cx *x)
{
	x->where = X_FREE;
	x->c = NULL;
	evbuffer_drain(x->pending, evbuffer_get_length(x->pending));
	if (x->retain)
		evbuffer_drain(x->retain, evbuffer_get_length(x->retain));
	if (p->freeing || p->nfree >= LH_FREE_MAX) {
		cx_destroy(x);
		return;
	}
	x->next = p->free;
	p->free = x;
	p->nfree++;
}

/* Report err from the event loop: lh_request and friends never call
 * their caller's callbacks before they return. */
static void cx_fail_later(lh_cx *x, int err)
{
	lh_pool *p = x->p;
	x->err = err;
	x->where = X_KICK;
	xq_push(&p->kick, x);
	event_active(p->kick_ev, EV_TIMEOUT, 0);
}

static void cc_free(lh_cconn *c)
{
	bufferevent_free(c->bev);
	evbuffer_free(c->chunk);
	pc_free(&c->pc);
	free(c->tls.expect);
	free(c->tls.peer_id);
	free(c);
}

static void idle_del(lh_pool *p, lh_cconn *c)
{
	if (c->iprev)
		c->iprev->inext = c->inext;
	else
		p->idle = c->inext;
	if (c->inext)
		c->inext->iprev = c->iprev;
	c->iprev = c->inext = NULL;
	c->idle = 0;
}

/* Close now; the caller has taken c->x off first. */
static void cc_kill(lh_cconn *c)
{
	lh_pool *p = c->p;
	if (c->dead)
		return;
	c->dead = 1;
	c->x = NULL;
	if (c->idle)
		idle_del(p, c);
	if (c->prev)
		c->prev->next = c->next;
	else
		p->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	p->nconns--;
	/* Out of the group now: the group may be freed before c is. */
	bufferevent_remove_from_rate_limit_group(c->bev);
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	/* A TLS connection that ends in good order says so (close_notify,
	 * RFC 8446 6.1), straight to the socket: only when nothing of ours
	 * is waiting in the output, and the server has not closed first. */
	if (c->tls.ssl && c->tls.done && !c->aborting && !c->eof &&
	    !evbuffer_get_length(bufferevent_get_output(c->bev)) &&
	    !(SSL_get_shutdown(c->tls.ssl) & SSL_SENT_SHUTDOWN)) {
		(void)SSL_shutdown(c->tls.ssl);
		ERR_clear_error();
	}
	if (!c->busy)
		cc_free(c);
}

static void cc_reset(lh_cconn *c)
{
	lh_linger0(bufferevent_getfd(c->bev));
	c->aborting = 1;
	cc_kill(c);
}

static void cc_enter(lh_cconn *c)
{
	c->busy++;
	c->p->busy++;
}

static void cc_leave(lh_cconn *c)
{
	lh_pool *p = c->p;
	if (--c->busy == 0 && c->dead)
		cc_free(c);
	if (--p->busy == 0 && p->freeing)
		free(p);
}

static void cc_readcb(struct bufferevent *bev, void *arg);
static void cc_writecb(struct bufferevent *bev, void *arg);
static void cc_eventcb(struct bufferevent *bev, short what, void *arg);

static lh_cconn *cc_new(lh_pool *p)
{
	evutil_socket_t fd = -1;
	lh_cconn *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->chunk = evbuffer_new();
	if (!c->chunk)
		goto fail;
	fd = socket(p->sa.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		goto fail;
	if (evutil_make_socket_nonblocking(fd) < 0 ||
	    evutil_make_socket_closeonexec(fd) < 0)
		goto fail;
	lh_nodelay(fd);
	c->gen = p->tls_gen;
	if (p->tls_ctx) {
		SSL *ssl = SSL_new(p->tls_ctx);
		if (!ssl || tls_setup(ssl, &c->tls, 0) < 0 ||
		    (p->tls_expect && !(c->tls.expect = strdup(p->tls_expect)))) {
			SSL_free(ssl);
			c->tls.ssl = NULL;
			ERR_clear_error();
			goto fail;
		}
		c->tls.owner = c;
		/* The newest ticket, used once (RFC 8446 C.4). */
		if (p->nsess) {
			SSL_SESSION *ss = p->sess[--p->nsess];
			if (SSL_set_session(ssl, ss) != 1)
				ERR_clear_error();
			SSL_SESSION_free(ss); /* the SSL has its own reference */
		}
		c->bev = tls_bev(p->base, fd, ssl, BUFFEREVENT_SSL_CONNECTING);
		fd = -1; /* the bufferevent's, or closed */
		if (!c->bev) {
			c->tls.ssl = NULL;
			goto fail;
		}
	} else {
		c->bev = bufferevent_socket_new(p->base, fd, BEV_OPT_CLOSE_ON_FREE |
						BEV_OPT_DEFER_CALLBACKS);
		if (!c->bev)
			goto fail;
		fd = -1; /* the bufferevent has it */
	}
	if (p->ctimeout_ms) {
		/* libevent waits for the connect as for a write, so the write
		 * timeout bounds it; it is cleared once connected. A TLS
		 * handshake waits for reads and writes in turn, and the
		 * bufferevent says "connected" only when it is done: both
		 * timeouts bound it. */
		struct timeval tv = { (time_t)(p->ctimeout_ms / 1000),
				      (suseconds_t)(p->ctimeout_ms % 1000) * 1000 };
		bufferevent_set_timeouts(c->bev, c->tls.ssl ? &tv : NULL, &tv);
	}
	/* Callbacks are set after the connect: one that fails at once
	 * reports through them synchronously, inside lh_request. */
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&p->sa,
				       p->salen) < 0)
		goto fail;
	pc_init(&c->pc, HTTP_RESPONSE);
	lh_bev_tune(c->bev);
	bufferevent_setcb(c->bev, cc_readcb, cc_writecb, cc_eventcb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (p->rlg)
		bufferevent_add_to_rate_limit_group(c->bev, p->rlg);
	c->p = p;
	c->next = p->conns;
	if (p->conns)
		p->conns->prev = c;
	p->conns = c;
	p->nconns++;
	p->opened++;
	return c;
fail:
	if (fd >= 0)
		evutil_closesocket(fd);
	if (c->bev)
		bufferevent_free(c->bev);
	if (c->chunk)
		evbuffer_free(c->chunk);
	free(c->tls.expect);
	free(c);
	return NULL;
}

/* Copy n wire bytes into the resend copy (x->keep says one is kept). */
static void cx_keep(lh_cx *x, struct evbuffer *buf, const char *mem, uint64_t n)
{
	struct evbuffer_iovec v[16];
	if (!x->keep || !n)
		return;
	if (!x->retain && !(x->retain = evbuffer_new()))
		goto lost;
	if (evbuffer_get_length(x->retain) + n > LH_RESEND_MAX)
		goto lost;
	if (!buf) {
		if (mem)
			evbuffer_add(x->retain, mem, (size_t)n);
		else
			add_fill(x->retain, n);
		return;
	}
	int nv = evbuffer_peek(buf, (ev_ssize_t)n, NULL, v, 16);
	if (nv > 16)
		goto lost;
	for (int i = 0; i < nv && n; i++) {
		size_t k = v[i].iov_len < n ? v[i].iov_len : (size_t)n;
		evbuffer_add(x->retain, v[i].iov_base, k);
		n -= k;
	}
	return;
lost:
	x->keep = 0;
	x->lost = 1;
	if (x->retain)
		evbuffer_drain(x->retain, evbuffer_get_length(x->retain));
}

static void cc_attach(lh_cconn *c, lh_cx *x)
{
	lh_pool *p = c->p;
	struct evbuffer *out = bufferevent_get_output(c->bev);

	if (c->idle)
		idle_del(p, c);
	c->x = x;
	x->c = c;
	x->where = X_CONN;
	x->reused = c->served > 0;
	x->keep = x->reused && x->idempotent && !x->resent && !x->lost;
	x->got_byte = 0;
	x->resp = 0;
	c->pc.skip_body = x->head_req;
	c->interim = 0;
	evbuffer_add(out, x->hbuf, x->hlen);
	if (x->retain && evbuffer_get_length(x->retain))
		evbuffer_add_buffer(out, x->retain);
	size_t pl = evbuffer_get_length(x->pending);
	if (pl) {
		cx_keep(x, x->pending, NULL, pl);
		evbuffer_add_buffer(out, x->pending);
	}
	if (x->rd_off)
		bufferevent_disable(c->bev, EV_READ);
	else
		bufferevent_enable(c->bev, EV_READ);
}

static void pool_dispatch(lh_pool *p)
{
	while (p->wait.h && !p->freeing) {
		lh_cconn *c = p->idle;
		if (!c) {
			if (p->max_conns && p->nconns >= p->max_conns)
				return;
			c = cc_new(p);
			if (!c) {
				cx_fail_later(xq_pop(&p->wait), LH_ERR_CONNECT);
				continue;
			}
		}
		cc_attach(c, xq_pop(&p->wait));
	}
}

static void cc_idle(lh_cconn *c)
{
	lh_pool *p = c->p;
	c->idle = 1;
	c->iprev = NULL;
	c->inext = p->idle;
	if (p->idle)
		p->idle->iprev = c;
	p->idle = c;
	/* Reading stays on so that a server closing the idle connection is
	 * noticed before the connection is handed out again. */
	bufferevent_enable(c->bev, EV_READ);
}

/* The response ended: reuse the connection if both sides allow it and the
 * request was sent whole, then report the end. */
static void cc_done(lh_cconn *c)
{
	lh_pool *p = c->p;
	lh_cx *x = c->x;
	/* Not after the pool's TLS setting changed (lh_pool_set_tls). */
	int reuse = c->resp_ka && x->ka && x->ended && !c->eof &&
		    c->gen == p->tls_gen;

	c->x = NULL;
	x->c = NULL;
	x->where = X_DONE;
	c->served++;
	if (reuse)
		cc_idle(c);
	else
		cc_kill(c);
	/* Waiting requests go first: one the callback starts queues behind. */
	pool_dispatch(p);
	if (x->cbs.on_end)
		x->cbs.on_end(x->arg, x);
	cx_put(p, x);
}

static void cc_fail(lh_cconn *c, int err)
{
	lh_pool *p = c->p;
	lh_cx *x = c->x;

	if (!c->connected && err == LH_ERR_RESET)
		err = LH_ERR_CONNECT;
	if (!x) {
		cc_kill(c);
		return;
	}
	c->x = NULL;
	x->c = NULL;
	if (err == LH_ERR_PROTOCOL)
		cc_reset(c);
	else
		cc_kill(c);
	/* The server closed a connection we reused before it saw (or before
	 * it answered) the request: the race every keep-alive client meets.
	 * Send once more on a fresh connection, as browsers and Envoy do. */
	if (err == LH_ERR_RESET && x->reused && x->idempotent && !x->got_byte &&
	    !x->resent && !x->lost && !p->freeing) {
		lh_cconn *n = cc_new(p);
		x->resent = 1;
		if (n) {
			cc_attach(n, x);
			return;
		}
	}
	x->where = X_DONE;
	pool_dispatch(p);
	if (x->cbs.on_error)
		x->cbs.on_error(x->arg, x, err);
	cx_put(p, x);
}

static void cc_eof(lh_cconn *c)
{
	lh_pc *pc = &c->pc;
	pc->nr = 0;
	pc->ev = EV_NONE;
	/* A body delimited by the close ends here; anything else is cut,
	 * and a reset cuts even that. */
	if (c->rst) {
		cc_fail(c, LH_ERR_RESET);
		return;
	}
	http_parser_execute(&pc->p, &lh_settings, NULL, 0);
	if (HTTP_PARSER_ERRNO(&pc->p) == HPE_PAUSED)
		http_parser_pause(&pc->p, 0);
	if (pc->ev == EV_DONE && c->x && c->x->resp && !c->interim)
		cc_done(c);
	else
		cc_fail(c, LH_ERR_RESET);
}

static void cc_process(lh_cconn *c)
{
	lh_pool *p = c->p;
	lh_pc *pc = &c->pc;
	struct evbuffer *in = bufferevent_get_input(c->bev);

	for (;;) {
		lh_cx *x = c->x;
		size_t avail = evbuffer_get_length(in), n, pos = 0;
		if (c->dead || p->freeing)
			return;
		if (!x) {
			/* Bytes nobody asked for, or the server closing an
			 * idle connection: either way it is done. */
			if (avail || c->eof)
				cc_kill(c);
			return;
		}
		if (x->rd_off)
			return;
		if (!avail) {
			if (c->eof)
				cc_eof(c);
			return;
		}
		if (!x->got_byte) {
			x->got_byte = 1;
			x->keep = 0;
			if (x->retain)
				evbuffer_drain(x->retain, evbuffer_get_length(x->retain));
		}
		if (pc_run(pc, in, &n) < 0) {
			cc_fail(c, LH_ERR_PROTOCOL);
			return;
		}
		for (uint32_t i = 0; i < pc->nr; i++) {
			if (!x->resp || !x->cbs.on_body)
				continue;
			pc_take(pc, i, in, &pos, c->chunk);
			x->cbs.on_body(x->arg, x, c->chunk);
			if (c->dead || p->freeing || c->x != x)
				return;
			evbuffer_drain(c->chunk, evbuffer_get_length(c->chunk));
		}
		if (n > pos)
			evbuffer_drain(in, n - pos);
		if (pc->ev == EV_HEAD) {
			int st = pc->head.status;
			if (st / 100 == 1) {
				/* Interim answers (100 Continue) are skipped;
				 * 101 would switch protocols we never asked
				 * for. */
				if (st == 101) {
					cc_fail(c, LH_ERR_PROTOCOL);
					return;
				}
				c->interim = 1;
			} else {
				c->resp_ka = (uint8_t)pc->head.keep_alive;
				x->resp = 1;
				if (x->cbs.on_response)
					x->cbs.on_response(x->arg, x, &pc->head);
			}
		} else if (pc->ev == EV_DONE) {
			if (c->interim)
				c->interim = 0;
			else
				cc_done(c);
		}
	}
}

/* The server has sent something after the handshake (its session
 * tickets, or the answer), so it accepted our certificate: in TLS 1.3 it
 * checks the client's after the client has finished, so this is when a
 * client knows its handshake succeeded. */
static void cc_tls_confirm(lh_cconn *c)
{
	lh_tlsc *t = &c->tls;
	if (!t->ssl || t->counted || !SSL_is_init_finished(t->ssl))
		return;
	t->counted = 1;
	if (SSL_session_reused(t->ssl))
		c->p->tls.resumed++;
	else
		c->p->tls.full++;
}

/* libevent says connected when the handshake is done: note the server's
 * identity. tls_verify has checked a full handshake's certificate; a
 * resumed session was established under the same expectation (the pool
 * drops its tickets when that changes), checked again here all the same.
 * Returns 0, or an LH_ERR_TLS_* class. */
static int cc_tls_ready(lh_cconn *c)
{
	lh_tlsc *t = &c->tls;
	X509 *peer = SSL_get0_peer_certificate(t->ssl);
	char id[TLS_CA_ID_MAX];

	t->done = 1;
	if (!peer || tls_ca_peer_id(peer, id, sizeof id) < 0 ||
	    (t->expect && strcmp(id, t->expect) != 0)) {
		c->p->tls.failed[LH_ERR_TLS_IDENTITY - LH_ERR_TLS_EXPIRED]++;
		return LH_ERR_TLS_IDENTITY;
	}
	if (!(t->peer_id = strdup(id)))
		return LH_ERR_TLS_OTHER;
	return 0;
}

/* What a TLS connection's failure means for its request: the class of a
 * failed handshake (counted), else LH_ERR_RESET (which cc_fail makes a
 * connect failure when the handshake had not completed). */
static int cc_tls_err(lh_cconn *c, struct bufferevent *bev, short what)
{
	lh_tlsc *t = &c->tls;
	lh_pool *p = c->p;
	int alert, cls = 0, by_peer = 0;

	tls_drain(bev, &alert, NULL);
	if (t->verr) {
		cls = t->verr; /* our check of the server's certificate */
	} else if (alert && !t->counted) {
		/* The server refused our certificate: during the handshake,
		 * or in TLS 1.3 just after it, before any answer. */
		cls = alert;
		by_peer = 1;
	} else if (!t->done && !(what & BEV_EVENT_TIMEOUT) &&
		   BIO_number_written(SSL_get_wbio(t->ssl)) > 0) {
		/* Connected (our ClientHello went out), then no handshake:
		 * not a TLS server, no TLS 1.3, or it hung up. */
		cls = LH_ERR_TLS_OTHER;
	}
	if (!cls)
		return LH_ERR_RESET;
	p->tls.failed[cls - LH_ERR_TLS_EXPIRED]++;
	p->tls.failed_by_peer += (uint64_t)by_peer;
	return cls;
}

static void cc_readcb(struct bufferevent *bev, void *arg)
{
	lh_cconn *c = arg;
	cc_enter(c);
	if (!c->dead) {
		c->connected = 1;
		if (c->tls.ssl)
			cc_tls_confirm(c);
		else if (!c->p->rlg && !(c->x && c->x->rd_off) && !c->eof &&
			 lh_read_more(bev) < 0)
			c->rst = 1;
		cc_process(c);
		/* For TLS, what OpenSSL holds too (tls_read_pending). */
		while (!c->dead && !c->p->freeing && tls_has_pending(&c->tls) &&
		       !(c->x && c->x->rd_off) &&
		       tls_read_pending(bev, c->tls.ssl) > 0)
			cc_process(c);
	}
	cc_leave(c);
}

static void cc_writecb(struct bufferevent *bev, void *arg)
{
	lh_cconn *c = arg;
	cc_enter(c);
	if (!c->dead) {
		lh_cx *x = c->x;
		c->connected = 1;
		if (x && x->over &&
		    evbuffer_get_length(bufferevent_get_output(bev)) <= LH_LOW) {
			x->over = 0;
			if (x->cbs.on_drain)
				x->cbs.on_drain(x->arg, x);
		}
	}
	cc_leave(c);
}

static void cc_eventcb(struct bufferevent *bev, short what, void *arg)
{
	lh_cconn *c = arg;
	int tls = c->tls.ssl != NULL;
	cc_enter(c);
	if (!c->dead) {
		if (what & BEV_EVENT_CONNECTED) {
			int cls = tls ? cc_tls_ready(c) : 0;
			bufferevent_set_timeouts(bev, NULL, NULL);
			if (cls)
				cc_fail(c, cls);
			else
				c->connected = 1;
		} else if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
			   c->connected) {
			c->eof = 1;
			cc_process(c);
		} else {
			cc_fail(c, tls ? cc_tls_err(c, bev, what) : LH_ERR_RESET);
		}
	}
	if (tls)
		tls_drain(bev, NULL, NULL);
	cc_leave(c);
}

static void pool_kick(evutil_socket_t fd, short what, void *arg)
{
	lh_pool *p = arg;
	lh_cx *x;
	(void)fd;
	(void)what;
	p->busy++;
	while (!p->freeing && (x = xq_pop(&p->kick))) {
		x->where = X_DONE;
		if (x->cbs.on_error)
			x->cbs.on_error(x->arg, x, x->err);
		cx_put(p, x);
	}
	if (--p->busy == 0 && p->freeing)
		free(p);
}

const char *lh_err_name(int e)
{
	switch (e) {
	case LH_ERR_CONNECT:
		return "connect-failure";
	case LH_ERR_RESET:
		return "reset";
	case LH_ERR_PROTOCOL:
		return "protocol-error";
	case LH_ERR_TLS_EXPIRED:
		return "tls-expired";
	case LH_ERR_TLS_UNKNOWN_CA:
		return "tls-unknown-ca";
	case LH_ERR_TLS_IDENTITY:
		return "tls-identity-mismatch";
	case LH_ERR_TLS_NO_CERT:
		return "tls-no-cert";
	case LH_ERR_TLS_OTHER:
		return "tls-other";
	default:
		return "unknown";
	}
}

int lh_err_is_connect(int e)
{
	return e == LH_ERR_CONNECT ||
	       (e >= LH_ERR_TLS_EXPIRED && e <= LH_ERR_TLS_OTHER);
}

lh_pool *lh_pool_new(struct event_base *base, const char *addr, uint16_t port,
		     uint32_t max_conns, uint32_t connect_timeout_ms)
{
	lh_pool *p = calloc(1, sizeof *p);
	char txt[INET6_ADDRSTRLEN];
	if (!p)
		return NULL;
	if (lh_addr(addr, port, &p->sa, &p->salen) < 0)
		goto fail;
	p->kick_ev = event_new(base, -1, 0, pool_kick, p);
	if (!p->kick_ev)
		goto fail;
	p->base = base;
	p->max_conns = max_conns;
	p->ctimeout_ms = connect_timeout_ms;
	if (p->sa.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&p->sa)->sin6_addr,
			  txt, sizeof txt);
		snprintf(p->host, sizeof p->host, "[%s]:%u", txt, (unsigned)port);
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&p->sa)->sin_addr,
			  txt, sizeof txt);
		snprintf(p->host, sizeof p->host, "%s:%u", txt, (unsigned)port);
	}
	return p;
fail:
	free(p);
	return NULL;
}

static void pool_drop_sessions(lh_pool *p)
{
	while (p->nsess)
		SSL_SESSION_free(p->sess[--p->nsess]);
}

/* OpenSSL's new-session callback on client contexts: a ticket from the
 * upstream, kept for the pool's next connection. Returns 1 when the
 * reference is kept. */
static int tls_new_session(SSL *ssl, SSL_SESSION *sess)
{
	lh_tlsc *t = tls_of(ssl);
	if (t && t->client && t->mem) {
		/* lh_tls_handshake_mem's client: no pool; the newest
		 * ticket is the one it hands back. */
		if (!SSL_SESSION_is_resumable(sess))
			return 0;
		SSL_SESSION_free(t->ticket);
		t->ticket = sess;
		return 1;
	}
	if (!t || !t->client || !t->owner)
		return 0;
	lh_cconn *c = t->owner;
	lh_pool *p = c->p;
	if (c->dead || p->freeing)
		return 0;
	cc_tls_confirm(c);
	/* Not from a context or an expectation the pool has left. */
	if (c->gen != p->tls_gen || SSL_get_SSL_CTX(ssl) != p->tls_ctx ||
	    !SSL_SESSION_is_resumable(sess))
		return 0;
	if (p->nsess == LH_SESS_MAX) {
		SSL_SESSION_free(p->sess[0]);
		memmove(p->sess, p->sess + 1, (LH_SESS_MAX - 1) * sizeof p->sess[0]);
		p->nsess--;
	}
	p->sess[p->nsess++] = sess;
	return 1;
}

int lh_pool_set_tls(lh_pool *p, SSL_CTX *ctx, const char *expect_id)
{
	char *e = NULL;
	if (expect_id && !(e = strdup(expect_id)))
		return -1;
	if (ctx && SSL_CTX_up_ref(ctx) != 1) {
		free(e);
		ERR_clear_error();
		return -1;
	}
	int change = !ctx != !p->tls_ctx || !e != !p->tls_expect ||
		     (e && strcmp(e, p->tls_expect) != 0);
	if (ctx) {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
					       SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(ctx, tls_new_session);
	}
	SSL_CTX_free(p->tls_ctx);
	p->tls_ctx = ctx;
	free(p->tls_expect);
	p->tls_expect = e;
	/* Tickets belong to the old certificate and expectation. */
	pool_drop_sessions(p);
	if (change) {
		/* Connections of the old kind serve no new request: as Envoy
		 * drains a cluster's pools when its transport changes. */
		p->tls_gen++;
		while (p->idle)
			cc_kill(p->idle);
	}
	return 0;
}

void lh_pool_tls_stats(const lh_pool *p, lh_tls_stats *out)
{
	*out = p->tls;
}

const char *lh_cx_peer_id(const lh_cx *x)
{
	return x->where == X_CONN && x->c ? x->c->tls.peer_id : NULL;
}

X509 *lh_cx_peer_cert(const lh_cx *x)
{
	if (x->where != X_CONN || !x->c || !x->c->tls.done)
		return NULL;
	return SSL_get0_peer_certificate(x->c->tls.ssl);
}

void lh_pool_free(lh_pool *p)
{
	lh_cx *x;
	if (!p || p->freeing)
		return;
	p->freeing = 1;
	while (p->conns) {
		lh_cconn *c = p->conns;
		if (c->x) {
			x = c->x;
			c->x = NULL;
			cx_destroy(x);
		}
		cc_kill(c);
	}
	while ((x = xq_pop(&p->wait)))
		cx_destroy(x);
	while ((x = xq_pop(&p->kick)))
		cx_destroy(x);
	while ((x = p->free)) {
		p->free = x->next;
		cx_destroy(x);
	}
	if (p->rlg)
		bufferevent_rate_limit_group_free(p->rlg);
	p->rlg = NULL;
	event_free(p->kick_ev);
	p->kick_ev = NULL;
	pool_drop_sessions(p);
	SSL_CTX_free(p->tls_ctx);
	p->tls_ctx = NULL;
	free(p->tls_expect);
	p->tls_expect = NULL;
	if (!p->busy)
		free(p);
}

/* Bytes per 10 ms tick for a rate; 0 (no limit) is libevent's largest. */
static size_t rate_per_tick(uint64_t bytes_per_second)
{
	if (!bytes_per_second)
		return (size_t)EV_RATE_LIMIT_MAX;
	uint64_t per = bytes_per_second / 100;
	if (!per)
		per = 1;
	if (per > (uint64_t)EV_RATE_LIMIT_MAX)
		per = (uint64_t)EV_RATE_LIMIT_MAX;
	return (size_t)per;
}

int lh_pool_set_rates(lh_pool *p, uint64_t read_bps, uint64_t write_bps)
{
	if (!read_bps && !write_bps) {
		if (p->rlg) {
			for (lh_cconn *c = p->conns; c; c = c->next)
				bufferevent_remove_from_rate_limit_group(c->bev);
			bufferevent_rate_limit_group_free(p->rlg);
			p->rlg = NULL;
		}
		return 0;
	}
	/* Ticks of 10 ms: with libevent's default tick of a second, each
	 * second's budget would leave in one burst. */
	struct timeval tick = { 0, 10 * 1000 };
	size_t rd = rate_per_tick(read_bps), wr = rate_per_tick(write_bps);
	struct ev_token_bucket_cfg *cfg =
		ev_token_bucket_cfg_new(rd, rd, wr, wr, &tick);
	int r = 0;
	if (!cfg)
		return -1;
	if (p->rlg) {
		r = bufferevent_rate_limit_group_set_cfg(p->rlg, cfg);
	} else {
		p->rlg = bufferevent_rate_limit_group_new(p->base, cfg);
		if (!p->rlg)
			r = -1;
		for (lh_cconn *c = p->conns; c && p->rlg; c = c->next)
			if (bufferevent_add_to_rate_limit_group(c->bev, p->rlg) < 0)
				r = -1;
	}
	ev_token_bucket_cfg_free(cfg); /* the group keeps a copy */
	return r < 0 ? -1 : 0;
}

int lh_pool_set_rate(lh_pool *p, uint64_t bytes_per_second)
{
	return lh_pool_set_rates(p, bytes_per_second, bytes_per_second);
}

uint32_t lh_pool_connections(const lh_pool *p)
{
	return p->nconns;
}

uint64_t lh_pool_opened(const lh_pool *p)
{
	return p->opened;
}

/* Write the request head into x->hbuf. Returns 0, -1 on no memory, -2
 * when the method or target cannot be sent. */
static int cx_head(lh_cx *x, const lh_head *req)
{
	lh_pool *p = x->p;
	const char *method = req->method[0] ? req->method : "GET";
	const char *target = req->target && req->target[0] ? req->target : "/";
	unsigned major = req->major, minor = req->minor;
	char ver[40], extra[192];
	int el = 0, vl;

	if (!is_token(method) || !is_target(target))
		return -2;
	/* Chunked bodies need HTTP/1.1; so does anything unspecified. */
	if (!major || req->content_length < 0) {
		major = 1;
		minor = 1;
	}
	int v11 = major > 1 || (major == 1 && minor >= 1);
	x->head_req = !strcmp(method, "HEAD");
	/* RFC 9112 9.3.1.1: a client may send a request again on its own
	 * only when its method is idempotent (a POST may have been done). */
	x->idempotent = !strcmp(method, "GET") || x->head_req ||
			!strcmp(method, "OPTIONS") || !strcmp(method, "PUT") ||
			!strcmp(method, "DELETE") || !strcmp(method, "TRACE");
	x->chunked = req->content_length < 0;
	x->left = x->chunked ? -1 : req->content_length;
	x->ended = req->content_length == 0;
	x->ka = v11 ? !conn_has(req, "close") : conn_has(req, "keep-alive");
	if (!lh_head_get(req, "Host"))
		el += snprintf(extra + el, sizeof extra - (size_t)el,
			       "Host: %s\r\n", p->host);
	if (x->chunked)
		el += snprintf(extra + el, sizeof extra - (size_t)el,
			       "Transfer-Encoding: chunked\r\n");
	else if (req->content_length > 0 ||
		 (strcmp(method, "GET") && strcmp(method, "HEAD")))
		el += snprintf(extra + el, sizeof extra - (size_t)el,
			       "Content-Length: %" PRId64 "\r\n",
			       req->content_length);
	vl = snprintf(ver, sizeof ver, " HTTP/%u.%u\r\n", major, minor);

	size_t ml = strlen(method), tl = strlen(target);
	size_t need = ml + 1 + tl + (size_t)vl + head_lines_size(req, 0) +
		      (size_t)el + 2;
	if (need > x->hcap) {
		char *b = realloc(x->hbuf, need);
		if (!b)
			return -1;
		x->hbuf = b;
		x->hcap = need;
	}
	char *w = x->hbuf;
	memcpy(w, method, ml);
	w += ml;
	*w++ = ' ';
	memcpy(w, target, tl);
	w += tl;
	memcpy(w, ver, (size_t)vl);
	w = head_lines_put(w + vl, req, 0);
	memcpy(w, extra, (size_t)el);
	w += el;
	memcpy(w, "\r\n", 2);
	x->hlen = need;
	return 0;
}

lh_cx *lh_request(lh_pool *p, const lh_head *req, const lh_client_cbs *cbs,
		  void *arg)
{
	if (p->freeing)
		return NULL;
	lh_cx *x = cx_get(p);
	if (!x)
		return NULL;
	x->cbs = *cbs;
	x->arg = arg;
	int r = cx_head(x, req);
	if (r == -1) {
		cx_put(p, x);
		return NULL;
	}
	if (r == -2) {
		x->ended = 1;
		cx_fail_later(x, LH_ERR_PROTOCOL);
		return x;
	}
	x->where = X_WAIT;
	xq_push(&p->wait, x);
	pool_dispatch(p);
	return x;
}

void lh_cx_set_data(lh_cx *x, void *data)
{
	x->data = data;
}

void *lh_cx_data(const lh_cx *x)
{
	return x->data;
}

size_t lh_cx_backlog(const lh_cx *x)
{
	if (x->where == X_WAIT)
		return evbuffer_get_length(x->pending);
	if (x->where == X_CONN)
		return evbuffer_get_length(bufferevent_get_output(x->c->bev));
	return 0;
}

/* Body bytes on the wire, to the connection or, before there is one, to
 * x->pending; copied for a resend while one is possible. */
static int cx_raw(lh_cx *x, struct evbuffer *buf, const char *mem, uint64_t n)
{
	if (x->where == X_CONN) {
		cx_keep(x, buf, mem, n);
		return put_src(bufferevent_get_output(x->c->bev), buf, mem, n);
	}
	return put_src(x->pending, buf, mem, n);
}

static int cx_emit(lh_cx *x, struct evbuffer *buf, const char *mem, uint64_t n)
{
	int r = 0;
	if (x->where != X_WAIT && x->where != X_CONN) {
		/* An error is on its way: the bytes have nowhere to go. */
		if (buf)
			evbuffer_drain(buf, evbuffer_get_length(buf));
		return 0;
	}
	if (x->ended) {
		if (buf)
			evbuffer_drain(buf, evbuffer_get_length(buf));
		return n ? -1 : 0;
	}
	if (x->chunked) {
		if (n) {
			char hb[24];
			int hl = snprintf(hb, sizeof hb, "%" PRIx64 "\r\n", n);
			r = cx_raw(x, NULL, hb, (uint64_t)hl) < 0 ||
			    cx_raw(x, buf, mem, n) < 0 ||
			    cx_raw(x, NULL, "\r\n", 2) < 0;
		}
	} else {
		uint64_t k = n < (uint64_t)x->left ? n : (uint64_t)x->left;
		if (k)
			r = cx_raw(x, buf, mem, k) < 0;
		x->left -= (int64_t)k;
		if (!x->left)
			x->ended = 1;
	}
	if (buf)
		evbuffer_drain(buf, evbuffer_get_length(buf));
	if (lh_cx_backlog(x) > LH_HIGH)
		x->over = 1;
	return r ? -1 : 0;
}

int lh_cx_body(lh_cx *x, struct evbuffer *data)
{
	return cx_emit(x, data, NULL, evbuffer_get_length(data));
}

int lh_cx_body_fill(lh_cx *x, uint64_t n)
{
	return cx_emit(x, NULL, NULL, n);
}

void lh_cx_body_end(lh_cx *x)
{
	lh_pool *p = x->p;
	if ((x->where != X_WAIT && x->where != X_CONN) || x->ended)
		return;
	if (x->chunked) {
		cx_raw(x, NULL, "0\r\n\r\n", 5);
		x->ended = 1;
		return;
	}
	/* Fewer bytes than Content-Length promised: the server would wait
	 * for the rest forever, so the connection goes. */
	if (x->where == X_CONN) {
		lh_cconn *c = x->c;
		c->x = NULL;
		x->c = NULL;
		cc_reset(c);
	} else {
		xq_del(&p->wait, x);
	}
	cx_fail_later(x, LH_ERR_RESET);
	pool_dispatch(p);
}

void lh_cx_cancel(lh_cx *x)
{
	lh_pool *p = x->p;
	switch (x->where) {
	case X_WAIT:
		xq_del(&p->wait, x);
		break;
	case X_KICK:
		xq_del(&p->kick, x);
		break;
	case X_CONN: {
		lh_cconn *c = x->c;
		c->x = NULL;
		x->c = NULL;
		cc_reset(c);
		break;
	}
	default:
		return; /* it has ended: nothing to give up */
	}
	cx_put(p, x);
	pool_dispatch(p);
}

void lh_cx_read_enable(lh_cx *x, int on)
{
	x->rd_off = !on;
	if (x->where != X_CONN)
		return;
	lh_cconn *c = x->c;
	if (!on) {
		bufferevent_disable(c->bev, EV_READ);
		return;
	}
	if (!c->eof)
		bufferevent_enable(c->bev, EV_READ);
	if (c->eof || evbuffer_get_length(bufferevent_get_input(c->bev)) ||
	    tls_has_pending(&c->tls))
		bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS |
				    BEV_TRIG_DEFER_CALLBACKS);
}

/* ---- one handshake in memory (the simulator) ---- */

/* Each direction's buffer: a whole flight of the handshake (a server's,
 * with its certificate chain, is about 2 KB) fits many times. */
#define LH_MEM_BIO (64u * 1024)
/* Rounds of both sides' steps before a handshake that goes nowhere is
 * given up: TLS 1.3 needs two (one for the client's ticket reading). */
#define LH_MEM_ROUNDS 16

/* One step of one side: 1 done, 0 wants the peer's bytes, -1 failed
 * (noting in *no_cert, if not NULL, whether a client sent no certificate;
 * the error queue is emptied). */
static int mem_step(SSL *ssl, int *no_cert)
{
	int r = SSL_do_handshake(ssl);
	if (r == 1)
		return 1;
	int e = SSL_get_error(ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return 0;
	tls_drain(NULL, NULL, no_cert);
	return -1;
}

/* The client reads what the server sent after its handshake, as a pool's
 * connection does before its first answer: the session tickets (and
 * tls_new_session keeps the newest). Stops when nothing is left. */
static void mem_read_tickets(SSL *c)
{
	unsigned char b[64];
	for (int i = 0; i < LH_MEM_ROUNDS; i++) {
		int r = SSL_read(c, b, sizeof b);
		if (r <= 0)
			break; /* SSL_ERROR_WANT_READ: all taken */
	}
	ERR_clear_error();
}

int lh_tls_handshake_mem(SSL_CTX *client, SSL_CTX *server,
			 const char *expect_id, const char *peer_domain,
			 int64_t at_s, SSL_SESSION *resume,
			 lh_tls_mem_result *res)
{
	lh_tlsc ct, st;
	SSL *c = NULL, *s = NULL;
	BIO *bc = NULL, *bs = NULL;
	int rc = -1, cs = 0, ss = 0, s_nocert = 0;

	memset(res, 0, sizeof *res);
	memset(&ct, 0, sizeof ct);
	memset(&st, 0, sizeof st);
	ct.mem = 1;
	/* The same SSL setup and verify callback as a pool's connection
	 * (the client) and a server's (the server). */
	if (!(c = SSL_new(client)) || !(s = SSL_new(server)) ||
	    tls_setup(c, &ct, 0) < 0 || tls_setup(s, &st, 1) < 0 ||
	    (expect_id && !(ct.expect = strdup(expect_id))) ||
	    (peer_domain && !(st.domain = strdup(peer_domain))))
		goto out;
	/* Certificates are valid or not as at the caller's time, not the
	 * clock's. */
	X509_VERIFY_PARAM_set_time(SSL_get0_param(c), (time_t)at_s);
	X509_VERIFY_PARAM_set_time(SSL_get0_param(s), (time_t)at_s);
	if (BIO_new_bio_pair(&bc, LH_MEM_BIO, &bs, LH_MEM_BIO) != 1)
		goto out;
	SSL_set_bio(c, bc, bc); /* each SSL owns its end now */
	SSL_set_bio(s, bs, bs);
	SSL_set_connect_state(c);
	SSL_set_accept_state(s);
	if (resume && SSL_set_session(c, resume) != 1)
		goto out;

	/* The client moves first; each side then takes what the other
	 * wrote. The first failure stops both, as a socket's close would. */
	for (int i = 0; i < LH_MEM_ROUNDS && cs >= 0 && ss >= 0 &&
	     !(cs == 1 && ss == 1); i++) {
		if (cs == 0)
			cs = mem_step(c, NULL);
		if (cs >= 0 && ss == 0)
			ss = mem_step(s, &s_nocert);
	}

	if (cs == 1 && ss == 1) {
		/* Done: the identities as a pool's connection
		 * (cc_tls_ready) and a server's (sc_tls_ready) check them,
		 * resumed sessions included. */
		X509 *sp = SSL_get0_peer_certificate(c);
		X509 *cp = SSL_get0_peer_certificate(s);
		char sid[TLS_CA_ID_MAX];
		res->resumed = SSL_session_reused(c) == 1;
		if (!sp || tls_ca_peer_id(sp, sid, sizeof sid) < 0 ||
		    (ct.expect && strcmp(sid, ct.expect) != 0)) {
			res->err = LH_ERR_TLS_IDENTITY;
		} else if (!cp || tls_ca_peer_id(cp, res->client_id,
						 sizeof res->client_id) < 0 ||
			   (st.domain &&
			    !tls_in_domain(res->client_id, st.domain))) {
			res->err = LH_ERR_TLS_IDENTITY;
			res->by_server = 1;
			res->client_id[0] = '\0';
		} else {
			mem_read_tickets(c);
			res->ticket = ct.ticket;
			ct.ticket = NULL;
			/* The connection this handshake stands for ends in
			 * good order (close_notify both ways, as a pool's
			 * does): else SSL_free takes the session for a
			 * broken one and marks it not resumable. */
			SSL_set_shutdown(c, SSL_SENT_SHUTDOWN |
					 SSL_RECEIVED_SHUTDOWN);
			SSL_set_shutdown(s, SSL_SENT_SHUTDOWN |
					 SSL_RECEIVED_SHUTDOWN);
		}
	} else if (ct.verr) {
		res->err = ct.verr;     /* the client refused the server */
	} else if (st.verr) {
		res->err = st.verr;     /* the server refused the client */
		res->by_server = 1;
	} else if (s_nocert) {
		res->err = LH_ERR_TLS_NO_CERT;
		res->by_server = 1;
	} else {
		/* Anything else (a bad signature, a protocol mismatch, no
		 * progress): whichever side failed first refused. */
		res->err = LH_ERR_TLS_OTHER;
		res->by_server = ss < 0 && cs >= 0;
	}
	rc = 0;
out:
	SSL_free(c);
	SSL_free(s);
	SSL_SESSION_free(ct.ticket);
	free(ct.expect);
	free(st.domain);
	free(st.peer_id);
	ERR_clear_error();
	return rc;
}
