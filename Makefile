# tsdb - time-series similarity database.
#
#   make              build the library, tsdb, tsdb-handler and simsearch
#   make test         build and run every test (C and bats); last line "N passed, N failed"
#   make test-asan    the same suite built with -fsanitize=address,undefined
#   make bench        run the benchmarks (tables on stdout)
#   make db           create the default database in db/ (1000 series, 20 vantage points)
#   make demo         install what is missing, build, make the db, serve it on loopback, query it
#   make install      PREFIX=/usr/local DESTDIR=
#
# Variables: CC (gcc or clang), SAN=1 (sanitizers; builds into build-asan/).

CC       ?= cc
PREFIX   ?= /usr/local
DBDIR    ?= /var/lib/tsdb
DESTDIR  ?=
SAN      ?=
PKGS      = jansson fftw3

ifeq ($(SAN),1)
BUILD    ?= build-asan
SANFLAGS  = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
OPT       = -O1
else
BUILD    ?= build
SANFLAGS  =
OPT       = -O2
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) libsystemd 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm

CFLAGS   ?= $(OPT) -g
ALL_CFLAGS = -std=c17 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla \
             -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -DTSDB_DEFAULT_DB='"$(DBDIR)"' \
             -Iinclude $(PKG_CFLAGS) $(SANFLAGS) $(CFLAGS)
LDFLAGS  ?=
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)

LIB_SRC   := $(wildcard src/*.c)
LIB_OBJ   := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
LIB       := $(BUILD)/libtsdb.a
PROGS     := $(BUILD)/bin/tsdb $(BUILD)/bin/tsdb-handler $(BUILD)/bin/simsearch
TEST_SRC  := $(wildcard tests/c/test_*.c)
TESTS     := $(TEST_SRC:tests/c/%.c=$(BUILD)/tests/%)
BENCH_SRC := $(wildcard tests/bench/bench_*.c)
BENCHES   := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)

.PHONY: all test test-asan check bench db demo install clean deps
all: $(PROGS)

$(BUILD)/obj/%.o: src/%.c $(wildcard include/*.h) | $(BUILD)/obj
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/obj/cmd/%.o: src/cmd/%.c $(wildcard include/*.h) | $(BUILD)/obj/cmd
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/obj/client/%.o: client/%.c $(wildcard include/*.h) | $(BUILD)/obj/client
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/bin/tsdb: $(BUILD)/obj/cmd/tsdb.o $(LIB) | $(BUILD)/bin
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The handler is exec'ed once per connection: jansson and FFTW are linked
# statically so exec maps fewer shared objects (see README, "Performance").
HANDLER_LIBS = -Wl,-Bstatic $(shell pkg-config --libs-only-l $(PKGS) 2>/dev/null) -Wl,-Bdynamic -lm
$(BUILD)/bin/tsdb-handler: $(BUILD)/obj/cmd/tsdb-handler.o $(LIB) | $(BUILD)/bin
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(HANDLER_LIBS)

$(BUILD)/bin/simsearch: $(BUILD)/obj/client/simsearch.o $(LIB) | $(BUILD)/bin
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/%: tests/c/%.c tests/c/tap.h $(LIB) | $(BUILD)/tests
	$(CC) $(ALL_CFLAGS) -Itests/c $(ALL_LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS)

$(BUILD)/bench/%: tests/bench/%.c $(LIB) | $(BUILD)/bench
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS)

$(BUILD)/obj $(BUILD)/obj/cmd $(BUILD)/obj/client $(BUILD)/bin $(BUILD)/tests $(BUILD)/bench:
	mkdir -p $@

test: $(PROGS) $(TESTS)
	tests/run $(BUILD)

test-asan:
	$(MAKE) SAN=1 test

check: test

bench: $(PROGS) $(BENCHES)
	tests/bench/run $(BUILD)

deps:
	scripts/deps

clean:
	rm -rf build build-asan
