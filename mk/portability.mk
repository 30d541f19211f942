# Portability targets (included by the Makefile).  docs/portability.md says
# what is tested where.
#   make check-arm64   cross-build build-arm64/ragged and build-arm64/test_unit
#                      for aarch64 (Debian multiarch, scripts/install-deps.sh
#                      --arm64) and run the unit tests and the server-free
#                      CLI tests in ARM64_CLI_TESTS under qemu-user.
#   make check-portable the native unit tests with RAGGED_SIMD=portable: the
#                      C fallbacks aarch64 and older x86 CPUs run.
# The ChromaDB server is not started there (its tests skip with a printed
# reason): they test the HTTP client, whose code has nothing
# architecture-specific, and would double the time under emulation.

ARM64_BUILD ?= build-arm64
ARM64_CC ?= aarch64-linux-gnu-gcc
ARM64_QEMU ?= qemu-aarch64
ARM64_CLI_TESTS ?= basics ingest_query leann_cli readers_formats query_mode
# libpoppler-glib-dev is not Multi-Arch: same on Debian 12 (installing the
# arm64 one removes the native one), so the arm64 build takes its headers
# from the native package and links the arm64 libpoppler-glib.so.8 through
# the small pkg-config file below.  Everything else comes from the arm64
# -dev packages through Debian's aarch64-linux-gnu-pkg-config.
ARM64_PKG_CONFIG := env PKG_CONFIG_PATH=$(CURDIR)/$(ARM64_BUILD)/pkgconfig aarch64-linux-gnu-pkg-config

.PHONY: check-arm64 check-portable

check-portable: $(BUILD)/test_unit
	RAGGED_SIMD=portable $(BUILD)/test_unit

$(ARM64_BUILD)/pkgconfig/poppler-glib.pc: mk/portability.mk
	@mkdir -p $(dir $@)
	@printf '%s\n' 'Name: poppler-glib' 'Description: arm64 libpoppler-glib.so.8 with the native headers (mk/portability.mk)' \
	    'Version: 0' 'Requires: glib-2.0 gobject-2.0 cairo' 'Libs: -l:libpoppler-glib.so.8' \
	    'Cflags: -I/usr/include/poppler/glib' >$@

# Wrappers named like the native binaries so tests/run.sh runs them as
# usual (RAGGED_BUILD=build-arm64/qemu); no binfmt_misc needed.  The arm64
# loader and libraries are installed by multiarch in /lib/aarch64-linux-gnu.
# Emulated floating point is 10-20x slower than native, so the unit tests
# run as ARM64_JOBS shards in parallel (tests/unit_shards.sh).
ARM64_JOBS ?= 2
$(ARM64_BUILD)/qemu/ragged: mk/portability.mk
	@mkdir -p $(dir $@)
	@printf '#!/bin/sh\nexec %s "%s" "$$@"\n' '$(ARM64_QEMU)' '$(CURDIR)/$(ARM64_BUILD)/ragged' >$@
	@chmod +x $@

$(ARM64_BUILD)/qemu/test_unit: mk/portability.mk
	@mkdir -p $(dir $@)
	@printf '#!/bin/sh\nexec "%s" %s %s "%s" "$$@"\n' '$(CURDIR)/tests/unit_shards.sh' '$(ARM64_JOBS)' \
	    '$(ARM64_QEMU)' '$(CURDIR)/$(ARM64_BUILD)/test_unit' >$@
	@chmod +x $@

check-arm64:
	@scripts/install-deps.sh --arm64
	@$(MAKE) --no-print-directory $(ARM64_BUILD)/pkgconfig/poppler-glib.pc $(ARM64_BUILD)/qemu/ragged \
	    $(ARM64_BUILD)/qemu/test_unit
	@$(MAKE) --no-print-directory BUILD=$(ARM64_BUILD) CC=$(ARM64_CC) PKG_CONFIG='$(ARM64_PKG_CONFIG)' \
	    $(ARM64_BUILD)/ragged $(ARM64_BUILD)/test_unit
	@# ELF e_machine 0xb7 = EM_AARCH64: the cross compiler really was used
	@[ "$$(od -An -tx1 -j18 -N2 $(ARM64_BUILD)/test_unit | tr -d ' ')" = b700 ] || \
	    { echo "check-arm64: $(ARM64_BUILD)/test_unit is not an aarch64 binary" >&2; exit 1; }
	@echo "check-arm64: running the unit tests and CLI tests ($(ARM64_CLI_TESTS)) under $(ARM64_QEMU); no ChromaDB server" >&2
	RAGGED_BUILD=$(ARM64_BUILD)/qemu RAGGED_TEST_NO_SERVICES=1 tests/run.sh unit $(ARM64_CLI_TESTS)
