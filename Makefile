# meshsim - simulation and chaos-testing harness for service meshes.
#
#   make run      install missing packages, build, run scenarios/quickstart.json
#   make test     install missing packages, build, run every test
#   make bench    build and run the benchmarks (figures, not pass/fail)
#   make lint     check that the shared agent logic stays I/O-free
#   make SANITIZE=address,undefined test   the suite under ASan and UBSan
#   make DEVELOPER=1 ...                   warnings are errors
#   make regen-golden                      rewrite the golden report (review it!)

CC ?= cc
CFLAGS ?= -O2 -g
LDFLAGS ?=
PKG_CONFIG ?= pkg-config
SCENARIO ?= scenarios/quickstart.json

BUILD := build$(if $(SANITIZE),-san)

# -Wno-format-truncation: messages and JSON paths are cut to fixed buffers
# on purpose; snprintf never overflows, and gcc cannot tell that is meant.
MS_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra \
	-Wstrict-prototypes -Wmissing-prototypes -Wvla -Wwrite-strings \
	-Wshadow -Wpointer-arith -MMD -MP -Iagents -Isim -Ireports \
	-Wno-format-truncation
ifdef DEVELOPER
MS_CFLAGS += -Werror
endif
ifdef SANITIZE
MS_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
MS_LDFLAGS += -fsanitize=$(SANITIZE)
endif

# Library flags come from pkg-config, asked only when building (a fresh
# machine may not have pkg-config until .ci/deps.sh has run).
JANSSON_CFLAGS = $(shell $(PKG_CONFIG) --cflags jansson)
JANSSON_LIBS = $(shell $(PKG_CONFIG) --libs jansson)
CHECK_CFLAGS = $(shell $(PKG_CONFIG) --cflags check)
CHECK_LIBS = $(shell $(PKG_CONFIG) --libs check)
# Live mode: libevent for sockets and timers (libevent_openssl for TLS
# over them), http-parser (no .pc file in Debian) for HTTP/1.1 framing.
EVENT_CFLAGS = $(shell $(PKG_CONFIG) --cflags libevent libevent_openssl)
EVENT_LIBS = $(shell $(PKG_CONFIG) --libs libevent libevent_openssl) -lhttp_parser
# mTLS: OpenSSL (libssl, libcrypto) for the built-in CA and TLS.
OPENSSL_CFLAGS = $(shell $(PKG_CONFIG) --cflags libssl libcrypto)
OPENSSL_LIBS = $(shell $(PKG_CONFIG) --libs libssl libcrypto)

# The shared agent logic: I/O-free, hosted by the simulator and live mode.
AGENT_SRC := agents/rng.c agents/dist.c agents/pool.c agents/model.c \
	agents/sidecar.c agents/service.c agents/client.c agents/netfault.c \
	agents/judge.c agents/rollout.c agents/rollout_host.c agents/authz.c
SIM_SRC := sim/sim_heap.c sim/sim.c sim/scenario.c sim/scenario_rollout.c \
	sim/sim_rollout.c sim/sweep.c sim/sim_tls.c
REPORT_SRC := reports/hist.c reports/rec.c reports/report.c reports/render_text.c \
	reports/render_charts.c reports/render_html.c reports/diff.c reports/junit.c \
	reports/rec_json.c reports/report_rollout.c reports/render_rollout.c
# Live mode: the hosts of the same agents on libevent, one process each.
LIVE_SRC := agents/live_http.c agents/live_topo.c agents/live_env.c agents/live_agent.c \
	agents/live_orch.c
# Host-side TLS on OpenSSL, used by the simulator and live mode alike.
TLS_SRC := agents/tls_ca.c agents/tls_mesh.c
LIB_SRC := $(AGENT_SRC) $(SIM_SRC) $(REPORT_SRC) $(LIVE_SRC) $(TLS_SRC)
TEST_SRC := $(wildcard tests/check_*.c) tests/testutil.c

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/sim/main.o
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
BENCH_OBJ := $(BUILD)/tests/bench_sim.o

MESHSIM := $(BUILD)/meshsim
TESTS := $(BUILD)/check_meshsim
BENCH := $(BUILD)/bench_sim
BENCH_PROXY := $(BUILD)/bench_proxy
BENCH_HTTP := $(BUILD)/bench_http
TLS_CA_TOOL := $(BUILD)/tls_ca_tool
TLS_SERVER_TOOL := $(BUILD)/tls_server_tool

.PHONY: all run test bench lint clean deps deps-run deps-test regen-golden
all: deps $(MESHSIM)

deps:
	@sh .ci/deps.sh build
deps-run:
	@sh .ci/deps.sh run
deps-test:
	@sh .ci/deps.sh test

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(MS_CFLAGS) $(JANSSON_CFLAGS) $(EVENT_CFLAGS) $(OPENSSL_CFLAGS) $(CHECK_CFLAGS_FOR) $(CFLAGS) -c -o $@ $<

$(TEST_OBJ): CHECK_CFLAGS_FOR = $(CHECK_CFLAGS) -Itests

$(BUILD)/libmeshsim.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(MESHSIM): $(MAIN_OBJ) $(BUILD)/libmeshsim.a
	$(CC) $(MS_LDFLAGS) $(LDFLAGS) -o $@ $^ $(JANSSON_LIBS) $(EVENT_LIBS) $(OPENSSL_LIBS) -lm

$(TESTS): $(TEST_OBJ) $(BUILD)/libmeshsim.a
	$(CC) $(MS_LDFLAGS) $(LDFLAGS) -o $@ $^ $(JANSSON_LIBS) $(EVENT_LIBS) $(OPENSSL_LIBS) $(CHECK_LIBS) -lm

