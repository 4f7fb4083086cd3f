/*
 * live_orch.c - the orchestrator of a live run: start the processes, drive
 * them through the scenario, collect their records, end them all (see
 * live_orch.h for the contract and how teardown is guaranteed).
 *
 * Everything runs on one libevent loop, one thread: readiness polls, the
 * fault schedule, a canary rollout's analyses and weight changes,
 * restarts of crashed apps, signals (SIGINT, SIGTERM, SIGHUP, SIGCHLD) and
 * the admin calls, each bounded by a timeout so that a stopped or wedged
 * process cannot hang the run. The loop is driven by a small state machine
 * (enum phase).
 */
#define _GNU_SOURCE /* prctl, close_range through syscall */
#include "live_orch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "live.h"
#include "live_env.h"
#include "live_http.h"
#include "rec_json.h"
#include "rollout_host.h"
#include "tls_mesh.h"

#define MS ((uint64_t)1000000)
#define SEC ((uint64_t)1000000000)

/* The start of the run is this far after the /start calls go out, so that
 * every process has its time origin before the first request. */
#define T0_LEAD (50 * MS)
/* Admin calls: a connect gives up after this, a call after its timeout. */
#define CONNECT_MS 500
#define CALL_TIMEOUT (2 * SEC)
#define SNAPSHOT_TIMEOUT (10 * SEC)
/* After /quit or SIGTERM, how long processes get before SIGKILL. */
#define QUIT_GRACE (2 * SEC)
/* How often the tick runs: readiness polls, deadlines, progress. */
#define TICK_MS 20
/* Nets tried before giving up. */
#define NET_TRIES 40

enum phase {
	PH_READY = 1, /* processes started, polling GET /ready */
	PH_RUN,       /* /start sent: faults on schedule until the end */
	PH_SNAPSHOT,  /* GET /snapshot from every process */
	PH_METRICS,   /* GET /metrics from every process */
	PH_QUIT,      /* /quit or SIGTERM sent: waiting for the exits */
	PH_DONE,
};

typedef struct orch orch;
typedef struct oproc oproc;
typedef struct ocall ocall;

/* A finished admin call: status is the HTTP status, or -1 when the call
 * failed (connect, reset, timeout, or the process was killed). */
typedef void (*ocall_fn)(ocall *c, int status, const char *body, size_t len);

struct ocall {
	orch *o;
	oproc *p;
	lh_cx *cx;
	struct event *timer;
	struct evbuffer *body;
	int status;
	ocall_fn done;
	uint32_t a, b;      /* the caller's: fault id and state */
	int in_request;     /* inside lh_request: finishing is deferred */
	int early;          /* finished (early_status) while in_request */
	int early_status;
	int disrupted;      /* the orchestrator stopped or killed the callee
			     * while the call was out */
	ocall *prev, *next; /* the process's calls still out */
};

struct oproc {
	orch *o;
	uint32_t pod;
	enum live_kind kind;
	char ip[16];
	uint16_t admin;
	char name[96];         /* the pod's name */
	pid_t pid;             /* > 0 while running (not reaped) */
	pid_t first_pid;
	int ready;             /* answered GET /ready */
	int started;           /* answered POST /start */
	int polling;           /* a GET /ready is out */
	int restarting;        /* an app coming back after a crash */
	int stopped;           /* SIGSTOP sent, SIGCONT not yet */
	int stop_pending;      /* SIGSTOP once it has taken pause stop_fault */
	uint32_t stop_fault;
	int killed;            /* SIGKILLed on purpose (crash), not reaped */
	int gone;              /* died unexpectedly, or gave up on */
	uint32_t crashes;      /* apps: crash faults holding it down now */
	uint32_t pauses;       /* apps: pause faults holding it stopped now */
	uint32_t kills;        /* apps: crashes done */
	uint32_t restarts;     /* apps: came back */
	uint64_t ready_at;
	uint64_t deadline;     /* of the readiness wait */
	lh_pool *pool;
	ocall *calls;
	uint8_t *sent;         /* [nfaults] last sent: 0 off, 1 on, 2 unknown */
	json_t *snapshot;
	char *metrics;
	size_t metrics_len;
	json_t *restart_log;   /* [[down_s, up_s], ...] for the report */
};

typedef struct oswitch {
	uint64_t at;   /* ns after t0 */
	uint32_t fault;
	int on;
} oswitch;

typedef struct ofault {
	int64_t on_ns, off_ns;         /* when switched (after t0); -1: not */
	int64_t on_ack_ns, off_ack_ns; /* last acknowledgement */
	uint32_t acks, failures;
} ofault;

/* One analysis of the rollout: the per-version series gathered from the
 * sidecars (GET /versions) for the controller. Times after t0. */
typedef struct omeasure {
	int64_t t_ns;        /* when the gathering began (its timer fired, at
			      * or just after the time the controller asked
			      * for): the controller's `now` */
	int64_t from_ns;     /* the earliest time it reads */
	int64_t done_ns;     /* every answer in and merged; -1: never */
	uint32_t answers, failures;
	uint64_t bytes;      /* of the answers' bodies */
} omeasure;

/* One change of the rollout's routes, sent to every sidecar (POST
 * /weights), as faults are. */
typedef struct ochange {
	int64_t t_ns;        /* the controller's decision time */
	int64_t sent_ns;
	int64_t acked_ns;    /* the last sidecar's answer; -1: none */
	uint32_t targets, acks, failures;
	double canary;       /* the canary's weight in the default rule */
	json_t *rules;       /* what was sent */
} ochange;

struct orch {
	const model *m;
	const live_orch_opts *opt;
	live_topo topo;
	int have_topo;
	struct event_base *base;
	char exe[4096];
	char scenario[4200];
	char livedir[4200];
	pid_t self;
	pid_t pgid;
	oproc *procs;
	uint32_t nprocs;
	uint32_t *app_of;      /* [ninst] the process of instance k's app */
	enum phase phase;
	uint64_t spawn_t;      /* monotonic ns when the processes were started */
	uint64_t ready_t;      /* ... when every one was ready */
	uint64_t t0;
	uint64_t end;          /* t0 + duration + drain */
	uint64_t quit_deadline;
	uint64_t ready_timeout;
	int rc;                /* exit status decided (0: none yet) */
	int interrupts;
	uint32_t pending;      /* calls out in this phase */
	struct event *tick;
	struct event *sched;
	struct event *sigs[4];
	oswitch *sw;
	uint32_t nsw, next_sw;
	uint8_t *on;           /* [nfaults] desired state */
	ofault *fs;            /* [nfaults] */
	json_t *problems;
	/* The rollout (NULL without one): the controller with the host logic
	 * it shares with the simulator (rollout_host.h). */
	rollout_host *ro;
	struct event *ro_timer;
	uint64_t ro_due;       /* monotonic ns the next analysis is due */
	rec *ro_rec;           /* the analysis under way: merged series */
	int ro_begun;          /* rollout_host_begin was called */
	int ro_routed;         /* the controller changed the routes */
	uint32_t ro_pending;   /* GET /versions out */
	omeasure *meas;
	uint32_t nmeas, cap_meas;
	ochange *chg;
	uint32_t nchg, cap_chg;
	int progress;          /* show a progress line */
	int progress_shown;
	uint64_t last_progress;
	/* Mutual TLS (an "mtls" block): the run's mesh PKI, made once here
	 * and written to a private directory for every sidecar to load, as
	 * istiod's CA is one for the mesh. Its path is random and is said
	 * nowhere in the report. */
	char pki[4200];        /* the directory; "" when there is none */
	uint32_t pki_wait;     /* sidecars that have not loaded it yet */
	int64_t epoch;         /* the wall clock at t0, ns: run time 0 on the
				* certificates' calendar */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

static double secs_since(uint64_t from, uint64_t to)
{
	return ((double)to - (double)from) / 1e9;
}

static const char *kind_name(enum live_kind k)
{
	switch (k) {
	case LIVE_APP: return "app";
	case LIVE_SIDECAR: return "sidecar";
	case LIVE_LOAD: return "load";
	}
	return "?";
}

static void clear_progress(orch *o)
{
	if (o->progress_shown) {
		fprintf(stderr, "\r%*s\r", 79, "");
		o->progress_shown = 0;
	}
}

/* A problem that does not stop the run but makes it BROKEN: said on
 * stderr and listed in the report. */
static void problem(orch *o, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	clear_progress(o);
	fprintf(stderr, "meshsim run --live: %s\n", buf);
	json_array_append_new(o->problems, json_string(buf));
}

static void say(orch *o, const char *fmt, ...)
{
	if (o->opt->quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	clear_progress(o);
	fprintf(stderr, "live: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void log_path(const orch *o, const oproc *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s.log", o->livedir, p->name);
}

/* Print the last lines of pod p's log on stderr. */
static void show_log_tail(const orch *o, const oproc *p)
{
	char path[4400];
	log_path(o, p, path, sizeof path);
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "  (no log at %s)\n", path);
		return;
	}
	char buf[2048];
	long off = 0;
	if (fseek(f, 0, SEEK_END) == 0) {
		long size = ftell(f);
		off = size > (long)sizeof buf - 1 ? size - (long)sizeof buf + 1 : 0;
	}
	fseek(f, off, SEEK_SET);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *s = buf;
	if (off > 0) { /* start at a whole line */
		char *nl = strchr(s, '\n');
		if (nl)
			s = nl + 1;
	}
	fprintf(stderr, "  the end of %s:\n", path);
	if (!*s)
		fprintf(stderr, "    (empty)\n");
	for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n"))
		fprintf(stderr, "    %s\n", line);
}

/* ---- files ---- */

static int mkdirs(const char *dir)
{
	char buf[4200];
	if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(buf, 0777) < 0 && errno != EEXIST)
				return -1;
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

