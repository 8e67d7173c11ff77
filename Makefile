# tsdb - time-series similarity database.
#
#   make              build the library, tsdb, tsdb-handler and simsearch
#   make test         build and run every test (C and bats); last line "N passed, N failed, N skipped"
#   make test-asan    the same suite built with -fsanitize=address,undefined
#   make bench        run the benchmarks (tables on stdout)
#   make db           create the default database in db/ (1000 series, 20 vantage points)
#   make layers       check the module dependency rules (docs/DESIGN.md); run by make test
#   make lint         ShellCheck and the dead-assertion check; run by make test
#   make demo         install what is missing, build, make the db, serve it on loopback, query it
#   make install      PREFIX=/usr/local DESTDIR=
#   make deb          the Debian packages, in build/deb/ (lintian-checked)
#
# Variables: CC (gcc or clang), SAN=1 (sanitizers; builds into build-asan/).

CC       ?= cc
PREFIX   ?= /usr/local
DBDIR    ?= /var/lib/tsdb
DESTDIR  ?=
SAN      ?=
PKGS      = jansson fftw3
# The version is the newest entry of debian/changelog: one place for the
# programs' --version and the package.
VERSION  := $(shell head -n 1 debian/changelog | cut -d ' ' -f 2 | tr -d '()')

ifeq ($(SAN),1)
BUILD    ?= build-asan
SANFLAGS  = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
OPT       = -O1
# valgrind cannot run sanitized programs, and the container of
# systemd.bats runs the installed (unsanitized) ones: make test runs both.
TEST_EXCLUDE = --exclude valgrind.bats --exclude systemd.bats --exclude deb.bats
else
BUILD    ?= build
SANFLAGS  =
OPT       = -O2
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
# libseccomp: only what links the handler module (sandbox.c) needs it.
SECCOMP_LIBS := $(shell pkg-config --libs libseccomp 2>/dev/null || echo -lseccomp)

CFLAGS   ?= $(OPT) -g
# CPPFLAGS and LDFLAGS from the environment too (dpkg-buildflags: debian/rules).
CPPFLAGS ?=
ALL_CFLAGS = -std=c17 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla \
             -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -DTSDB_DEFAULT_DB='"$(DBDIR)"' \
             -DTSDB_VERSION='"$(VERSION)"' -Iinclude $(PKG_CFLAGS) $(SANFLAGS) $(CPPFLAGS) $(CFLAGS)
# Each object also writes its header dependencies (build/**/*.d, read below).
DEPFLAGS  = -MMD -MP
LDFLAGS  ?=
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)

