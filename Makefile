# steer: build the BPF datapath, its skeleton, the agent, tools and tests.
# Quiet by default; V=1 shows every command. `make help` lists the targets.

BUILD      ?= build
CLANG      ?= clang
BPFTOOL    ?= bpftool
CC         ?= cc
ARCH       := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
MULTIARCH  := $(shell $(CC) -print-multiarch 2>/dev/null)
VERSION    := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

CFLAGS     ?= -O2 -g
CFLAGS     += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -I$(BUILD) -I. -Iagent \
	      -DSTEER_VERSION='"$(VERSION)"'
LDLIBS     += -lbpf -lelf -lz -linih -lev -lmicrohttpd -ljansson -lmount -lmnl -lcurl -lcrypto
# SANITIZE=1: AddressSanitizer and UBSan, in their own build directory.
ifeq ($(SANITIZE),1)
BUILD      := build/san
SANFLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CFLAGS     += $(SANFLAGS)
endif
# BPF_OPT: the hitless-upgrade test builds a second agent whose programs
# differ (same behaviour, other code) with BPF_OPT=-Os BUILD=build/upgrade
# (clang 14 at -O1 emits a register read the verifier refuses in the
# recvmsg hooks).
BPF_OPT    ?= -O2
BPF_CFLAGS := -g $(BPF_OPT) --target=bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	      -I/usr/include/$(MULTIARCH) -I.
# LIMITS: bpf/steer_abi.h's limits for both sides, e.g.
# LIMITS="-DSTEER_MAX_SERVICES=1024 -DSTEER_MAX_REPLICAS=16384" (make scale
# builds such an agent in $(BUILD)/scale).
LIMITS     ?=
CFLAGS     += $(LIMITS)
BPF_CFLAGS += $(LIMITS)

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-9s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps test unit integration demo bench chaos clean help format lint scale