/* ---- the mesh PKI ---- */

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) < 0 && errno != ENOENT)
		fprintf(stderr, "meshsim run --live: %s: cannot remove: %s\n", path,
			strerror(errno));
	return 0;
}

/* Remove the PKI directory and everything in it (without following
 * links). Said on stderr if it fails. */
static void remove_pki(orch *o)
{
	if (!o->pki[0])
		return;
	nftw(o->pki, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	o->pki[0] = '\0';
}

/* Make the mesh's CAs (tls_mesh.h) and write them into a new private
 * directory (mkdtemp: mode 0700; keys 0600) under $TMPDIR or /tmp. The
 * calendar here is today's; the sidecars load them on the run's (the wall
 * clock at t0) when the run starts. Returns 0, -1 (said on stderr). */
static int make_pki(orch *o)
{
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = "/tmp";
	if (snprintf(o->pki, sizeof o->pki, "%s/meshsim-pki.XXXXXX", tmp) >=
	    (int)sizeof o->pki) {
		o->pki[0] = '\0';
		fprintf(stderr, "meshsim run --live: TMPDIR is too long a path\n");
		return -1;
	}
	if (!mkdtemp(o->pki)) {
		fprintf(stderr, "meshsim run --live: cannot make a directory for the mesh "
				"PKI under %s: %s\n", tmp, strerror(errno));
		o->pki[0] = '\0';
		return -1;
	}
	char err[1024];
	tls_mesh *t = tls_mesh_new(o->m, o->m->seed, live_wall_ns_at(mono_ns()), NULL,
				   NULL, err, sizeof err);
	if (!t || tls_mesh_write(t, o->pki, err, sizeof err) < 0) {
		fprintf(stderr, "meshsim run --live: the mesh PKI (\"mtls\"): %s\n", err);
		tls_mesh_free(t);
		remove_pki(o);
		return -1;
	}
	tls_mesh_free(t);
	for (uint32_t i = 0; i < o->nprocs; i++)
		if (o->procs[i].kind == LIVE_SIDECAR)
			o->pki_wait++;
	return 0;
}

/* ---- the net ---- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Can a listener be had on ip:port now? Binds and listens a test socket
 * (SO_REUSEADDR, as the agents' listeners: a port left in TIME_WAIT by an
 * earlier run is fine) and closes it at once. */
static int port_free(const char *ip, uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int one = 1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	int ok = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
		 inet_pton(AF_INET, ip, &sa.sin_addr) == 1 &&
		 bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(fd, 1) == 0;
	close(fd);
	return ok;
}

static const uint16_t instance_ports[] = {LIVE_PORT_APP, LIVE_PORT_APP_ADMIN,
					  LIVE_PORT_ADMIN, LIVE_PORT_OUTBOUND,
					  LIVE_PORT_INBOUND};
static const uint16_t client_ports[] = {LIVE_PORT_ADMIN, LIVE_PORT_OUTBOUND,
					LIVE_PORT_INBOUND};
static const uint16_t load_ports[] = {LIVE_PORT_APP_ADMIN};

/* Every address:port the run will listen on is free on net t->net. */
static int net_free(const live_topo *t)
{
	for (uint32_t p = 0; p < t->npods; p++) {
		char ip[16];
		live_pod_ip(t, p, ip);
		const uint16_t *ports = p < t->ninst ? instance_ports
					: p < t->npods - 1 ? client_ports : load_ports;
		size_t n = p < t->ninst ? sizeof instance_ports / sizeof *ports
			   : p < t->npods - 1 ? sizeof client_ports / sizeof *ports
					      : sizeof load_ports / sizeof *ports;
		for (size_t i = 0; i < n; i++)
			if (!port_free(ip, ports[i]))
				return 0;
	}
	return 1;
}

/* Draw B in 16..250 until every address:port of the run is free on
 * 127.B.0.0/16. Runs side by side draw different nets with high odds, and
 * the check catches the rest (but for a race between two runs' checks and
 * binds, which then shows as a process that does not come up). */
static int choose_net(orch *o)
{
	uint64_t seed = mono_ns() ^ ((uint64_t)getpid() << 32);
	for (int i = 0; i < NET_TRIES; i++) {
		unsigned b = 16 + (unsigned)(splitmix64(&seed) % 235);
		if (live_topo_init(&o->topo, o->m, b) < 0) {
			fprintf(stderr, "meshsim run --live: out of memory\n");
			return -1;
		}
		if (net_free(&o->topo)) {
			o->have_topo = 1;
			return 0;
		}
		live_topo_destroy(&o->topo);
	}
	fprintf(stderr, "meshsim run --live: no free net: tried %d nets 127.B.0.0/16 "
			"and each had an address:port in use\n", NET_TRIES);
	return -1;
}

/* ---- processes ---- */

static void close_fds_from(int lowfd)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)lowfd, ~0u, 0u) == 0)
		return;
#endif
	long max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = lowfd; fd < max; fd++)
		close(fd);
}

/* Start process p: fork, and exec this binary as `meshsim agent KIND FILE
 * --net B --pod P --seed N` in the child. Returns 0, -1 (said on stderr). */
static int spawn(orch *o, oproc *p)
{
	char net[16], pod[16], seed[32], dur[32];
	snprintf(net, sizeof net, "%u", o->topo.net);
	snprintf(pod, sizeof pod, "%u", p->pod);
	snprintf(seed, sizeof seed, "%" PRIu64, o->m->seed);
	/* The agents load the scenario file themselves; the seed and the
	 * duration as run are passed, in case they were overridden. */
	snprintf(dur, sizeof dur, "%" PRIu64 "ns", (uint64_t)o->m->duration);
	char *argv[] = {o->exe, (char *)"agent", (char *)kind_name(p->kind),
			o->scenario, (char *)"--net", net, (char *)"--pod", pod,
			(char *)"--seed", seed, (char *)"--duration", dur, NULL, NULL,
			NULL};
	int pki = p->kind == LIVE_SIDECAR && o->pki[0];
	if (pki) {
		/* The sidecars load the mesh PKI (mutual TLS) from here. */
		argv[12] = (char *)"--pki";
		argv[13] = o->pki;
	}
	char path[4400];
	log_path(o, p, path, sizeof path);
	int logfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (logfd < 0 || nullfd < 0) {
		fprintf(stderr, "meshsim run --live: %s: %s\n",
			logfd < 0 ? path : "/dev/null", strerror(errno));
		if (logfd >= 0)
			close(logfd);
		if (nullfd >= 0)
			close(nullfd);
		return -1;
	}
	/* What the log shows first: which process this is. */
	dprintf(logfd, "== meshsim agent %s %s --net %s --pod %s --seed %s --duration %s%s%s\n",
		kind_name(p->kind), o->scenario, net, pod, seed, dur,
		pki ? " --pki " : "", pki ? o->pki : "");
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "meshsim run --live: fork: %s\n", strerror(errno));
		close(logfd);
		close(nullfd);
		return -1;
	}
	if (pid == 0) {
		/* The child: only async-signal-safe calls until exec. One
		 * process group for the run, so one killpg ends it all. */
		if (setpgid(0, o->pgid) < 0)
			_exit(127);
		/* Die with the orchestrator, even one killed by SIGKILL; if it
		 * died before this line, getppid() tells. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != o->self)
			_exit(127);
		if (dup2(nullfd, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
			_exit(127);
		close_fds_from(3);
		/* Start the agent as if from a shell: no blocked signals, and
		 * SIGPIPE as the default (the orchestrator ignores it). */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		execv(o->exe, argv);
		static const char msg[] = "meshsim run --live: exec failed\n";
		if (write(2, msg, sizeof msg - 1) < 0)
			_exit(127);
		_exit(127);
	}
	/* The parent sets the group too, so that it is set before any killpg
	 * whichever of the two runs first (EACCES: the child has exec'd and
	 * set it itself). */
	if (o->pgid == 0)
		o->pgid = pid;
	if (setpgid(pid, o->pgid) < 0 && errno != EACCES && errno != ESRCH)
		fprintf(stderr, "meshsim run --live: setpgid: %s\n", strerror(errno));
	close(logfd);
	close(nullfd);
	p->pid = pid;
	if (!p->first_pid)
		p->first_pid = pid;
	p->ready = p->started = p->polling = p->stopped = 0;
	memset(p->sent, 0, o->m->nfaults ? o->m->nfaults : 1);
	return 0;
}

/* ---- admin calls ---- */

static void call_finish(ocall *c, int status);

static void call_on_response(void *arg, lh_cx *x, const lh_head *h)
{
	(void)x;
	ocall *c = arg;
	c->status = h->status;
}

static void call_on_body(void *arg, lh_cx *x, struct evbuffer *chunk)
{
	(void)x;
	ocall *c = arg;
	evbuffer_add_buffer(c->body, chunk);
}

static void call_on_end(void *arg, lh_cx *x)
{
	(void)x;
	ocall *c = arg;
	c->cx = NULL;
	call_finish(c, c->status);
}

static void call_on_error(void *arg, lh_cx *x, int err)
{
	(void)x;
	(void)err;
	ocall *c = arg;
	c->cx = NULL;
	call_finish(c, -1);
}

static const lh_client_cbs call_cbs = {
	.on_response = call_on_response,
	.on_body = call_on_body,
	.on_end = call_on_end,
	.on_error = call_on_error,
};

static void call_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ocall *c = arg;
	if (c->cx)
		lh_cx_cancel(c->cx);
	c->cx = NULL;
	call_finish(c, -1);
}

static void call_finish(ocall *c, int status)
{
	if (c->in_request) {
		/* lh_request called back before it returned: finish after. */
		c->early = 1;
		c->early_status = status;
		return;
	}
	oproc *p = c->p;
	if (c->prev)
		c->prev->next = c->next;
	else
		p->calls = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->timer)
		event_free(c->timer);
	size_t len = evbuffer_get_length(c->body);
	const char *body = len ? (const char *)evbuffer_pullup(c->body, -1) : "";
	if (c->done)
		c->done(c, status, body, len);
	evbuffer_free(c->body);
	free(c);
}

