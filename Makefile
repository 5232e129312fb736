# migstream: one non-recursive Makefile.
#   make            libmigstream.a and migstream
#   make check      every test (installs missing Debian packages as root)
#   make demo       info and dump on a bundled real stream
#   make asan       the whole suite under AddressSanitizer + UBSan
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCDIR ?= $(PREFIX)/include
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man

CC ?= cc
PKG_CONFIG ?= pkg-config
O ?= build

WARN := -Wall -Wextra -Wshadow -Wvla -Wstrict-prototypes -Wformat=2 \
	-Wno-format-nonliteral -Wno-format-truncation -Werror
CFLAGS ?= -O2 -g
# Libraries the library itself needs (pkg-config names).
LIB_PKGS := jansson zlib libxxhash liblzma libzstd lzo2
# Libraries without a pkg-config file in Debian 12: libbz2.
LIB_LDLIBS := -lbz2
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude -Isrc/lib -MMD -MP \
	$(shell $(PKG_CONFIG) --cflags $(LIB_PKGS) 2>/dev/null) $(CFLAGS) $(SAN)
LDLIBS_JSON := $(shell $(PKG_CONFIG) --libs $(LIB_PKGS) 2>/dev/null) $(LIB_LDLIBS)
LDLIBS_CMOCKA := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)
ALL_LDFLAGS := $(LDFLAGS) $(SAN)

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC := $(wildcard src/lib/*.c)
CLI_SRC := $(wildcard src/cli/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)

LIB_OBJ := $(LIB_SRC:%.c=$(O)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(O)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(O)/tests/%)

# Test programs outside tests/unit: the corpus check and the generator of
# broken streams (testdata/bad/).
EXTRA_TEST_BIN := $(O)/tests/test_corpus $(if $(wildcard tests/bad/genbad.c),$(O)/tests/genbad)

# libFuzzer harnesses, tests/fuzz/fuzz_NAME.c.  `make fuzz` links them with
# libFuzzer (clang) into build-fuzz/fuzz_NAME; every build also links them
# with tests/fuzz/replay.c into $(O)/tests/fuzz/replay_NAME, which runs a
# harness over files (crash reproducers) with any compiler.  mkseeds makes
# the seed corpora from testdata/ (tests/fuzz/seeds.sh).
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAY := $(FUZZ_NAMES:%=$(O)/tests/fuzz/replay_%)
FUZZ_BIN := $(FUZZ_NAMES:%=$(O)/fuzz_%)
FUZZ_TOOLS := $(if $(wildcard tests/fuzz/mkseeds.c),$(O)/tests/fuzz/mkseeds)
EXTRA_TEST_BIN += $(FUZZ_REPLAY) $(FUZZ_TOOLS)
# The mutation sweep of the commands (tests/sweep/).
SWEEP_BIN := $(if $(wildcard tests/sweep/sweep.c),$(O)/tests/sweep/sweep)
EXTRA_TEST_BIN += $(SWEEP_BIN)
# The schema corpus test: vmdesc and schema decode alike (tests/schema/).
EXTRA_TEST_BIN += $(if $(wildcard tests/schema/test_schema_corpus.c),$(O)/tests/test_schema_corpus)
# validate against real loads: the recorded ones (crossload) and QEMU's
# own on streams damaged on purpose (tests/validate/).
VALIDATE_BIN := $(patsubst tests/validate/%.c,$(O)/tests/validate/%,$(wildcard tests/validate/*.c))
EXTRA_TEST_BIN += $(VALIDATE_BIN)
# downgrade: the tool that puts unknown state into real streams
# (tests/downgrade/).
DOWNGRADE_BIN := $(patsubst tests/downgrade/%.c,$(O)/tests/downgrade/%,$(wildcard tests/downgrade/*.c))
EXTRA_TEST_BIN += $(DOWNGRADE_BIN)
FUZZ_CC ?= clang
FUZZ_O ?= build-fuzz
# Seconds each harness runs in `make fuzz-smoke`.
FUZZ_TIME ?= 15

LIB := $(O)/libmigstream.a
BIN := $(O)/migstream

.PHONY: all check check-unit check-cli check-corpus demo deps asan fuzz \
	fuzz-smoke valgrind killsafe check-matrix \
	install clean golden-update
all: $(BIN) $(LIB)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(LDLIBS_JSON)

$(O)/tests/%: $(O)/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LDLIBS_CMOCKA) $(LDLIBS_JSON)

$(O)/tests/test_corpus: $(O)/tests/corpus/test_corpus.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LDLIBS_CMOCKA) $(LDLIBS_JSON)

$(VALIDATE_BIN): $(O)/tests/validate/%: $(O)/tests/validate/%.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LDLIBS_JSON)

$(DOWNGRADE_BIN): $(O)/tests/downgrade/%: $(O)/tests/downgrade/%.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LDLIBS_JSON)

$(O)/tests/test_schema_corpus: $(O)/tests/schema/test_schema_corpus.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LDLIBS_CMOCKA) $(LDLIBS_JSON)

# Where `make install` puts the schemas; the binary also finds them next to
# itself (../schemas in the build tree, ../share/migstream/schemas).
$(O)/src/cli/cmd_schema.o: ALL_CFLAGS += -DMIGSTREAM_SCHEMA_DIR='"$(DATADIR)/migstream/schemas"'

$(O)/tests/genbad: $(O)/tests/bad/genbad.o
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $<

$(FUZZ_REPLAY): $(O)/tests/fuzz/replay_%: $(O)/tests/fuzz/fuzz_%.o \
		$(O)/tests/fuzz/replay.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(O)/tests/fuzz/replay.o $(LIB) $(LDLIBS_JSON)

$(O)/tests/fuzz/mkseeds: $(O)/tests/fuzz/mkseeds.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LDLIBS_JSON)

$(O)/tests/sweep/sweep: $(O)/tests/sweep/sweep.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LDLIBS_JSON)

$(FUZZ_BIN): $(O)/fuzz_%: $(O)/tests/fuzz/fuzz_%.o $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $< $(LIB) $(LDLIBS_JSON)

# The harnesses under libFuzzer, ASan and UBSan, built by clang in
# $(FUZZ_O)/ (the library too: it needs the coverage instrumentation).
fuzz: deps
	$(Q)$(MAKE) --no-print-directory O=$(FUZZ_O) CC=$(FUZZ_CC) \
		CFLAGS="-O1 -g -fno-omit-frame-pointer" \
		WARN="$(WARN) -Wno-unknown-warning-option" \
		SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" \
		$(FUZZ_NAMES:%=$(FUZZ_O)/fuzz_%) \
		$(FUZZ_NAMES:%=$(FUZZ_O)/tests/fuzz/replay_%) \
		$(FUZZ_TOOLS:$(O)/%=$(FUZZ_O)/%)

# Each harness for FUZZ_TIME seconds from the seeds; fails on any finding.
fuzz-smoke: fuzz
	$(Q)sh tests/fuzz/smoke.sh $(FUZZ_O) $(FUZZ_TIME)

# Debian packages the build and the tests need; installed when root,
# otherwise the exact apt-get line is printed and make stops.
deps:
	$(Q)sh tools/deps.sh

check: deps
	$(Q)$(MAKE) --no-print-directory all $(UNIT_BIN) $(EXTRA_TEST_BIN)
	$(Q)sh tests/run.sh $(O)

# validate against QEMU 5.2, 7.2 and 10.0, every stream of testdata/ and
# the damaged ones (needs root: tests/validate/qemu.sh runs 5.2 and 10.0
# from Debian chroots under $$LAB_ROOT, default ~/.cache/qemu-lab).
check-matrix: deps
	$(Q)$(MAKE) --no-print-directory all $(VALIDATE_BIN) $(DOWNGRADE_BIN)
	$(Q)sh tests/validate/run.sh $(O) 5.2 7.2 10.0
	$(Q)sh tests/downgrade/matrix.sh $(O)

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(O)/migstream info testdata/streams/qemu-7.2/v7.2_pc-q35-7.2_plain.mig
	$(O)/migstream dump testdata/streams/qemu-7.2/v7.2_pc-q35-7.2_plain.mig | head -n 60

# Sanitizer reports exit with 99 (not ASan's default 1, which a test that
# accepts exit 1, "the stream is invalid", would take for an answer).
ASAN_ENV := ASAN_OPTIONS=exitcode=99:detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=exitcode=99:print_stacktrace=1
# The mutation sweep is slower under ASan: fewer mutations (SWEEP_N).
ASAN_SWEEP_N ?= 100
asan:
	$(Q)$(ASAN_ENV) SWEEP_N=$(ASAN_SWEEP_N) $(MAKE) --no-print-directory O=build-asan CFLAGS="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" check

# The writing commands killed with SIGKILL at chosen points: input intact,
# output absent, earlier or complete, nothing else left (tests/killsafe/;
# also in make check).
killsafe: all
	$(Q)sh tests/killsafe/run.sh $(O)

# The corpus test and the harness replays under valgrind (memcheck): what
# ASan cannot see (uninitialised reads), with a plain -O2 build.
valgrind: all $(O)/tests/test_corpus $(FUZZ_REPLAY) $(FUZZ_TOOLS)
	$(Q)sh tests/fuzz/valgrind.sh $(O)

golden-update: all
	$(Q)sh tests/cli/run.sh $(O) --update

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
		$(DESTDIR)$(INCDIR)/migstream $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/
	install -m 644 $(LIB) $(DESTDIR)$(LIBDIR)/
	install -m 644 include/migstream/*.h $(DESTDIR)$(INCDIR)/migstream/
	install -m 644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -d $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(DATADIR)/migstream/schemas
	install -m 644 man/*.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 644 schemas/README schemas/curation.json \
		$(DESTDIR)$(DATADIR)/migstream/schemas/
	for d in schemas/qemu-*; do \
		install -d $(DESTDIR)$(DATADIR)/migstream/$$d && \
		install -m 644 $$d/*.json $(DESTDIR)$(DATADIR)/migstream/$$d/ || exit 1; \
	done
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCDIR@|$(INCDIR)|' migstream.pc.in \
		> $(DESTDIR)$(LIBDIR)/pkgconfig/migstream.pc

clean:
	rm -rf build build-asan $(FUZZ_O)

-include $(shell find $(O) -name '*.d' 2>/dev/null)