BPF_SRCS    := $(wildcard bpf/*.bpf.c)
BPF_OBJS    := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS       := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
AGENT_SRCS  := $(wildcard agent/*/*.c)
AGENT_HDRS  := $(wildcard agent/*/*.h)
BPF_HDRS    := $(wildcard bpf/*.h bpf/*/*.h)
AGENT_OBJS  := $(patsubst agent/%.c,$(BUILD)/agent/%.o,$(AGENT_SRCS))
LIB_OBJS    := $(filter-out $(BUILD)/agent/core/main.o,$(AGENT_OBJS))
TOOL_SRCS   := $(wildcard tests/tools/*.c)
TOOLS       := $(patsubst tests/tools/%.c,$(BUILD)/%,$(TOOL_SRCS))
UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
UNITS       := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
# Test doubles every unit test may link (tests/unit/*.c that are not test_*).
UNIT_HELPERS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%.o,\
		$(filter-out $(UNIT_SRCS),$(wildcard tests/unit/*.c)))

all: $(BUILD)/steer $(TOOLS) $(BUILD)/xdp-fixtures ## build the agent and the test tools

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

deps: ## install missing Debian packages (root)
	$(Q)sh scripts/deps.sh

$(BUILD) $(BUILD)/agent $(BUILD)/tests:
	$(Q)mkdir -p $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst .bpf,,$*)_bpf > $@

$(BUILD)/agent/%.o: agent/%.c $(AGENT_HDRS) bpf/steer_abi.h $(SKELS) | $(BUILD)/agent
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/steer: $(AGENT_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/%: tests/tools/%.c tests/tools/endpoint_text.h | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@

# The packet fixtures of the XDP path (tests/integration/test_xdp_fixtures.sh).
XDP_FIX_SRCS := $(wildcard tests/xdp/*.c)

$(BUILD)/xdp-fixtures: $(XDP_FIX_SRCS) $(wildcard tests/xdp/*.h) $(BUILD)/steer_xdp.skel.h \
		       bpf/steer_abi.h | $(BUILD)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(XDP_FIX_SRCS) -o $@ -lbpf -lelf -lz

$(BUILD)/tests/%.o: tests/unit/%.c $(wildcard tests/unit/*.h) $(AGENT_HDRS) | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) $(UNIT_HELPERS) | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) -lcmocka

unit: deps $(UNITS) ## run the cmocka unit tests
	$(call msg,TEST,unit)
	$(Q)set -e; for t in $(UNITS); do $$t; done

# The same agent with differently compiled programs, for the upgrade test.
$(BUILD)/upgrade/steer: FORCE
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/upgrade BPF_OPT=-Os $(BUILD)/upgrade/steer

.PHONY: FORCE
FORCE:

# The agent built with ASan and UBSan, for the sanitized integration run
# (inside that build, build/san/steer is the plain $(BUILD)/steer rule).
ifneq ($(SANITIZE),1)
build/san/steer: FORCE
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 build/san/steer
endif

chaos: deps all ## about 60 s of replica and agent kills under load; report in docs/chaos.md (root)
	$(call msg,CHAOS,tests/chaos/chaos.sh)
	$(Q)CHAOS_REPORT=docs/chaos.md bash tests/chaos/chaos.sh

integration: deps all $(BUILD)/bench-registry-load $(BUILD)/upgrade/steer build/san/steer ## run the integration tests against the kernel (root)
	$(call msg,TEST,integration)
	$(Q)tests/integration/run.sh $(T)

test: deps ## lint, unit (plain and sanitized) and integration tests (root); T=name runs one integration test
	$(Q)$(MAKE) --no-print-directory lint
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory unit SANITIZE=1
	$(Q)$(MAKE) --no-print-directory integration

# Every bench/NAME.c is a tool of the benchmarks: $(BUILD)/bench-NAME.
BENCH_TOOLS := $(patsubst bench/%.c,$(BUILD)/bench-%,$(wildcard bench/*.c))

$(BUILD)/bench-%: bench/%.c $(wildcard bench/*.h) | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@

# The registry's load tool speaks to etcd's JSON gateway (libcurl, jansson,
# libcrypto's base64); standalone, it links no agent object.
$(BUILD)/bench-registry-load: bench/registry-load.c | $(BUILD)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@ -lcurl -ljansson -lcrypto

# The XDP path's tools (bench/xdp.sh) load the XDP object from its skeleton
# and link the fixtures' packet builder and the agent's Maglev builder.
BENCH_XDP_SRCS := tests/xdp/packet.c agent/xdp/maglev.c

$(BUILD)/bench-xdp-%: bench/xdp-%.c $(wildcard bench/*.h) $(BENCH_XDP_SRCS) tests/xdp/packet.h \
		      agent/xdp/maglev.h $(BUILD)/steer_xdp.skel.h bpf/steer_abi.h | $(BUILD)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $< $(BENCH_XDP_SRCS) -o $@ -lbpf -lelf -lz

scale: deps all $(BUILD)/bench-registry-load $(BUILD)/bench-connect-spread $(BUILD)/bench-load ## the etcd registry at 1000 services x 10 replicas, 3 agents (docs/registry.md); 1 to 65536 services on one node (docs/node-scale.md); 10000 checked replicas (docs/health-scale.md) (root; BENCH_QUICK=1: short)
	$(Q)sh scripts/deps.sh scale
	$(Q)BUILD=$(CURDIR)/$(BUILD) bench/registry-scale.sh
	$(Q)BUILD=$(CURDIR)/$(BUILD) bench/node-scale.sh
	$(Q)BUILD=$(CURDIR)/$(BUILD) bench/health-scale.sh

# The peers (HAProxy, nginx's stream module, gnuplot) are installed first.
bench: ## run the benchmarks, write docs/benchmarks.md and docs/benchmark.png (root; BENCH_QUICK=1: about 1 min)
	$(Q)sh scripts/deps.sh bench
	$(Q)$(MAKE) --no-print-directory all $(BENCH_TOOLS)
	$(Q)bench/run.sh

demo: deps all ## start 3 replicas, steer a VIP to them, show the spread, tear down
	$(Q)examples/demo.sh

# fuzz: libFuzzer targets for the parsers of outside input (tests/fuzz/), built
# with clang in $(BUILD)/fuzz. The limits are small so that a few lines of
# input reach the "too many services/replicas" paths.
FUZZ_SECONDS ?= 60
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_TARGETS := config env control http dns addr registry etcd
FUZZ_CFLAGS  := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -I. -Iagent \
		-DSTEER_MAX_SERVICES=4 -DSTEER_MAX_SLOTS=4
# The parsers of outside input and what they call: no maps, no event loop.
FUZZ_OBJS    := $(patsubst agent/%.c,$(FUZZ_DIR)/agent/%.o,$(wildcard agent/lib/*.c agent/config/*.c) \
		agent/miss/backoff.c agent/control/control_proto.c agent/health/http_parse.c \
		agent/health/dns_msg.c \
		agent/xdp/maglev.c agent/registry/etcd_members.c agent/registry/etcd_json.c \
		agent/registry/registry_decode.c agent/registry/registry_store.c)
.PHONY: fuzz

$(FUZZ_DIR)/agent:
	$(Q)mkdir -p $@

$(FUZZ_DIR)/agent/%.o: agent/%.c $(AGENT_HDRS) bpf/steer_abi.h | $(FUZZ_DIR)/agent
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $^ -o $@ -linih -lev -lbpf -lelf -lz -lm -ljansson -lcrypto

fuzz: deps $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_TARGETS)) ## run each libFuzzer target FUZZ_SECONDS (60) s
	$(Q)V=$(V) tests/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# make install [PREFIX=/usr/local] [DESTDIR=]: the agent, steer(8) and the
# systemd unit; /etc/steer/steer.ini and /etc/default/steer only where none
# exists yet, so a reinstall keeps the operator's edits.
PREFIX     ?= /usr/local
SBINDIR    := $(PREFIX)/sbin
MAN8DIR    := $(PREFIX)/share/man/man8
UNITDIR    ?= /lib/systemd/system
.PHONY: install

install: $(BUILD)/steer ## install the agent, steer(8), steer.service and /etc files not yet there (PREFIX, DESTDIR)
	$(call msg,INSTALL,$(DESTDIR)$(SBINDIR)/steer)
	$(Q)install -D -m 0755 $(BUILD)/steer $(DESTDIR)$(SBINDIR)/steer
	$(call msg,INSTALL,$(DESTDIR)$(MAN8DIR)/steer.8)
	$(Q)install -D -m 0644 docs/steer.8 $(DESTDIR)$(MAN8DIR)/steer.8
	$(call msg,INSTALL,$(DESTDIR)$(UNITDIR)/steer.service)
	$(Q)install -d -m 0755 $(DESTDIR)$(UNITDIR)
	$(Q)sed 's|@SBINDIR@|$(SBINDIR)|g' packaging/steer.service >$(DESTDIR)$(UNITDIR)/steer.service.tmp
	$(Q)chmod 0644 $(DESTDIR)$(UNITDIR)/steer.service.tmp
	$(Q)mv -f $(DESTDIR)$(UNITDIR)/steer.service.tmp $(DESTDIR)$(UNITDIR)/steer.service
	$(Q)if [ -e $(DESTDIR)/etc/steer/steer.ini ]; then \
		printf '  %-9s %s\n' KEEP "$(DESTDIR)/etc/steer/steer.ini (exists)"; \
	else \
		printf '  %-9s %s\n' INSTALL $(DESTDIR)/etc/steer/steer.ini; \
		install -D -m 0644 examples/steer.ini $(DESTDIR)/etc/steer/steer.ini; \
	fi
	$(Q)if [ -e $(DESTDIR)/etc/default/steer ]; then \
		printf '  %-9s %s\n' KEEP "$(DESTDIR)/etc/default/steer (exists)"; \
	else \
		printf '  %-9s %s\n' INSTALL $(DESTDIR)/etc/default/steer; \
		install -d -m 0755 $(DESTDIR)/etc/default && \
		$(BUILD)/steer env-file >$(DESTDIR)/etc/default/steer.tmp && \
		chmod 0644 $(DESTDIR)/etc/default/steer.tmp && \
		mv $(DESTDIR)/etc/default/steer.tmp $(DESTDIR)/etc/default/steer; \
	fi

SRC_FORMATTED := $(wildcard agent/*/*.[ch] bpf/*.[ch] bpf/*/*.[ch] tests/unit/*.[ch] \
		 tests/tools/*.c bench/*.c)

format: ## format the tree with clang-format
	$(Q)clang-format -i $(SRC_FORMATTED)

lint: ## clang-format check and cppcheck
	$(Q)clang-format --dry-run -Werror $(SRC_FORMATTED)
	$(Q)cppcheck -q --error-exitcode=1 --enable=warning,performance,portability \
		--inline-suppr --suppress=unknownMacro -I. -Iagent -I$(BUILD) agent tests/tools

clean: ## remove build/
	$(call msg,CLEAN,$(BUILD))
	$(Q)rm -rf $(BUILD)