/* Call `method target` on p's admin port, with body[len] (JSON; none when
 * len is 0); `done` gets the outcome (always, exactly once, possibly
 * before this returns when p cannot be called). */
static void call_body(oproc *p, const char *method, const char *target,
		      const char *body, size_t len, uint64_t timeout,
		      ocall_fn done, uint32_t a, uint32_t b)
{
	orch *o = p->o;
	ocall *c = calloc(1, sizeof *c);
	if (!c) {
		if (done) {
			ocall tmp = {.o = o, .p = p, .a = a, .b = b};
			done(&tmp, -1, "", 0);
		}
		return;
	}
	c->o = o;
	c->p = p;
	c->done = done;
	c->a = a;
	c->b = b;
	c->body = evbuffer_new();
	c->timer = evtimer_new(o->base, call_timeout, c);
	c->next = p->calls;
	if (p->calls)
		p->calls->prev = c;
	p->calls = c;
	if (!p->pool)
		p->pool = lh_pool_new(o->base, p->ip, p->admin, 1, CONNECT_MS);
	if (!c->body || !c->timer || !p->pool) {
		call_finish(c, -1);
		return;
	}
	struct timeval tv = {.tv_sec = (time_t)(timeout / SEC),
			     .tv_usec = (suseconds_t)(timeout % SEC / 1000)};
	evtimer_add(c->timer, &tv);
	lh_head h;
	lh_head_init(&h);
	snprintf(h.method, sizeof h.method, "%s", method);
	h.major = 1;
	h.minor = 1;
	h.content_length = (int64_t)len;
	char host[32];
	snprintf(host, sizeof host, "%s:%u", p->ip, p->admin);
	if (lh_head_set_target(&h, target) < 0 || lh_head_add(&h, "Host", host) < 0 ||
	    (len && lh_head_add(&h, "Content-Type", "application/json") < 0)) {
		lh_head_clear(&h);
		call_finish(c, -1);
		return;
	}
	/* Callbacks that come while the request is being made are held
	 * (in_request) and run after it. */
	c->in_request = 1;
	c->cx = lh_request(p->pool, &h, &call_cbs, c);
	if (c->cx && !c->early) {
		if (!len) {
			lh_cx_body_end(c->cx); /* no body */
		} else {
			/* The body ends by itself at its Content-Length. */
			struct evbuffer *eb = evbuffer_new();
			if (!eb || evbuffer_add(eb, body, len) < 0 || lh_cx_body(c->cx, eb) < 0) {
				if (!c->early) {
					c->early = 1;
					c->early_status = -1;
					lh_cx_cancel(c->cx);
				}
			}
			if (eb)
				evbuffer_free(eb);
		}
	}
	c->in_request = 0;
	lh_head_clear(&h);
	if (c->early) {
		c->cx = NULL;
		call_finish(c, c->early_status);
		return;
	}
	if (!c->cx)
		call_finish(c, -1);
}

static void call(oproc *p, const char *method, const char *target,
		 uint64_t timeout, ocall_fn done, uint32_t a, uint32_t b)
{
	call_body(p, method, target, NULL, 0, timeout, done, a, b);
}

/* End every call out to p (each gets -1 when `notify`), and close its
 * connections: p was killed, or the run is over. */
static void drop_calls(oproc *p, int notify)
{
	while (p->calls) {
		ocall *c = p->calls;
		if (c->cx)
			lh_cx_cancel(c->cx);
		c->cx = NULL;
		if (!notify)
			c->done = NULL;
		call_finish(c, -1);
	}
	if (p->pool) {
		lh_pool_free(p->pool);
		p->pool = NULL;
	}
}

/* ---- the run's phases ---- */

static void teardown(orch *o, int rc, int sig);
static void begin_snapshot(orch *o);
static void begin_metrics(orch *o);
static void begin_quit(orch *o);
static void sync_faults(oproc *p);

static int all_reaped(const orch *o)
{
	for (uint32_t i = 0; i < o->nprocs; i++)
		if (o->procs[i].pid > 0)
			return 0;
	return 1;
}

static void check_quit_done(orch *o)
{
	if (o->phase == PH_QUIT && all_reaped(o)) {
		o->phase = PH_DONE;
		event_base_loopbreak(o->base);
	}
}

/* A process can take admin calls now. */
static int reachable(const oproc *p)
{
	return p->pid > 0 && p->ready && !p->killed && !p->gone && !p->stopped;
}

static void stop_app(oproc *p);

static void on_fault_ack(ocall *c, int status, const char *body, size_t len)
{
	(void)body;
	(void)len;
	orch *o = c->o;
	oproc *p = c->p;
	ofault *f = &o->fs[c->a];
	/* The app has frozen its work for this pause (or could not be
	 * told): now stop the process itself. */
	if (p->stop_pending && c->b && c->a == p->stop_fault) {
		p->stop_pending = 0;
		if (p->pauses && !p->crashes)
			stop_app(p);
	}
	if (status == 200) {
		f->acks++;
		int64_t t = (int64_t)(mono_ns() - o->t0);
		int64_t *ack = c->b ? &f->on_ack_ns : &f->off_ack_ns;
		if (t > *ack)
			*ack = t;
		return;
	}
	/* Not known to have taken it: sent again when p can take calls
	 * (after a SIGCONT or once it is back). A failure of a process that
	 * is up and running is a problem of the run. */
	p->sent[c->a] = 2;
	if (c->disrupted)
		return; /* it was stopped or killed: not its failure */
	f->failures++;
	if (status >= 0 || (reachable(p) && o->phase == PH_RUN))
		problem(o, "%s (%s) did not take fault %u %s: %s", p->name,
			kind_name(p->kind), c->a, c->b ? "on" : "off",
			status < 0 ? "no answer" : "an error status");
}

static void send_fault(oproc *p, uint32_t i, int on)
{
	char target[64];
	snprintf(target, sizeof target, "/faults?id=%u&on=%d", i, on);
	p->sent[i] = (uint8_t)on;
	call(p, "POST", target, CALL_TIMEOUT, on_fault_ack, i, (uint32_t)on);
}

/* Bring p's faults to the desired state: after a restart or a SIGCONT. */
static void sync_faults(oproc *p)
{
	orch *o = p->o;
	for (uint32_t i = 0; i < o->m->nfaults; i++)
		if (p->sent[i] != o->on[i])
			send_fault(p, i, o->on[i]);
}

static void mark_disrupted(oproc *p)
{
	for (ocall *c = p->calls; c; c = c->next)
		c->disrupted = 1;
}

static void stop_app(oproc *p)
{
	mark_disrupted(p);
	if (p->pid > 0 && !p->stopped && kill(p->pid, SIGSTOP) == 0)
		p->stopped = 1;
}

static void cont_app(oproc *p)
{
	if (p->pid > 0 && p->stopped) {
		kill(p->pid, SIGCONT);
		p->stopped = 0;
	}
}

/* Pause app p: first POST the pause to it, so that its agent freezes its
 * work (each step then ends at resume plus the time it had left, as in
 * the simulator, instead of all at once when the process wakes), then
 * SIGSTOP it when it has answered (on_fault_ack). */
static void pause_app(orch *o, oproc *p)
{
	const model *m = o->m;
	uint32_t svc = o->topo.pod_service[p->pod];
	for (uint32_t i = 0; i < m->nfaults; i++) {
		const model_fault *f = &m->faults[i];
		if (o->on[i] && f->kind == FAULT_PAUSE && p->sent[i] == 1 &&
		    model_fault_targets(m, f, svc, p->pod - o->topo.first[svc])) {
			p->stop_pending = 1;
			p->stop_fault = i;
			return;
		}
	}
	stop_app(p); /* nothing to wait for */
}

static void on_restart_started(ocall *c, int status, const char *body, size_t len)
{
	(void)body;
	(void)len;
	oproc *p = c->p;
	orch *o = c->o;
	if (!p->restarting || p->pid <= 0)
		return;
	if (status != 200) {
		problem(o, "%s (app) came back but did not take /start", p->name);
		return;
	}
	p->restarting = 0;
	p->started = 1;
	p->restarts++;
	json_t *ev = json_array_get(p->restart_log, json_array_size(p->restart_log) - 1);
	if (ev)
		json_array_append_new(ev, json_real(round(secs_since(o->t0, mono_ns()) * 1e4) / 1e4));
	sync_faults(p);
	/* A pause that began while it was down holds it now, once the app
	 * has taken it (sync_faults has just sent it). */
	if (p->pauses)
		pause_app(o, p);
}

static void send_start(oproc *p, ocall_fn done);
static void start_all(orch *o);

static void on_ready(ocall *c, int status, const char *body, size_t len)
{
	(void)body;
	(void)len;
	oproc *p = c->p;
	orch *o = c->o;
	p->polling = 0;
	if (status != 200 || p->pid <= 0 || p->killed || p->ready)
		return;
	p->ready = 1;
	p->ready_at = mono_ns();
	if (p->restarting && o->phase == PH_RUN) {
		send_start(p, on_restart_started);
		return;
	}
	if (o->phase != PH_READY)
		return;
	for (uint32_t i = 0; i < o->nprocs; i++)
		if (!o->procs[i].ready)
			return;
	/* Everyone is up: start. */
	start_all(o);
}

static void on_started(ocall *c, int status, const char *body, size_t len)
{
	(void)body;
	(void)len;
	oproc *p = c->p;
	orch *o = c->o;
	if (status == 200) {
		p->started = 1;
		/* Every sidecar holds the PKI in memory now: the CA's keys
		 * need not stay on disk for the rest of the run. */
		if (p->kind == LIVE_SIDECAR && o->pki[0] && o->pki_wait && --o->pki_wait == 0)
			remove_pki(o);
		return;
	}
	if (o->phase >= PH_SNAPSHOT || p->gone || p->killed || p->kills)
		return;
	clear_progress(o);
	fprintf(stderr, "meshsim run --live: %s (%s) did not take /start (%s)\n",
		p->name, kind_name(p->kind), status < 0 ? "no answer" : "error status");
	show_log_tail(o, p);
	teardown(o, 3, 0);
}