LIB_SRC   := $(wildcard src/*.c)
LIB_OBJ   := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
LIB       := $(BUILD)/libtsdb.a
PROGS     := $(BUILD)/bin/tsdb $(BUILD)/bin/tsdb-handler $(BUILD)/bin/simsearch
TEST_SRC  := $(wildcard tests/c/test_*.c)
TESTS     := $(TEST_SRC:tests/c/%.c=$(BUILD)/tests/%)
# Manual pages, made from the programs' own --help (scripts/mkman).
MANPAGES  := $(BUILD)/manpages/tsdb.1 $(BUILD)/manpages/simsearch.1 $(BUILD)/manpages/tsdb-handler.8 \
             $(BUILD)/manpages/tsdb-service.7
# Not a test itself: systemd.bats runs it inside a unit (tests/c/probe.h).
PROBE     := $(BUILD)/tests/sandbox-probe
BENCH_SRC := $(wildcard tests/bench/bench_*.c)
BENCHES   := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)

.PHONY: all test test-c test-asan check bench db demo install clean deps layers lint man deb
all: $(PROGS) $(MANPAGES)
man: $(MANPAGES)

$(BUILD)/manpages/%.1: $(BUILD)/bin/% scripts/mkman | $(BUILD)/manpages
	scripts/mkman $< 1 >$@.tmp && mv -f $@.tmp $@
$(BUILD)/manpages/%.8: $(BUILD)/bin/% scripts/mkman | $(BUILD)/manpages
	scripts/mkman $< 8 >$@.tmp && mv -f $@.tmp $@
$(BUILD)/manpages/%.7: man/%.txt scripts/mkman | $(BUILD)/manpages
	scripts/mkman $< 7 >$@.tmp && mv -f $@.tmp $@

# Before the first compile: the libraries are there, or a message says how
# to install them (scripts/check-libs).
$(BUILD)/.libs-ok: | $(BUILD)/obj
	scripts/check-libs
	touch $@

$(BUILD)/obj/%.o: src/%.c | $(BUILD)/obj $(BUILD)/.libs-ok
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/obj/cmd/%.o: src/cmd/%.c | $(BUILD)/obj/cmd
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/obj/client/%.o: client/%.c | $(BUILD)/obj/client
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

# tsdb is every file of src/cmd/tsdb/ and its manual (man/tsdb.txt).
TSDB_OBJ := $(patsubst src/cmd/tsdb/%.c,$(BUILD)/obj/cmd/tsdb/%.o,$(wildcard src/cmd/tsdb/*.c)) \
            $(BUILD)/obj/man/tsdb.o
$(TSDB_OBJ): | $(BUILD)/obj/cmd/tsdb $(BUILD)/obj/man
$(BUILD)/bin/tsdb: $(TSDB_OBJ) $(LIB) | $(BUILD)/bin
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -pthread

# The manuals: man/PROG.txt as C strings PROG_manual_* (scripts/mkmanual).
$(BUILD)/man/%.c: man/%.txt scripts/mkmanual | $(BUILD)/man
	scripts/mkmanual $(subst -,_,$*)_manual $< >$@.tmp && mv -f $@.tmp $@

$(BUILD)/obj/man/%.o: $(BUILD)/man/%.c | $(BUILD)/obj/man
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The handler is exec'ed once per connection: it is linked static-pie, so
# exec maps no shared objects and runs no dynamic loader, and keeps ASLR
# (see README, "Performance").  Sanitizer builds cannot link static.
ifeq ($(SAN),1)
HANDLER_LIBS = $(PKG_LIBS) $(SECCOMP_LIBS)
else
HANDLER_LIBS = -static-pie $(shell pkg-config --libs-only-l $(PKGS) 2>/dev/null) $(SECCOMP_LIBS) -lm
endif
$(BUILD)/bin/tsdb-handler: $(BUILD)/obj/cmd/tsdb-handler.o $(BUILD)/obj/man/tsdb-handler.o $(LIB) | $(BUILD)/bin
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(HANDLER_LIBS)

$(BUILD)/bin/simsearch: $(BUILD)/obj/client/simsearch.o $(BUILD)/obj/man/simsearch.o $(LIB) | $(BUILD)/bin
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/%: tests/c/%.c $(LIB) | $(BUILD)/tests
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -Itests/c $(ALL_LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) $(SECCOMP_LIBS)

$(BUILD)/bench/%: tests/bench/%.c $(LIB) | $(BUILD)/bench
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) $(SECCOMP_LIBS) -pthread

# The service benchmark's floor: linked exactly like tsdb-handler.
$(BUILD)/bench/empty-handler: tests/bench/empty_handler.c $(LIB) | $(BUILD)/bench
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(HANDLER_LIBS)

$(BUILD)/obj $(BUILD)/obj/cmd $(BUILD)/obj/client $(BUILD)/bin $(BUILD)/tests $(BUILD)/bench \
$(BUILD)/obj/cmd/tsdb $(BUILD)/obj/man $(BUILD)/man $(BUILD)/manpages:
	mkdir -p $@

-include $(shell find $(BUILD) -name '*.d' -type f 2>/dev/null)

# tests/run counts every result ("N passed, N failed, N skipped"); the
# lint and the layering rules run inside it as tests (lint.bats).
test: $(PROGS) $(MANPAGES) $(TESTS) $(PROBE)
	tests/run $(TEST_EXCLUDE) $(BUILD)

# Only the C tests: no servers, no containers (the package build runs it).
test-c: $(TESTS) $(PROBE)
	tests/run --c-only $(BUILD)

# ShellCheck and the dead-assertion check on every shell file.
lint:
	scripts/lint

# The dependency rules of docs/DESIGN.md ("Modules and layers"), checked
# on the includes of every source and on the symbols of the linked programs.
layers: $(PROGS)
	scripts/layers $(BUILD)

test-asan:
	$(MAKE) SAN=1 test

check: test

bench: $(PROGS) $(BENCHES) $(BUILD)/bench/empty-handler
	tests/bench/run $(BUILD)

deps:
	@scripts/deps

clean:
	rm -rf build build-asan

# ---------------------------------------------------------------------------
# install, uninstall, db, demo
#
#   make install [PREFIX=/usr/local] [DESTDIR=] [DBDIR=/var/lib/tsdb] [SPOOLDIR=/var/spool/tsdb]
# installs the programs already built in $(BUILD) (building them if
# missing) to $(PREFIX)/bin, the systemd units to $(PREFIX)/lib/systemd/system
# with @BINDIR@, @DBDIR@ and @SPOOLDIR@ filled in, and the documentation to
# $(PREFIX)/share/doc/tsdb, the users and directories to
# $(PREFIX)/lib/sysusers.d/tsdb.conf and tmpfiles.d/tsdb.conf; every path
# is prefixed by $(DESTDIR) (staging).  Without DESTDIR, on a host that
# runs systemd, it then creates the users and directories and reloads
# systemd (scripts/post-install), so that what remains is
#     systemctl enable --now tsdb.socket tsdb-ingest.timer
# DBDIR is also compiled into the programs: give the same value to make and
# to make install.
SPOOLDIR ?= /var/spool/tsdb
BINDIR    = $(PREFIX)/bin
UNITDIR   = $(PREFIX)/lib/systemd/system
DOCDIR    = $(PREFIX)/share/doc/tsdb
MANDIR    = $(PREFIX)/share/man
# POSTINSTALL=no: copy files only, even without DESTDIR (the tests).
POSTINSTALL ?= yes
SYSUSERSDIR = $(PREFIX)/lib/sysusers.d
TMPFILESDIR = $(PREFIX)/lib/tmpfiles.d
UNITS    := $(wildcard units/*.socket units/*.service units/*.timer)
# Where bash-completion looks (pkg-config's completionsdir for PREFIX=/usr;
# under /usr/local it finds them through XDG_DATA_DIRS).
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
COMPLETIONS := completions/tsdb completions/simsearch
DOCS     := $(wildcard README.md docs/*.md)

.PHONY: uninstall
install: $(PROGS) $(MANPAGES)
	install -d '$(DESTDIR)$(BINDIR)' '$(DESTDIR)$(UNITDIR)' '$(DESTDIR)$(DOCDIR)' \
		'$(DESTDIR)$(SYSUSERSDIR)' '$(DESTDIR)$(TMPFILESDIR)' '$(DESTDIR)$(MANDIR)/man1' '$(DESTDIR)$(MANDIR)/man7' \
		'$(DESTDIR)$(MANDIR)/man8' '$(DESTDIR)$(BASHCOMPDIR)'
	install -m 0755 $(PROGS) '$(DESTDIR)$(BINDIR)/'
	install -m 0644 $(COMPLETIONS) '$(DESTDIR)$(BASHCOMPDIR)/'
	install -m 0644 $(filter %.1,$(MANPAGES)) '$(DESTDIR)$(MANDIR)/man1/'
	install -m 0644 $(filter %.7,$(MANPAGES)) '$(DESTDIR)$(MANDIR)/man7/'
	install -m 0644 $(filter %.8,$(MANPAGES)) '$(DESTDIR)$(MANDIR)/man8/'
	scripts/install-units '$(DESTDIR)$(UNITDIR)' '$(BINDIR)' '$(DBDIR)' '$(SPOOLDIR)' $(UNITS)
	scripts/install-units '$(DESTDIR)$(SYSUSERSDIR)' '$(BINDIR)' '$(DBDIR)' '$(SPOOLDIR)' units/tsdb.sysusers=tsdb.conf
	scripts/install-units '$(DESTDIR)$(TMPFILESDIR)' '$(BINDIR)' '$(DBDIR)' '$(SPOOLDIR)' units/tsdb.tmpfiles=tsdb.conf
	$(if $(DOCS),install -m 0644 $(DOCS) '$(DESTDIR)$(DOCDIR)/')
	$(if $(DESTDIR),,$(if $(filter yes,$(POSTINSTALL)),scripts/post-install '$(SYSUSERSDIR)/tsdb.conf' '$(TMPFILESDIR)/tsdb.conf'))

uninstall:
	rm -f $(foreach f,$(notdir $(PROGS)),'$(DESTDIR)$(BINDIR)/$(f)') \
	      $(foreach f,$(notdir $(UNITS)),'$(DESTDIR)$(UNITDIR)/$(f)') \
	      $(foreach f,$(notdir $(DOCS)),'$(DESTDIR)$(DOCDIR)/$(f)') \
	      '$(DESTDIR)$(SYSUSERSDIR)/tsdb.conf' '$(DESTDIR)$(TMPFILESDIR)/tsdb.conf' \
	      $(foreach f,$(notdir $(COMPLETIONS)),'$(DESTDIR)$(BASHCOMPDIR)/$(f)') \
	      $(foreach f,$(notdir $(MANPAGES)),'$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(f)))/$(f)')
	-rmdir '$(DESTDIR)$(DOCDIR)' 2>/dev/null || true

# make deb: the Debian packages tsdb and python3-tsdbclient, built from a
# copy of the tree by dpkg-buildpackage (debian/), checked by lintian;
# written to $(BUILD)/deb/ (scripts/mkdeb).
deb:
	scripts/mkdeb $(BUILD)/deb

# make db: the default database in db/ (scripts/mkdb).
db: $(BUILD)/bin/tsdb
	scripts/mkdb $(BUILD)

# make demo: scripts/deps, make, make db, then serve db/ on 127.0.0.1 and
# query it with simsearch (see scripts/demo).
demo:
	BUILD='$(BUILD)' scripts/demo

# ---- fuzzing (tests/fuzz/README.md) -------------------------------------
#   make fuzz FUZZ_SECONDS=60   build the libFuzzer targets into build-fuzz/ and
#                               run each for FUZZ_SECONDS (non-zero exit on a crash)
#   make fuzz-smoke             the same for 20 s each (CI)
#   make fuzz-build             only build them
# The library is rebuilt with coverage (fuzzer-no-link) and ASan+UBSan; its
# warnings are not errors here so that fuzzing is never blocked by a new
# warning elsewhere (the normal build has -Werror); the harnesses have it.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BUILD   := build-fuzz
FUZZ_NAMES   := request series dbfile handler pred lang
FUZZ_SAN      = -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS   = -std=c17 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wvla -D_GNU_SOURCE \
                -D_FILE_OFFSET_BITS=64 -Iinclude $(PKG_CFLAGS) $(FUZZ_SAN)
FUZZ_LIB_OBJ := $(LIB_SRC:src/%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_LIB     := $(FUZZ_BUILD)/libtsdb-fuzz.a
FUZZ_BINS    := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-seeds
$(FUZZ_BUILD)/obj/%.o: src/%.c | $(FUZZ_BUILD)/obj
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(DEPFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB) | $(FUZZ_BUILD)/obj
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(DEPFLAGS) -Werror -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) $(PKG_LIBS) $(SECCOMP_LIBS)

$(FUZZ_BUILD)/mkseed: tests/fuzz/mkseed.c $(FUZZ_LIB) | $(FUZZ_BUILD)/obj
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(DEPFLAGS) -Werror -fsanitize=fuzzer-no-link -o $@ $< $(FUZZ_LIB) $(PKG_LIBS) $(SECCOMP_LIBS)

$(FUZZ_BUILD)/obj:
	mkdir -p $@

-include $(shell find $(FUZZ_BUILD) -name '*.d' -type f 2>/dev/null)

fuzz-build: $(FUZZ_BINS) $(FUZZ_BUILD)/mkseed

# The committed db seeds are regenerated only when that directory is empty.
fuzz-seeds: $(FUZZ_BUILD)/mkseed
	@mkdir -p tests/fuzz/corpus/dbfile
	@if [ -z "$$(ls -A tests/fuzz/corpus/dbfile)" ]; then $(FUZZ_BUILD)/mkseed tests/fuzz/corpus/dbfile; fi

fuzz: fuzz-build fuzz-seeds
	tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_NAMES)

fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=20