$(BENCH): $(BENCH_OBJ) $(BUILD)/libmeshsim.a
	$(CC) $(MS_LDFLAGS) $(LDFLAGS) -o $@ $^ $(JANSSON_LIBS) $(EVENT_LIBS) $(OPENSSL_LIBS) -lm

$(BENCH_HTTP): $(BUILD)/tests/bench_http.o $(BUILD)/libmeshsim.a
	$(CC) $(MS_LDFLAGS) $(LDFLAGS) -o $@ $^ $(JANSSON_LIBS) $(EVENT_LIBS) $(OPENSSL_LIBS) -lm

$(BENCH_PROXY): $(BUILD)/tests/bench_proxy.o $(BUILD)/libmeshsim.a
	$(CC) $(MS_LDFLAGS) $(LDFLAGS) -o $@ $^ $(JANSSON_LIBS) $(EVENT_LIBS) $(OPENSSL_LIBS) -lm

# Writes a root, an intermediate and workload certificates for
# tests/tls_ca_test.sh to check with the openssl command, and a scenario's
# mesh PKI for sidecars started by hand (tests/bench_proxy.sh).
$(TLS_CA_TOOL): $(BUILD)/tests/tls_ca_tool.o $(BUILD)/libmeshsim.a
	$(CC) $(MS_LDFLAGS) $(LDFLAGS) -o $@ $^ $(JANSSON_LIBS) $(EVENT_LIBS) $(OPENSSL_LIBS) -lm

# A STRICT mTLS server (live_http) for tests/tls_interop_test.sh to reach
# with openssl s_client and curl.
$(TLS_SERVER_TOOL): $(BUILD)/tests/tls_server_tool.o $(BUILD)/libmeshsim.a
	$(CC) $(MS_LDFLAGS) $(LDFLAGS) -o $@ $^ $(JANSSON_LIBS) $(EVENT_LIBS) $(OPENSSL_LIBS) -lm

# `make run` runs the quickstart; its exit status is the objectives' verdict.
run: deps-run
	@$(MAKE) --no-print-directory $(MESHSIM)
	$(MESHSIM) run $(SCENARIO) --out out/$(basename $(notdir $(SCENARIO)))

test: deps-test
	@$(MAKE) --no-print-directory $(MESHSIM) $(TESTS)
	@$(MAKE) --no-print-directory lint
	MESHSIM=$(MESHSIM) sh tests/cli_test.sh
	MESHSIM=$(MESHSIM) sh tests/html_test.sh
	MESHSIM=$(MESHSIM) sh tests/live_test.sh
	MESHSIM=$(MESHSIM) sh tests/interop_test.sh
	MESHSIM=$(MESHSIM) SANITIZE=$(SANITIZE) sh tests/fidelity_test.sh
	MESHSIM=$(MESHSIM) sh tests/rollout_test.sh
	MESHSIM=$(MESHSIM) sh tests/live_rollout_test.sh
	@$(MAKE) --no-print-directory $(TLS_CA_TOOL) && TLS_CA_TOOL=$(TLS_CA_TOOL) sh tests/tls_ca_test.sh
	@$(MAKE) --no-print-directory $(TLS_SERVER_TOOL) && TLS_SERVER_TOOL=$(TLS_SERVER_TOOL) sh tests/tls_interop_test.sh
	@$(MAKE) --no-print-directory $(TLS_CA_TOOL) && MESHSIM=$(MESHSIM) TLS_CA_TOOL=$(TLS_CA_TOOL) sh tests/live_mtls_test.sh
	CK_DEFAULT_TIMEOUT=600 $(TESTS)

bench: deps
	@$(MAKE) --no-print-directory $(BENCH) $(BENCH_PROXY) $(BENCH_HTTP) $(MESHSIM) $(TLS_CA_TOOL)
	$(BENCH)
	MESHSIM=$(MESHSIM) BENCH_PROXY=$(BENCH_PROXY) TLS_CA_TOOL=$(TLS_CA_TOOL) sh tests/bench_proxy.sh
	BENCH_HTTP=$(BENCH_HTTP) sh tests/bench_http.sh

# The shared agent logic must not reach for I/O, libraries of one host, or
# the wall clock: the simulator and live mode both host it.
LINT_BANNED := event2/|<event\.h>|<sys/socket\.h>|<netinet/|<arpa/inet\.h>|<netdb\.h>|<jansson\.h>|<time\.h>|<sys/time\.h>|<unistd\.h>|<pthread\.h>|<openssl/
lint:
	@bad=$$(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]?($(LINT_BANNED))' \
		$$(ls agents/*.[ch] | grep -v -e '/live_' -e '/tls_') reports/hist.[ch] reports/rec.[ch] || true); \
	if [ -n "$$bad" ]; then \
		echo "lint: the shared agent logic includes host-only headers:"; \
		echo "$$bad"; exit 1; fi; \
	bad=$$(grep -nwE 'rand|srand|random|time|clock_gettime|gettimeofday' \
		$$(ls agents/*.c | grep -v '/live_') | grep -E '\b(rand|srand|random|time|clock_gettime|gettimeofday)[[:space:]]*\(' || true); \
	if [ -n "$$bad" ]; then \
		echo "lint: the shared agent logic calls the C library's clock or rand():"; \
		echo "$$bad"; exit 1; fi; \
	echo "lint: ok (agents/ and the recorder include no I/O, library or clock headers)"

regen-golden: $(MESHSIM)
	$(MESHSIM) run tests/golden/golden.json --quiet --out $(BUILD)/golden || true
	cp $(BUILD)/golden/report.json tests/golden/golden.report.json
	$(MESHSIM) report tests/golden/golden.report.json --no-charts > tests/golden/golden.summary.txt || true
	rm -f tests/golden/report.html

clean:
	rm -rf build build-san out

-include $(shell find build build-san -name '*.d' 2>/dev/null)