static void send_start(oproc *p, ocall_fn done)
{
	char target[96];
	snprintf(target, sizeof target, "/start?t0=%" PRIu64 "&epoch=%" PRId64,
		 p->o->t0, p->o->epoch);
	call(p, "POST", target, CALL_TIMEOUT, done, 0, 0);
}

static void arm_sched(orch *o);
static void ro_arm(orch *o, mesh_time at);

/* Every process answered /ready: give them t0 and go. */
static void start_all(orch *o)
{
	o->ready_t = mono_ns();
	o->phase = PH_RUN;
	o->t0 = o->ready_t + T0_LEAD;
	/* Live mode's calendar: run time 0 is the wall clock at t0. With
	 * mutual TLS, t0 waits for the next whole second of it (the
	 * simulator's epoch is a whole second too): X.509 counts whole
	 * seconds, so every certificate's validity then falls on the same
	 * seconds of run time as in the simulator (the certificate timeline
	 * of the two reports agrees), and a certificate's real lifetime is
	 * the whole ttl, not up to a second less. */
	o->epoch = live_wall_ns_at(o->t0);
	if (o->m->mtls.enabled) {
		int64_t pad = (1000000000 - o->epoch % 1000000000) % 1000000000;
		o->t0 += (uint64_t)pad;
		o->epoch += pad;
	}
	o->end = o->t0 + o->m->duration + o->m->drain;
	say(o, "%u processes up in %.2fs on 127.%u.0.0/16; running for %.1fs + %.1fs drain",
	    o->nprocs, secs_since(o->spawn_t, o->ready_t), o->topo.net,
	    (double)o->m->duration / 1e9, (double)o->m->drain / 1e9);
	for (uint32_t i = 0; i < o->nprocs; i++)
		send_start(&o->procs[i], on_started);
	arm_sched(o);
	if (o->ro)
		ro_arm(o, o->m->rollout->start);
}

/* ---- faults ---- */

static int cmp_switch(const void *a, const void *b)
{
	const oswitch *x = a, *y = b;
	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	/* At equal times: ends first (a fault that ends where another
	 * begins frees its instance first), then scenario order. */
	if (x->on != y->on)
		return x->on - y->on;
	return x->fault < y->fault ? -1 : x->fault > y->fault;
}

static int build_switches(orch *o)
{
	const model *m = o->m;
	o->sw = calloc(2 * (size_t)m->nfaults + 1, sizeof *o->sw);
	if (!o->sw)
		return -1;
	mesh_time stop = m->duration + m->drain;
	for (uint32_t i = 0; i < m->nfaults; i++) {
		const model_fault *f = &m->faults[i];
		if (f->start >= stop)
			continue;
		o->sw[o->nsw++] = (oswitch){.at = f->start, .fault = i, .on = 1};
		if (f->end != MESH_NEVER && f->end < stop)
			o->sw[o->nsw++] = (oswitch){.at = f->end, .fault = i, .on = 0};
	}
	qsort(o->sw, o->nsw, sizeof *o->sw, cmp_switch);
	return 0;
}

/* Kill an app for a crash: SIGKILL (a stopped process dies too), as a
 * container's process killed by the kernel or `kill -9`. */
static void crash_app(orch *o, oproc *p)
{
	mark_disrupted(p);
	if (p->pid > 0 && !p->killed) {
		kill(p->pid, SIGKILL);
		p->killed = 1;
		p->kills++;
		json_array_append_new(p->restart_log,
				      json_pack("[f]", round(secs_since(o->t0, mono_ns()) * 1e4) / 1e4));
	}
	p->ready = p->started = p->stopped = 0;
	p->restarting = 0;
	p->polling = 0;
	drop_calls(p, 1);
}

static void restart_app(orch *o, oproc *p)
{
	if (p->gone)
		return;
	/* The killed process may not be reaped yet: reap it here (SIGKILL is
	 * quick), so that its ports are closed before the new one binds
	 * them and no stale pid is left behind. */
	p->killed = 0;
	pid_t old = p->pid;
	p->pid = 0;
	if (old > 0) {
		int st;
		while (waitpid(old, &st, 0) < 0 && errno == EINTR)
			;
	}
	if (spawn(o, p) < 0) {
		problem(o, "%s (app) could not be started again", p->name);
		p->gone = 1;
		return;
	}
	p->restarting = 1;
	p->deadline = mono_ns() + o->ready_timeout;
}

/* Switch fault i on or off: the orchestrator's own part (crash, pause),
 * then every process that can take it is told. */
static void switch_fault(orch *o, uint32_t i, int on)
{
	const model *m = o->m;
	const model_fault *f = &m->faults[i];
	uint64_t now = mono_ns();
	o->on[i] = (uint8_t)on;
	if (on)
		o->fs[i].on_ns = (int64_t)(now - o->t0);
	else
		o->fs[i].off_ns = (int64_t)(now - o->t0);
	if ((f->kind == FAULT_CRASH || f->kind == FAULT_PAUSE) &&
	    f->service < m->nservices) {
		const model_service *s = &m->services[f->service];
		for (uint32_t j = 0; j < s->replicas; j++) {
			if (!model_fault_targets(m, f, f->service, j))
				continue;
			oproc *p = &o->procs[o->app_of[o->topo.first[f->service] + j]];
			if (f->kind == FAULT_CRASH) {
				/* Overlapping crashes: down from the first start
				 * to the last end. */
				if (on && p->crashes++ == 0)
					crash_app(o, p);
				else if (!on && p->crashes && --p->crashes == 0)
					restart_app(o, p);
			} else {
				/* Overlapping pauses: stopped from the first
				 * start to the last end. A crashed app is dead:
				 * it is stopped once it is back, if a pause is
				 * still on then. */
				if (on && p->pauses++ == 0 && !p->crashes && p->started) {
					/* Stopped once it has taken the pause,
					 * sent below (see pause_app). */
					p->stop_pending = 1;
					p->stop_fault = i;
				} else if (!on && p->pauses && --p->pauses == 0) {
					p->stop_pending = 0;
					if (p->stopped) {
						cont_app(p);
						sync_faults(p);
					}
				}
			}
		}
	}
	for (uint32_t k = 0; k < o->nprocs; k++) {
		oproc *p = &o->procs[k];
		if (reachable(p) && p->started)
			send_fault(p, i, on);
	}
}

static void sched_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	orch *o = arg;
	if (o->phase != PH_RUN)
		return;
	uint64_t now = mono_ns();
	while (o->next_sw < o->nsw && o->t0 + o->sw[o->next_sw].at <= now) {
		const oswitch *s = &o->sw[o->next_sw++];
		switch_fault(o, s->fault, s->on);
		if (o->phase != PH_RUN)
			return;
	}
	if (now >= o->end) {
		begin_snapshot(o);
		return;
	}
	arm_sched(o);
}

/* Arm the schedule's timer for the next fault switch or the end. */
static void arm_sched(orch *o)
{
	uint64_t at = o->end;
	if (o->next_sw < o->nsw && o->t0 + o->sw[o->next_sw].at < at)
		at = o->t0 + o->sw[o->next_sw].at;
	uint64_t now = mono_ns();
	uint64_t d = at > now ? at - now : 0;
	struct timeval tv = {.tv_sec = (time_t)(d / SEC),
			     .tv_usec = (suseconds_t)((d % SEC + 999) / 1000)};
	evtimer_add(o->sched, &tv);
}

/* ---- the rollout ----
 *
 * The same controller as the simulator's, with the same host logic
 * (rollout_host.h), on real time since t0. At each time the controller
 * asks for, the orchestrator gathers the per-version series of the
 * rollout's service from every sidecar (GET /versions: the callers'
 * sidecars record every call they route to a version; the others answer
 * empty series) from the earliest time the analysis reads, merges them
 * into a fresh recorder, and runs the controller on it with `now` the time
 * the gathering began: every call that ended before it is in some
 * sidecar's answer. When the controller changes the routes, the new rules
 * go to every sidecar (POST /weights), and the times they were sent and
 * acknowledged are kept for the report, as for faults. */

static void ro_timer_cb(evutil_socket_t fd, short what, void *arg);

/* Run the next analysis at `at` (after t0), if the run is still going. */
static void ro_arm(orch *o, mesh_time at)
{
	uint64_t when = o->t0 + at;
	if (when >= o->end)
		return;
	o->ro_due = when;
	uint64_t now = mono_ns();
	uint64_t d = when > now ? when - now : 0;
	struct timeval tv = {.tv_sec = (time_t)(d / SEC),
			     .tv_usec = (suseconds_t)((d % SEC + 999) / 1000)};
	evtimer_add(o->ro_timer, &tv);
}

static void *grow_array(void *a, uint32_t *cap, uint32_t n, size_t size)
{
	if (n < *cap)
		return a;
	uint32_t c = *cap ? 2 * *cap : 16;
	void *b = realloc(a, (size_t)c * size);
	if (b)
		*cap = c;
	return b;
}

static void on_weights_ack(ocall *c, int status, const char *body, size_t len)
{
	(void)body;
	(void)len;
	orch *o = c->o;
	ochange *ch = &o->chg[c->a];
	if (status == 200) {
		ch->acks++;
		int64_t t = (int64_t)(mono_ns() - o->t0);
		if (t > ch->acked_ns)
			ch->acked_ns = t;
		return;
	}
	ch->failures++;
	if (o->phase == PH_RUN)
		problem(o, "%s (sidecar) did not take the rollout's weights: %s",
			c->p->name, status < 0 ? "no answer" : "an error status");
}

