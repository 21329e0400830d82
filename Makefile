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
CFLAGS     += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -I$(BUILD) -I. \
	      -DSTEER_VERSION='"$(VERSION)"'
LDLIBS     += -lbpf -lelf -lz -linih -lev -lmicrohttpd
# SANITIZE=1: AddressSanitizer and UBSan, in their own build directory.
ifeq ($(SANITIZE),1)
BUILD      := build/san
SANFLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CFLAGS     += $(SANFLAGS)
endif
# BPF_OPT: the hitless-upgrade test builds a second agent whose programs
# differ (same behaviour, other code) with BPF_OPT=-O1 BUILD=build/upgrade.
BPF_OPT    ?= -O2
BPF_CFLAGS := -g $(BPF_OPT) --target=bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	      -I/usr/include/$(MULTIARCH) -I.

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-9s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps test unit integration demo bench clean help format lint

BPF_SRCS    := $(wildcard bpf/*.bpf.c)
BPF_OBJS    := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS       := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
AGENT_SRCS  := $(wildcard agent/*.c)
AGENT_OBJS  := $(patsubst agent/%.c,$(BUILD)/agent/%.o,$(AGENT_SRCS))
LIB_OBJS    := $(filter-out $(BUILD)/agent/main.o,$(AGENT_OBJS))
TOOL_SRCS   := $(wildcard tests/tools/*.c)
TOOLS       := $(patsubst tests/tools/%.c,$(BUILD)/%,$(TOOL_SRCS))
UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
UNITS       := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

all: $(BUILD)/steer $(TOOLS) ## build the agent and the test tools

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

deps: ## install missing Debian packages (root)
	$(Q)sh scripts/deps.sh

$(BUILD) $(BUILD)/agent $(BUILD)/tests:
	$(Q)mkdir -p $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst .bpf,,$*)_bpf > $@

$(BUILD)/agent/%.o: agent/%.c $(wildcard agent/*.h) bpf/steer_abi.h $(SKELS) | $(BUILD)/agent
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/steer: $(AGENT_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/%: tests/tools/%.c | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) -lcmocka

unit: deps $(UNITS) ## run the cmocka unit tests
	$(call msg,TEST,unit)
	$(Q)set -e; for t in $(UNITS); do $$t; done

# The same agent with differently compiled programs, for the upgrade test.
$(BUILD)/upgrade/steer: FORCE
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/upgrade BPF_OPT=-O1 $(BUILD)/upgrade/steer

.PHONY: FORCE
FORCE:

integration: deps all $(BUILD)/upgrade/steer ## run the integration tests against the kernel (root)
	$(call msg,TEST,integration)
	$(Q)tests/integration/run.sh $(T)

test: deps ## lint, unit (plain and sanitized) and integration tests (root); T=name runs one integration test
	$(Q)$(MAKE) --no-print-directory lint
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory unit SANITIZE=1
	$(Q)$(MAKE) --no-print-directory integration

BENCH_TOOLS := $(BUILD)/bench-listeners

$(BUILD)/bench-%: bench/%.c | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@

bench: deps all $(BENCH_TOOLS) ## run the benchmarks, write docs/benchmarks.md (root; BENCH_QUICK=1)
	$(Q)bench/run.sh

demo: deps all ## start 3 replicas, steer a VIP to them, show the spread, tear down
	$(Q)examples/demo.sh

format: ## format the tree with clang-format
	$(Q)clang-format -i agent/*.[ch] bpf/*.[ch] tests/unit/*.[ch] tests/tools/*.c bench/*.c

lint: ## clang-format check and cppcheck
	$(Q)clang-format --dry-run -Werror agent/*.[ch] bpf/*.[ch] tests/unit/*.[ch] tests/tools/*.c bench/*.c
	$(Q)cppcheck -q --error-exitcode=1 --enable=warning,performance,portability \
		--inline-suppr --suppress=unknownMacro -I. -I$(BUILD) agent tests/tools

clean: ## remove build/
	$(call msg,CLEAN,$(BUILD))
	$(Q)rm -rf $(BUILD)
