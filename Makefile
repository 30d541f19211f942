# ragged — plain Makefile (Redis style).  `make` builds build/ragged and
# build/libragged.a; `make check` runs every test; `make check-asan` runs them
# under AddressSanitizer + UndefinedBehaviorSanitizer.

PREFIX ?= /usr/local
BUILD ?= build
CC ?= cc
PKG_CONFIG ?= pkg-config

# Optional parts.  WITHOUT_CHROMADB=1 builds without libcurl and the
# chromadb backend (core ragged never needs them).
WITHOUT_CHROMADB ?= 0

# Linked: what most commands use (zlib is already there as libxml2's
# dependency).  Opened with dlopen on first use (src/dynlib.h,
# mk/dynlib.mk): poppler-glib, OpenBLAS, libcurl, libarchive, libmicrohttpd
# (serve) and libedit (ask), whose
# loading made start-up slow for every command (bench/startup/); only their
# headers are used at build time.
PKGS := yaml-0.1 sqlite3 jansson libutf8proc libxml-2.0 libzstd zlib
DLOPEN_PKGS := poppler-glib openblas libarchive libmicrohttpd libedit
ifneq ($(WITHOUT_CHROMADB),1)
DLOPEN_PKGS += libcurl
endif

PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) $(DLOPEN_PKGS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wno-format-truncation -Wstrict-prototypes -Wmissing-prototypes
OPT ?= -O2 -g
CFLAGS ?= $(OPT)
ALL_CFLAGS := -std=c17 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(PKG_CFLAGS) -Iinclude -Isrc -pthread -MMD -MP
ALL_LDFLAGS := $(LDFLAGS) -pthread
LIBS := $(PKG_LIBS) -lstemmer -lm

ifeq ($(WITHOUT_CHROMADB),1)
ALL_CFLAGS += -DRG_WITHOUT_CHROMADB
# Files that need libcurl are named *_http*.c or chroma*.c; they are left out.
CURL_SRC := $(wildcard src/*http*.c src/chroma*.c src/store_chromadb.c src/embed_remote.c src/llm*.c)
endif

PUBLIC_HEADERS := src/error.h src/config.h src/embedder.h src/filter.h src/store.h src/reader.h src/ingest.h src/util.h
LIB_SRC := $(filter-out src/main.c $(CURL_SRC),$(wildcard src/*.c))
LIB_OBJ := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
TEST_SRC := $(wildcard tests/unit/*.c)
TEST_OBJ := $(TEST_SRC:tests/unit/%.c=$(BUILD)/test-obj/%.o)

.PHONY: all check check-asan check-unit demo install uninstall clean deps bench help

all: $(BUILD)/ragged $(BUILD)/libragged.a

help:
	@echo "make            build build/ragged and build/libragged.a"
	@echo "make demo       install deps if missing, build, ingest samples/, run a query"
	@echo "make check      run all tests (unit + CLI end-to-end)"
	@echo "make check-asan run all tests under ASan + UBSan"
	@echo "make check-arm64 cross-build for aarch64 and run the tests under qemu-user"
	@echo "make install PREFIX=/usr/local"

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DYNLIB_CFLAGS_$*) -c $< -o $@

$(BUILD)/test-obj/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -c $< -o $@

# The web page of `ragged serve` is assembled into the object (.incbin).
$(BUILD)/obj/serve_page.o: src/serve_page.html

$(BUILD)/libragged.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/ragged: $(BUILD)/obj/main.o $(BUILD)/libragged.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/test_unit: $(TEST_OBJ) $(BUILD)/libragged.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

deps:
	scripts/install-deps.sh

check:
	@scripts/install-deps.sh --if-missing
	@$(MAKE) --no-print-directory $(BUILD)/ragged $(BUILD)/test_unit
	RAGGED_BUILD=$(BUILD) tests/run.sh

check-unit: $(BUILD)/test_unit
	$(BUILD)/test_unit

check-asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	        LDFLAGS="-fsanitize=address,undefined" check

demo:
	@scripts/install-deps.sh --if-missing
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

bench: all
	@echo "see bench/README.md"

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/ragged
	install -m 755 $(BUILD)/ragged $(DESTDIR)$(PREFIX)/bin/ragged
	install -m 644 $(BUILD)/libragged.a $(DESTDIR)$(PREFIX)/lib/libragged.a
	install -m 644 include/ragged.h $(PUBLIC_HEADERS) $(DESTDIR)$(PREFIX)/include/ragged/

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/bin/ragged $(DESTDIR)$(PREFIX)/lib/libragged.a $(DESTDIR)$(PREFIX)/include/ragged

clean:
	rm -rf build build-asan build-fuzz build-arm64

-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(BUILD)/obj/main.d

# Sonames of the libraries opened with dlopen (DYNLIB_CFLAGS_*).
include mk/dynlib.mk
# Fuzz targets, corpus replay in `make check`, soak tests.
include mk/hardening.mk
# aarch64 cross-build tested under qemu-user (make check-arm64).
include mk/portability.mk