/* The rollout's rules as POST /weights wants them. */
static json_t *rules_json(const orch *o, double *canary)
{
	const model_rollout *ro = o->m->rollout;
	const model_service *s = &o->m->services[ro->service];
	uint32_t n;
	const model_rule *rules = rollout_host_rules(o->ro, &n);
	json_t *a = json_array();
	for (uint32_t i = 0; a && i < n; i++) {
		json_t *w = json_object();
		for (uint32_t k = 0; w && k < rules[i].nsplits; k++)
			json_object_set_new(w, s->versions[rules[i].splits[k].version].name,
					    json_real(rules[i].splits[k].weight));
		json_array_append_new(a, json_pack("{s:I, s:o, s:f}", "rule", (json_int_t)i,
						   "weights", w, "mirror",
						   rules[i].mirror_percent));
	}
	*canary = rules[ro->rule_default].splits[1].weight;
	return a;
}

/* Send the rules as they are now to every sidecar. */
static void send_weights(orch *o, mesh_time now)
{
	ochange *c = grow_array(o->chg, &o->cap_chg, o->nchg, sizeof *c);
	if (!c) {
		problem(o, "out of memory sending the rollout's weights");
		return;
	}
	o->chg = c;
	c += o->nchg;
	memset(c, 0, sizeof *c);
	c->t_ns = (int64_t)now;
	c->acked_ns = -1;
	c->rules = rules_json(o, &c->canary);
	json_t *body = json_pack("{s:s, s:O}", "service",
				 o->m->services[o->m->rollout->service].name, "rules",
				 c->rules);
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!c->rules || !text) {
		json_decref(c->rules);
		free(text);
		problem(o, "out of memory sending the rollout's weights");
		return;
	}
	uint32_t idx = o->nchg++;
	c->sent_ns = (int64_t)(mono_ns() - o->t0);
	for (uint32_t i = 0; i < o->nprocs; i++) {
		oproc *p = &o->procs[i];
		if (p->kind != LIVE_SIDECAR || !reachable(p) || !p->started)
			continue;
		o->chg[idx].targets++;
		call_body(p, "POST", "/weights", text, strlen(text), CALL_TIMEOUT,
			  on_weights_ack, idx, 0);
	}
	free(text);
}

static void on_routed(void *arg)
{
	((orch *)arg)->ro_routed = 1;
}

/* Every sidecar answered (or failed): run the controller on what came. */
static void ro_analyse(orch *o)
{
	omeasure *ms = &o->meas[o->nmeas - 1];
	mesh_time now = (mesh_time)ms->t_ns;
	ms->done_ns = (int64_t)(mono_ns() - o->t0);
	rollout_host_set_rec(o->ro, o->ro_rec);
	o->ro_routed = 0;
	mesh_time next = o->ro_begun ? rollout_host_tick(o->ro, now)
				     : rollout_host_begin(o->ro, now);
	o->ro_begun = 1;
	rollout_host_set_rec(o->ro, NULL);
	rec_free(o->ro_rec);
	o->ro_rec = NULL;
	if (o->ro_routed)
		send_weights(o, now);
	if (rollout_host_decided(o->ro)) {
		const rollout_log *l = rollout_host_log(o->ro);
		say(o, "rollout %s at %.3fs: %s", ro_verdict_name(l->verdict),
		    (double)l->decided_at / 1e9, l->reason);
		return;
	}
	if (next != MESH_NEVER)
		ro_arm(o, next > now ? next : now);
}

static void on_versions(ocall *c, int status, const char *body, size_t len)
{
	orch *o = c->o;
	oproc *p = c->p;
	if (o->phase != PH_RUN || !o->ro_rec || c->a + 1 != o->nmeas)
		return; /* the run ended meanwhile */
	omeasure *ms = &o->meas[c->a];
	char err[512] = "";
	if (status == 200) {
		json_error_t je;
		json_t *j = json_loadb(body, len, 0, &je);
		json_t *v = j ? json_object_get(j, "versions") : NULL;
		if (!v)
			snprintf(err, sizeof err, "/versions is not per-version series: %s",
				 j ? "no \"versions\" member" : je.text);
		else if (rec_merge_versions_json(o->ro_rec, v, err, sizeof err) == 0)
			err[0] = '\0';
		json_decref(j);
		ms->bytes += len;
	} else {
		snprintf(err, sizeof err, "no /versions (%s)",
			 status < 0 ? "no answer" : "an error status");
	}
	if (err[0]) {
		ms->failures++;
		problem(o, "%s (sidecar): the rollout's analysis at %.3fs misses its "
			   "calls: %s", p->name, (double)ms->t_ns / 1e9, err);
	} else {
		ms->answers++;
	}
	if (--o->ro_pending == 0)
		ro_analyse(o);
}

static void ro_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	orch *o = arg;
	if (o->phase != PH_RUN)
		return;
	/* libevent counts a timer from the loop's cached time, which may be
	 * behind when it was armed: never measure before the time is due, or
	 * the window would end a step early. */
	uint64_t mono = mono_ns();
	if (mono < o->ro_due) {
		uint64_t d = o->ro_due - mono;
		struct timeval tv = {.tv_sec = (time_t)(d / SEC),
				     .tv_usec = (suseconds_t)((d % SEC + 999) / 1000)};
		evtimer_add(o->ro_timer, &tv);
		return;
	}
	mesh_time now = (mesh_time)(mono - o->t0);
	omeasure *ms = grow_array(o->meas, &o->cap_meas, o->nmeas, sizeof *ms);
	rec *r = rec_new(o->m);
	if (!ms || !r) {
		rec_free(r);
		problem(o, "out of memory: the rollout's analysis at %.3fs did not run",
			(double)now / 1e9);
		return;
	}
	rec_keep_seconds(r);
	o->meas = ms;
	ms += o->nmeas;
	memset(ms, 0, sizeof *ms);
	ms->t_ns = (int64_t)now;
	ms->from_ns = (int64_t)rollout_host_lookback(o->ro, now);
	ms->done_ns = -1;
	uint32_t idx = o->nmeas++;
	o->ro_rec = r;
	char target[64];
	snprintf(target, sizeof target, "/versions?from=%" PRId64, ms->from_ns);
	o->ro_pending = 1; /* held until every call is out */
	for (uint32_t i = 0; i < o->nprocs; i++) {
		oproc *p = &o->procs[i];
		if (p->kind != LIVE_SIDECAR || !reachable(p) || !p->started)
			continue;
		o->ro_pending++;
		call(p, "GET", target, CALL_TIMEOUT, on_versions, idx, 0);
		if (o->phase != PH_RUN)
			return;
	}
	if (--o->ro_pending == 0)
		ro_analyse(o);
}

/* ---- the end ---- */

static void on_snapshot(ocall *c, int status, const char *body, size_t len)
{
	oproc *p = c->p;
	orch *o = c->o;
	if (status == 200) {
		json_error_t je;
		json_t *j = json_loadb(body, len, 0, &je);
		if (!j || !json_is_object(j) || !json_object_get(j, "rec")) {
			problem(o, "%s (%s): /snapshot is not a snapshot: %s", p->name,
				kind_name(p->kind), j ? "no \"rec\" member" : je.text);
			json_decref(j);
		} else {
			json_decref(p->snapshot);
			p->snapshot = j;
		}
	} else if (o->phase == PH_SNAPSHOT) {
		problem(o, "%s (%s): no snapshot (%s); its records are missing from the report",
			p->name, kind_name(p->kind), status < 0 ? "no answer" : "error status");
	}
	if (o->phase == PH_SNAPSHOT && --o->pending == 0)
		begin_metrics(o);
}

static void begin_snapshot(orch *o)
{
	o->phase = PH_SNAPSHOT;
	/* Paused apps go on, so that they can answer. The run is over: what
	 * they do now is not recorded by anyone who counts. */
	for (uint32_t i = 0; i < o->nprocs; i++)
		cont_app(&o->procs[i]);
	o->pending = 1; /* held until every call is out */
	for (uint32_t i = 0; i < o->nprocs; i++) {
		oproc *p = &o->procs[i];
		if (p->pid > 0 && p->ready && p->started && !p->killed) {
			o->pending++;
			call(p, "GET", "/snapshot", SNAPSHOT_TIMEOUT, on_snapshot, 0, 0);
		}
	}
	if (o->phase == PH_SNAPSHOT && --o->pending == 0)
		begin_metrics(o);
}

static void on_metrics(ocall *c, int status, const char *body, size_t len)
{
	oproc *p = c->p;
	orch *o = c->o;
	if (status == 200) {
		free(p->metrics);
		p->metrics = malloc(len + 1);
		if (p->metrics) {
			memcpy(p->metrics, body, len);
			p->metrics[len] = '\0';
			p->metrics_len = len;
		}
	}
	if (o->phase == PH_METRICS && --o->pending == 0)
		begin_quit(o);
}

static void begin_metrics(orch *o)
{
	o->phase = PH_METRICS;
	o->pending = 1;
	for (uint32_t i = 0; i < o->nprocs; i++) {
		oproc *p = &o->procs[i];
		if (p->pid > 0 && p->ready && p->started && !p->killed) {
			o->pending++;
			call(p, "GET", "/metrics", CALL_TIMEOUT, on_metrics, 0, 0);
		}
	}
	if (o->phase == PH_METRICS && --o->pending == 0)
		begin_quit(o);
}

/* The normal end: ask every process to quit; the tick sends SIGKILL to
 * the group when the grace runs out. */
static void begin_quit(orch *o)
{
	o->phase = PH_QUIT;
	o->quit_deadline = mono_ns() + QUIT_GRACE;
	for (uint32_t i = 0; i < o->nprocs; i++) {
		oproc *p = &o->procs[i];
		if (p->pid > 0 && p->ready && !p->killed)
			call(p, "POST", "/quit", CALL_TIMEOUT, NULL, 0, 0);
		else if (p->pid > 0)
			kill(p->pid, SIGTERM);
	}
	check_quit_done(o);
}

