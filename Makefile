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

LIB := $(O)/libmigstream.a
BIN := $(O)/migstream

.PHONY: all check check-unit check-cli check-corpus demo deps asan \
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

$(O)/tests/genbad: $(O)/tests/bad/genbad.o
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $<

# Debian packages the build and the tests need; installed when root,
# otherwise the exact apt-get line is printed and make stops.
deps:
	$(Q)sh tools/deps.sh

check: deps
	$(Q)$(MAKE) --no-print-directory all $(UNIT_BIN) $(EXTRA_TEST_BIN)
	$(Q)sh tests/run.sh $(O)

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(O)/migstream info testdata/streams/qemu-7.2/v7.2_pc-q35-7.2_plain.mig
	$(O)/migstream dump testdata/streams/qemu-7.2/v7.2_pc-q35-7.2_plain.mig | head -n 60

asan:
	$(Q)$(MAKE) --no-print-directory O=build-asan CFLAGS="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" check

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
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCDIR@|$(INCDIR)|' migstream.pc.in \
		> $(DESTDIR)$(LIBDIR)/pkgconfig/migstream.pc

clean:
	rm -rf build build-asan

-include $(shell find $(O) -name '*.d' 2>/dev/null)
