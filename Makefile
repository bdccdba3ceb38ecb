# Cartograph: build, dependencies, run, test, bench.
#
#   make run     install missing packages, build, migrate, start lighttpd + workers
#   make test    install, build, run every unit and integration test
#   make stop    stop what `make run` started (pid files under $(VAR_DIR)/run)
#   make SANITIZE=address,undefined test   the whole suite under ASan/UBSan
#
# Every .c in core/ and fcgi-app/ is compiled; each tests/unit/test_*.c is one
# Criterion binary; each scripts/*.c and benchmarks/*.c is one program linked
# with core. Adding a file needs no Makefile edit.

SHELL      := /bin/bash
CC         ?= cc
PORT       ?= 8080
WORKERS    ?= $(shell echo $$((2 * $$(nproc))))
VAR_DIR    ?= var
FRONT      ?= lighttpd

SANITIZE   ?=
ifeq ($(SANITIZE),)
BUILD      ?= build
OPT        ?= -O2
else
BUILD      ?= build-san
OPT        ?= -O1
SANFLAGS   := -fsanitize=$(SANITIZE) -fno-sanitize-recover=all
endif

PKGS_CFLAGS := $(shell pkg-config --cflags jansson sqlite3 libcrypto zlib 2>/dev/null)
PKGS_LIBS   := $(shell pkg-config --libs jansson sqlite3 libcrypto zlib 2>/dev/null)

WARN   := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
          -Wpointer-arith -Wcast-qual -fno-common
CFLAGS += -std=c11 -D_GNU_SOURCE $(OPT) -g -fno-omit-frame-pointer $(WARN) $(SANFLAGS) \
          $(PKGS_CFLAGS) -Icore -I$(BUILD)/gen -MMD -MP
LDFLAGS += $(SANFLAGS)
LDLIBS  := $(PKGS_LIBS) -lm

CORE_SRC  := $(sort $(wildcard core/*.c))
APP_SRC   := $(filter-out fcgi-app/main.c,$(sort $(wildcard fcgi-app/*.c)))
TEST_SRC  := $(sort $(wildcard tests/unit/test_*.c))
TOOL_SRC  := $(sort $(wildcard scripts/*.c))
BENCH_SRC := $(sort $(wildcard benchmarks/*.c))
SCHEMA    := $(sort $(wildcard schema/[0-9]*.sql))

CORE_OBJ  := $(CORE_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/migrations.o
APP_OBJ   := $(APP_SRC:%.c=$(BUILD)/%.o)
TESTS     := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOLS     := $(TOOL_SRC:scripts/%.c=$(BUILD)/%)
BENCHES   := $(BENCH_SRC:benchmarks/%.c=$(BUILD)/bench/%)
BIN       := $(BUILD)/cartograph

DEB_PKGS := gcc make pkg-config libfcgi-dev libfcgi-bin spawn-fcgi lighttpd caddy \
            libjansson-dev libsqlite3-dev sqlite3 libcriterion-dev zlib1g-dev libssl-dev \
            prometheus curl wrk procps

.PHONY: all deps run stop test unit integration bench clean format
.DEFAULT_GOAL := all

all: $(BIN) $(TOOLS) $(BENCHES) $(TESTS)

# Install only what is missing; silent and fast when everything is there.
deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
	  | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
	    $$missing >/dev/null || exit 1; \
	fi

$(BUILD)/gen/migrations.c: $(SCHEMA) scripts/embed_sql.sh
	@mkdir -p $(@D)
	sh scripts/embed_sql.sh $@ $(SCHEMA)

$(BUILD)/gen/migrations.o: $(BUILD)/gen/migrations.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libcore.a: $(CORE_OBJ)
	$(AR) rcs $@ $^

$(BUILD)/libapp.a: $(APP_OBJ)
	$(AR) rcs $@ $^

$(BIN): $(BUILD)/fcgi-app/main.o $(BUILD)/libapp.a $(BUILD)/libcore.a
	$(CC) $(LDFLAGS) -o $@ $^ -lfcgi $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libapp.a $(BUILD)/libcore.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Wno-missing-prototypes $(LDFLAGS) -o $@ $< $(BUILD)/libapp.a \
	  $(BUILD)/libcore.a -lcriterion -lfcgi $(LDLIBS)

$(BUILD)/%: scripts/%.c $(BUILD)/libcore.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libcore.a $(LDLIBS)

$(BUILD)/bench/%: benchmarks/%.c $(BUILD)/libcore.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libcore.a -lfcgi $(LDLIBS)

# The generated header dependency must exist before any object is compiled.
$(CORE_OBJ) $(APP_OBJ): | $(BUILD)/gen/migrations.c

run: deps all
	@BUILD=$(BUILD) PORT=$(PORT) WORKERS=$(WORKERS) VAR_DIR=$(VAR_DIR) FRONT=$(FRONT) \
	  scripts/run.sh

stop:
	@VAR_DIR=$(VAR_DIR) scripts/stop.sh

unit: all
	@fail=0; for t in $(TESTS); do echo "== $$t"; $$t --jobs 2 || fail=1; done; exit $$fail

# The tus integration test drives an unmodified tus client (npm, pinned in tests/package-lock.json).
tests/node_modules/.package-lock.json: tests/package.json tests/package-lock.json ; cd tests && npm ci --no-audit --no-fund --loglevel=error
integration: tests/node_modules/.package-lock.json
integration: all
	@BUILD=$(BUILD) tests/integration/run.sh

test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory integration

bench: deps all
	@for b in benchmarks/*/run.sh; do [ -x "$$b" ] && BUILD=$(BUILD) "$$b"; done; true

# EXPLAIN QUERY PLAN of the heavy search queries into docs/explain.md (DB=path, default var/cartograph.db).
explain: all
	@BUILD=$(BUILD) scripts/explain $(DB)

format:
	clang-format -i core/*.c core/*.h fcgi-app/*.c fcgi-app/*.h

clean:
	rm -rf build build-san

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