/* End the run early (an error, a signal): rc is the exit status. SIGTERM
 * to the group (SIGCONT first: a stopped process acts on SIGTERM only once
 * it runs), then the same grace as a normal end. */
static void teardown(orch *o, int rc, int sig)
{
	if (!o->rc)
		o->rc = rc;
	if (o->phase >= PH_QUIT) {
		/* A second signal while tearing down: no more grace. */
		if (sig && o->pgid > 0 && !all_reaped(o))
			killpg(o->pgid, SIGKILL);
		return;
	}
	o->phase = PH_QUIT;
	o->quit_deadline = mono_ns() + QUIT_GRACE;
	if (o->pgid > 0 && !all_reaped(o)) {
		killpg(o->pgid, SIGCONT);
		killpg(o->pgid, SIGTERM);
	}
	for (uint32_t i = 0; i < o->nprocs; i++)
		o->procs[i].stopped = 0;
	check_quit_done(o);
}

/* ---- signals ---- */

static oproc *proc_of_pid(orch *o, pid_t pid)
{
	for (uint32_t i = 0; i < o->nprocs; i++)
		if (o->procs[i].pid == pid)
			return &o->procs[i];
	return NULL;
}

static void describe_status(int st, char *buf, size_t len)
{
	if (WIFEXITED(st))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(st),
			 strsignal(WTERMSIG(st)));
	else
		snprintf(buf, len, "status %d", st);
}

static void reap(orch *o)
{
	for (;;) {
		int st;
		pid_t pid = waitpid(-o->pgid, &st, WNOHANG);
		if (pid <= 0)
			break;
		oproc *p = proc_of_pid(o, pid);
		if (!p)
			continue; /* a crashed app's earlier life */
		p->pid = 0;
		if (p->killed) {
			p->killed = 0;
			continue;
		}
		char why[128];
		describe_status(st, why, sizeof why);
		if (o->phase >= PH_QUIT) {
			/* After /quit at the normal end, anything but a clean
			 * exit is a bug of the agent (under the sanitizers: a
			 * leak or an error found on the way out). */
			if (!o->rc && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
				problem(o, "%s (%s, pid %d) did not exit cleanly after /quit: %s "
					   "(see %s/%s.log)", p->name, kind_name(p->kind), (int)pid,
					why, o->livedir, p->name);
			continue;
		}
		p->ready = p->started = p->polling = p->stopped = 0;
		p->gone = 1; /* before its calls end: their handlers look */
		drop_calls(p, 1);
		if (o->phase == PH_READY || p->restarting) {
			clear_progress(o);
			fprintf(stderr, "meshsim run --live: %s (%s, pid %d) exited before "
					"it was ready: %s\n", p->name, kind_name(p->kind),
				(int)pid, why);
			show_log_tail(o, p);
			if (o->phase == PH_READY) {
				teardown(o, 2, 0);
				return;
			}
			p->restarting = 0;
			problem(o, "%s (app) did not come back after its crash: %s", p->name, why);
			continue;
		}
		problem(o, "%s (%s, pid %d) died during the run: %s (see %s/%s.log)",
			p->name, kind_name(p->kind), (int)pid, why, o->livedir, p->name);
		show_log_tail(o, p);
		if (p->kind == LIVE_LOAD) {
			/* Without the load process there are no client records:
			 * no report can be made. */
			teardown(o, 3, 0);
			return;
		}
	}
	check_quit_done(o);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	orch *o = arg;
	if (sig == SIGCHLD) {
		reap(o);
		return;
	}
	o->interrupts++;
	clear_progress(o);
	if (o->interrupts == 1)
		fprintf(stderr, "meshsim run --live: %s: stopping every process\n",
			strsignal((int)sig));
	teardown(o, 128 + (int)sig, (int)sig);
}

/* ---- the tick: readiness, deadlines, progress ---- */

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	orch *o = arg;
	uint64_t now = mono_ns();
	if (o->phase == PH_QUIT) {
		if (now >= o->quit_deadline) {
			/* The grace is over: the group goes. */
			for (uint32_t i = 0; !o->rc && i < o->nprocs; i++)
				if (o->procs[i].pid > 0)
					problem(o, "%s (%s) did not exit within %.0fs of /quit: killed",
						o->procs[i].name, kind_name(o->procs[i].kind),
						(double)QUIT_GRACE / 1e9);
			if (o->pgid > 0 && !all_reaped(o))
				killpg(o->pgid, SIGKILL);
			o->phase = PH_DONE;
			event_base_loopbreak(o->base);
		}
		return;
	}
	for (uint32_t i = 0; i < o->nprocs; i++) {
		oproc *p = &o->procs[i];
		int waiting = (o->phase == PH_READY || p->restarting) && !p->ready &&
			      p->pid > 0 && !p->killed;
		if (!waiting)
			continue;
		if (now >= p->deadline) {
			if (o->phase == PH_READY) {
				clear_progress(o);
				fprintf(stderr, "meshsim run --live: %s (%s, pid %d, %s:%u) did not "
						"answer GET /ready within %.1fs\n",
					p->name, kind_name(p->kind), (int)p->pid, p->ip, p->admin,
					(double)o->ready_timeout / 1e9);
				show_log_tail(o, p);
				/* Name every other laggard too, in one line each. */
				for (uint32_t j = i + 1; j < o->nprocs; j++)
					if (!o->procs[j].ready)
						fprintf(stderr, "meshsim run --live: %s (%s) not ready either\n",
							o->procs[j].name, kind_name(o->procs[j].kind));
				teardown(o, 2, 0);
				return;
			}
			problem(o, "%s (app) did not come back within %.1fs after its crash",
				p->name, (double)o->ready_timeout / 1e9);
			kill(p->pid, SIGKILL);
			p->killed = 1;
			p->restarting = 0;
			p->gone = 1;
			drop_calls(p, 0);
			continue;
		}
		if (!p->polling) {
			p->polling = 1;
			call(p, "GET", "/ready", 500 * MS, on_ready, 0, 0);
			if (o->phase >= PH_QUIT)
				return;
		}
	}
	if (o->progress && o->phase == PH_RUN && now >= o->t0 &&
	    now - o->last_progress >= 250 * MS) {
		o->last_progress = now;
		uint32_t faults = 0;
		for (uint32_t i = 0; i < o->m->nfaults; i++)
			faults += o->on[i];
		fprintf(stderr, "\r  live %.1fs of %.1fs  net 127.%u  %u processes  %u fault%s on ",
			secs_since(o->t0, now),
			(double)(o->m->duration + o->m->drain) / 1e9, o->topo.net,
			o->nprocs, faults, faults == 1 ? "" : "s");
		fflush(stderr);
		o->progress_shown = 1;
	}
}

/* ---- the report's "live" section and the files ---- */

static json_t *jsecs(int64_t ns)
{
	if (ns < 0)
		return json_null();
	return json_real(round((double)ns / 1e5) / 1e4);
}

static json_t *live_section(orch *o, const rec *r)
{
	const model *m = o->m;
	double dur = (double)m->duration / 1e9;
	json_t *live = json_object();
	char subnet[32];
	snprintf(subnet, sizeof subnet, "127.%u.0.0/16", o->topo.net);
	json_object_set_new(live, "net", json_integer(o->topo.net));
	json_object_set_new(live, "subnet", json_string(subnet));
	json_object_set_new(live, "startup_s",
			    json_real(round(secs_since(o->spawn_t, o->ready_t) * 1e4) / 1e4));
	json_object_set_new(live, "logs", json_string(o->livedir));

	json_t *cls = json_array();
	for (uint32_t i = 0; i < m->nclients; i++) {
		const model_client *c = &m->clients[i];
		json_t *x = json_object();
		json_object_set_new(x, "name", json_string(c->name));
		json_object_set_new(x, "kind", json_string(c->kind == CLIENT_OPEN ? "open" : "closed"));
		uint64_t issued = r->clients[i].issued;
		uint64_t done = rec_completed(&r->clients[i]);
		if (c->kind == CLIENT_OPEN) {
			/* What the schedule asks for: the integral of its
			 * phases' rates over the duration. */
			double n = 0;
			for (uint32_t k = 0; k < c->nphases; k++) {
				mesh_time end = k + 1 < c->nphases ? c->phases[k + 1].at : m->duration;
				if (end > m->duration)
					end = m->duration;
				if (end > c->phases[k].at)
					n += c->phases[k].rps * (double)(end - c->phases[k].at) / 1e9;
			}
			json_object_set_new(x, "requested", json_real(round(n * 1000) / 1000));
			json_object_set_new(x, "requested_rps", json_real(round(n / dur * 1000) / 1000));
			json_object_set_new(x, "issued_vs_requested",
					    n > 0 ? json_real(round((double)issued / n * 1e4) / 1e4)
						  : json_null());
		} else {
			json_object_set_new(x, "users", json_integer(c->users));
		}
		json_object_set_new(x, "issued", json_integer((json_int_t)issued));
		json_object_set_new(x, "completed", json_integer((json_int_t)done));
		json_object_set_new(x, "achieved_rps",
				    json_real(round((double)issued / dur * 1000) / 1000));
		json_object_set_new(x, "completed_rps",
				    json_real(round((double)done / dur * 1000) / 1000));
		json_array_append_new(cls, x);
	}
	json_object_set_new(live, "clients", cls);

	json_t *pods = json_array();
	for (uint32_t pod = 0; pod < o->topo.npods; pod++) {
		char name[96], ip[16];
		live_pod_name(&o->topo, pod, name, sizeof name);
		live_pod_ip(&o->topo, pod, ip);
		json_t *x = json_object();
		json_object_set_new(x, "pod", json_integer(pod));
		json_object_set_new(x, "name", json_string(name));
		json_object_set_new(x, "address", json_string(ip));
		json_t *ps = json_array();
		for (uint32_t i = 0; i < o->nprocs; i++) {
			const oproc *p = &o->procs[i];
			if (p->pod != pod)
				continue;
			json_t *y = json_object();
			json_object_set_new(y, "kind", json_string(kind_name(p->kind)));
			json_object_set_new(y, "pid", json_integer(p->first_pid));
			json_object_set_new(y, "admin_port", json_integer(p->admin));
			json_object_set_new(y, "ready_s",
					    p->ready_at && p->ready_at <= o->ready_t
						    ? json_real(round(secs_since(o->spawn_t, p->ready_at) * 1e4) / 1e4)
						    : json_null());
			if (p->kind == LIVE_APP) {
				json_object_set_new(y, "crashes", json_integer(p->kills));
				json_object_set_new(y, "restarts", json_integer(p->restarts));
				/* [down_s, up_s] per crash, after t0. */
				json_object_set(y, "downtime", p->restart_log);
			}
			json_object_set_new(y, "snapshot", json_boolean(p->snapshot != NULL));
			json_object_set_new(y, "ok", json_boolean(!p->gone));
			json_array_append_new(ps, y);
		}
		json_object_set_new(x, "processes", ps);
		json_array_append_new(pods, x);
	}
	json_object_set_new(live, "pods", pods);

	json_t *fl = json_array();
	for (uint32_t i = 0; i < m->nfaults; i++) {
		const ofault *f = &o->fs[i];
		json_t *x = json_object();
		json_object_set_new(x, "id", json_integer(i));
		json_object_set_new(x, "label", json_string(m->faults[i].label ? m->faults[i].label : ""));
		json_object_set_new(x, "planned_start_s", jsecs((int64_t)m->faults[i].start));
		json_object_set_new(x, "planned_end_s", m->faults[i].end == MESH_NEVER
								? json_null()
								: jsecs((int64_t)m->faults[i].end));
		json_object_set_new(x, "on_s", jsecs(f->on_ns));
		json_object_set_new(x, "on_acked_s", jsecs(f->on_ack_ns));
		json_object_set_new(x, "off_s", jsecs(f->off_ns));
		json_object_set_new(x, "off_acked_s", jsecs(f->off_ack_ns));
		json_object_set_new(x, "acks", json_integer(f->acks));
		json_object_set_new(x, "failures", json_integer(f->failures));
		json_array_append_new(fl, x);
	}
	json_object_set_new(live, "faults", fl);
	if (o->ro) {
		json_t *ro = json_object(), *ma = json_array(), *ca = json_array();
		for (uint32_t i = 0; i < o->nmeas; i++) {
			const omeasure *x = &o->meas[i];
			json_array_append_new(ma, json_pack("{s:o, s:o, s:o, s:I, s:I, s:I}",
				"t_s", jsecs(x->t_ns), "from_s", jsecs(x->from_ns),
				"gathered_s", jsecs(x->done_ns), "sidecars", (json_int_t)x->answers,
				"failures", (json_int_t)x->failures, "bytes", (json_int_t)x->bytes));
		}
		for (uint32_t i = 0; i < o->nchg; i++) {
			const ochange *x = &o->chg[i];
			json_array_append_new(ca, json_pack("{s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:O}",
				"t_s", jsecs(x->t_ns), "canary_weight",
				json_real(round(x->canary * 1e6) / 1e6), "sent_s", jsecs(x->sent_ns),
				"acked_s", jsecs(x->acked_ns), "sidecars", (json_int_t)x->targets,
				"acks", (json_int_t)x->acks, "failures", (json_int_t)x->failures,
				"rules", x->rules));
		}
		json_object_set_new(ro, "analyses", ma);
		json_object_set_new(ro, "weight_changes", ca);
		json_object_set_new(live, "rollout", ro);
	}
	json_object_set(live, "problems", o->problems);
	return live;
}

/* ---- metrics: one Prometheus file per pod ---- */

/* A metric family of the merged exposition: its HELP and TYPE lines and
 * its samples from every process of the pod. */
typedef struct pfam {
	char *name;
	char *help, *type;   /* whole lines, or NULL */
	char **samples;
	size_t n, cap;
} pfam;

typedef struct pmerge {
	pfam *f;
	size_t n, cap;
	int oom;
} pmerge;

static pfam *pm_family(pmerge *pm, const char *name, size_t len)
{
	for (size_t i = 0; i < pm->n; i++)
		if (strlen(pm->f[i].name) == len && !strncmp(pm->f[i].name, name, len))
			return &pm->f[i];
	if (pm->n == pm->cap) {
		size_t cap = pm->cap ? 2 * pm->cap : 64;
		pfam *f = realloc(pm->f, cap * sizeof *f);
		if (!f) {
			pm->oom = 1;
			return NULL;
		}
		pm->f = f;
		pm->cap = cap;
	}
	pfam *f = &pm->f[pm->n];
	memset(f, 0, sizeof *f);
	f->name = strndup(name, len);
	if (!f->name) {
		pm->oom = 1;
		return NULL;
	}
	pm->n++;
	return f;
}

static void pm_sample(pmerge *pm, pfam *f, char *line)
{
	if (!line) {
		pm->oom = 1;
		return;
	}
	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 16;
		char **v = realloc(f->samples, cap * sizeof *v);
		if (!v) {
			free(line);
			pm->oom = 1;
			return;
		}
		f->samples = v;
		f->cap = cap;
	}
	f->samples[f->n++] = line;
}

/* Add one process's exposition, each sample labelled container="kind"
 * (as a kubelet labels what it scrapes), so that an app's and its
 * sidecar's samples of the same family stay apart. */
static void pm_add(pmerge *pm, const char *text, size_t len, const char *container)
{
	pfam *cur = NULL;
	const char *end = text + len;
	for (const char *l = text; l < end;) {
		const char *nl = memchr(l, '\n', (size_t)(end - l));
		size_t n = nl ? (size_t)(nl - l) : (size_t)(end - l);
		const char *next = nl ? nl + 1 : end;
		if (n && l[0] == '#') {
			/* "# HELP name ..." or "# TYPE name type" */
			int help = n > 7 && !strncmp(l, "# HELP ", 7);
			int type = n > 7 && !strncmp(l, "# TYPE ", 7);
			if (help || type) {
				const char *nm = l + 7;
				size_t k = strcspn(nm, " \n");
				cur = pm_family(pm, nm, k);
				if (cur) {
					char **slot = help ? &cur->help : &cur->type;
					if (!*slot && !(*slot = strndup(l, n)))
						pm->oom = 1;
				}
			}
		} else if (n) {
			size_t k = strcspn(l, "{ ");
			if (k > n)
				k = n;
			/* A histogram's _bucket, _sum and _count belong to the
			 * family declared before them. */
			if (!cur || strncmp(l, cur->name, strlen(cur->name)) != 0)
				cur = pm_family(pm, l, k);
			if (cur) {
				char *out = malloc(n + strlen(container) + 32);
				if (out) {
					if (k < n && l[k] == '{')
						sprintf(out, "%.*s{container=\"%s\",%.*s", (int)k, l,
							container, (int)(n - k - 1), l + k + 1);
					else
						sprintf(out, "%.*s{container=\"%s\"}%.*s", (int)k, l,
							container, (int)(n - k), l + k);
					/* "{container=\"x\",}" when the labels were empty */
					char *e = strstr(out, "\",}");
					if (e)
						memmove(e + 1, e + 2, strlen(e + 2) + 1);
				}
				pm_sample(pm, cur, out);
			}
		}
		l = next;
	}
}

static int pm_write(const pmerge *pm, FILE *f)
{
	for (size_t i = 0; i < pm->n; i++) {
		const pfam *x = &pm->f[i];
		if (x->help)
			fprintf(f, "%s\n", x->help);
		if (x->type)
			fprintf(f, "%s\n", x->type);
		for (size_t k = 0; k < x->n; k++)
			fprintf(f, "%s\n", x->samples[k]);
	}
	return ferror(f) ? -1 : 0;
}

static void pm_free(pmerge *pm)
{
	for (size_t i = 0; i < pm->n; i++) {
		pfam *x = &pm->f[i];
		free(x->name);
		free(x->help);
		free(x->type);
		for (size_t k = 0; k < x->n; k++)
			free(x->samples[k]);
		free(x->samples);
	}
	free(pm->f);
}

/* OUT/live/metrics/<pod>.prom: the metrics of each pod's processes in one
 * exposition, sidecar first, each sample labelled with its container (as
 * Istio's agent merges an app's metrics with Envoy's on one port, and a
 * scrape of the pod would label them). */
static void write_metrics(orch *o)
{
	char dir[4300];
	snprintf(dir, sizeof dir, "%s/metrics", o->livedir);
	if (mkdirs(dir) < 0) {
		problem(o, "%s: %s", dir, strerror(errno));
		return;
	}
	for (uint32_t pod = 0; pod < o->topo.npods; pod++) {
		char name[96], path[4500];
		live_pod_name(&o->topo, pod, name, sizeof name);
		snprintf(path, sizeof path, "%s/%s.prom", dir, name);
		pmerge pm = {0};
		int any = 0;
		for (int pass = 0; pass < 2; pass++)
			for (uint32_t i = 0; i < o->nprocs; i++) {
				const oproc *p = &o->procs[i];
				if (p->pod != pod || !p->metrics ||
				    (pass == 0) != (p->kind == LIVE_SIDECAR))
					continue;
				pm_add(&pm, p->metrics, p->metrics_len, kind_name(p->kind));
				any = 1;
			}
		if (any) {
			FILE *f = fopen(path, "wb");
			int bad = pm.oom || !f;
			if (f) {
				bad |= pm_write(&pm, f) < 0;
				bad |= fclose(f) != 0;
			}
			if (bad)
				problem(o, "%s: cannot write%s", path, pm.oom ? ": out of memory" : "");
		}
		pm_free(&pm);
	}
}

/* ---- the run ---- */

static int setup_procs(orch *o)
{
	const live_topo *t = &o->topo;
	o->nprocs = 2 * t->ninst + o->m->nclients + 1;
	o->procs = calloc(o->nprocs, sizeof *o->procs);
	o->app_of = calloc(t->ninst + 1, sizeof *o->app_of);
	if (!o->procs || !o->app_of)
		return -1;
	uint32_t n = 0;
	/* Apps first, then their sidecars, then the clients' sidecars, then
	 * the load process: each comes up before what calls it. */
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t pod = 0; pod < t->ninst; pod++) {
			oproc *p = &o->procs[n];
			p->kind = pass == 0 ? LIVE_APP : LIVE_SIDECAR;
			p->pod = pod;
			if (pass == 0)
				o->app_of[pod] = n;
			n++;
		}
	for (uint32_t c = 0; c < o->m->nclients; c++) {
		o->procs[n].kind = LIVE_SIDECAR;
		o->procs[n++].pod = t->ninst + c;
	}
	o->procs[n].kind = LIVE_LOAD;
	o->procs[n++].pod = t->npods - 1;
	for (uint32_t i = 0; i < o->nprocs; i++) {
		oproc *p = &o->procs[i];
		p->o = o;
		p->admin = p->kind == LIVE_SIDECAR ? LIVE_PORT_ADMIN : LIVE_PORT_APP_ADMIN;
		live_pod_ip(t, p->pod, p->ip);
		live_pod_name(t, p->pod, p->name, sizeof p->name);
		p->sent = calloc(o->m->nfaults + 1, 1);
		p->restart_log = json_array();
		if (!p->sent || !p->restart_log)
			return -1;
	}
	return 0;
}

static int merge_snapshots(orch *o, rec *r)
{
	int rc = 0;
	rec_keep_seconds(r);
	for (uint32_t i = 0; i < o->nprocs; i++) {
		oproc *p = &o->procs[i];
		if (!p->snapshot)
			continue;
		char err[512];
		if (rec_merge_snapshot(r, json_object_get(p->snapshot, "rec"), err, sizeof err) < 0) {
			problem(o, "%s (%s): cannot merge its snapshot: %s", p->name,
				kind_name(p->kind), err);
			if (p->kind == LIVE_LOAD)
				rc = -1;
		}
	}
	int have_load = 0;
	for (uint32_t i = 0; i < o->nprocs; i++)
		if (o->procs[i].kind == LIVE_LOAD && o->procs[i].snapshot)
			have_load = 1;
	if (!have_load) {
		fprintf(stderr, "meshsim run --live: no snapshot from the load process: "
				"no client records, no report\n");
		rc = -1;
	}
	/* The crashes the orchestrator caused: a killed app cannot count its
	 * own death, as the simulator's service does. */
	for (uint32_t k = 0; k < o->topo.ninst; k++) {
		const oproc *p = &o->procs[o->app_of[k]];
		uint32_t s = o->topo.pod_service[k];
		r->services[s].inst[k - o->topo.first[s]].crashes += p->kills;
	}
	return rc;
}

static void free_orch(orch *o)
{
	for (uint32_t i = 0; o->procs && i < o->nprocs; i++) {
		oproc *p = &o->procs[i];
		drop_calls(p, 0);
		free(p->sent);
		json_decref(p->snapshot);
		json_decref(p->restart_log);
		free(p->metrics);
	}
	free(o->procs);
	free(o->app_of);
	for (int i = 0; i < 4; i++)
		if (o->sigs[i])
			event_free(o->sigs[i]);
	if (o->tick)
		event_free(o->tick);
	if (o->sched)
		event_free(o->sched);
	if (o->base)
		event_base_free(o->base);
	if (o->have_topo)
		live_topo_destroy(&o->topo);
	free(o->sw);
	free(o->on);
	free(o->fs);
	json_decref(o->problems);
	if (o->ro_timer)
		event_free(o->ro_timer);
	rollout_host_free(o->ro);
	rec_free(o->ro_rec);
	for (uint32_t i = 0; i < o->nchg; i++)
		json_decref(o->chg[i].rules);
	free(o->chg);
	free(o->meas);
}

/* The last line of defence inside the orchestrator: SIGKILL the group and
 * reap every child of it. After this no process of the run is left. */
static void kill_all(orch *o)
{
	/* Only while one of ours is unreaped: the group's id is then still
	 * ours, never a number the kernel gave to someone else since. */
	if (o->pgid <= 0 || all_reaped(o))
		return;
	killpg(o->pgid, SIGCONT);
	killpg(o->pgid, SIGKILL);
	for (;;) {
		int st;
		pid_t pid = waitpid(-o->pgid, &st, 0);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			break;
		oproc *p = proc_of_pid(o, pid);
		if (p)
			p->pid = 0;
	}
}

int live_orch_run(const model *m, const live_orch_opts *opt, rec *r, json_t **live)
{
	*live = NULL;
	orch o_ = {0}, *o = &o_;
	o->m = m;
	o->opt = opt;
	o->self = getpid();
	o->ready_timeout = opt->ready_timeout ? opt->ready_timeout : 10 * SEC;
	o->problems = json_array();
	o->progress = !opt->quiet && isatty(STDERR_FILENO);
	int rc = 3;
	struct sigaction ign = {.sa_handler = SIG_IGN}, old_pipe;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, &old_pipe);

	ssize_t n = readlink("/proc/self/exe", o->exe, sizeof o->exe - 1);
	if (n <= 0) {
		fprintf(stderr, "meshsim run --live: cannot find this program "
				"(/proc/self/exe): %s\n", strerror(errno));
		goto out;
	}
	o->exe[n] = '\0';
	snprintf(o->livedir, sizeof o->livedir, "%s/live", opt->out);
	if (mkdirs(o->livedir) < 0) {
		fprintf(stderr, "meshsim run --live: %s: cannot create: %s\n", o->livedir,
			strerror(errno));
		goto out;
	}
	snprintf(o->scenario, sizeof o->scenario, "%s", opt->scenario_path);
	o->on = calloc(m->nfaults + 1, 1);
	o->fs = calloc(m->nfaults + 1, sizeof *o->fs);
	if (!o->problems || !o->on || !o->fs || build_switches(o) < 0)
		goto oom;
	for (uint32_t i = 0; i < m->nfaults; i++)
		o->fs[i] = (ofault){-1, -1, -1, -1, 0, 0};
	if (choose_net(o) < 0)
		goto out;
	if (setup_procs(o) < 0)
		goto oom;

	struct event_config *cfg = event_config_new();
	if (cfg) {
		/* Fault switches on time: a precise timer (timerfd), not the
		 * coarse clock's 4 ms ticks. */
		event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
		o->base = event_base_new_with_config(cfg);
		event_config_free(cfg);
	}
	if (!o->base)
		goto oom;
	static const int sigs[4] = {SIGINT, SIGTERM, SIGHUP, SIGCHLD};
	for (int i = 0; i < 4; i++) {
		o->sigs[i] = evsignal_new(o->base, sigs[i], signal_cb, o);
		if (!o->sigs[i] || evsignal_add(o->sigs[i], NULL) < 0)
			goto oom;
	}
	o->tick = event_new(o->base, -1, EV_PERSIST, tick_cb, o);
	o->sched = evtimer_new(o->base, sched_cb, o);
	if (m->rollout) {
		/* The controller logs into the run's recorder, whose report
		 * shows it as the simulator's does. */
		o->ro = rollout_host_new(m, NULL, r->ro_log);
		o->ro_timer = evtimer_new(o->base, ro_timer_cb, o);
		if (!o->ro || !o->ro_timer)
			goto oom;
		rollout_host_on_routed(o->ro, on_routed, o);
	}
	struct timeval tk = {0, TICK_MS * 1000};
	if (!o->tick || !o->sched || event_add(o->tick, &tk) < 0)
		goto oom;

	/* Fresh logs for this run. */
	for (uint32_t i = 0; i < o->nprocs; i++) {
		char path[4400];
		log_path(o, &o->procs[i], path, sizeof path);
		FILE *f = fopen(path, "wb");
		if (f)
			fclose(f);
	}
	if (m->mtls.enabled && make_pki(o) < 0) {
		rc = 2;
		goto out;
	}
	o->phase = PH_READY;
	o->spawn_t = mono_ns();
	for (uint32_t i = 0; i < o->nprocs; i++) {
		if (spawn(o, &o->procs[i]) < 0) {
			kill_all(o);
			goto out;
		}
		o->procs[i].deadline = o->spawn_t + o->ready_timeout;
	}
	event_base_dispatch(o->base);
	clear_progress(o);

	/* Whatever happened, nothing of the run outlives this line. */
	kill_all(o);
	for (uint32_t i = 0; i < o->nprocs; i++)
		drop_calls(&o->procs[i], 0);
	if (o->rc) {
		rc = o->rc;
		goto out;
	}
	write_metrics(o);
	if (merge_snapshots(o, r) < 0) {
		rc = 3;
		goto out;
	}
	/* The blast radius over the whole run, from every sidecar's calls. */
	if (o->ro)
		rollout_host_finish(o->ro, r);
	*live = live_section(o, r);
	rc = json_array_size(o->problems) ? LIVE_ORCH_BROKEN : LIVE_ORCH_OK;
	goto out;
oom:
	fprintf(stderr, "meshsim run --live: out of memory\n");
	kill_all(o);
out:
	kill_all(o);
	/* After the processes: nothing reads it any more. */
	remove_pki(o);
	free_orch(o);
	sigaction(SIGPIPE, &old_pipe, NULL);
	return rc;
}
