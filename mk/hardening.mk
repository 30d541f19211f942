# Hardening targets (included by the Makefile).
#   make fuzz-build        libFuzzer targets in build-fuzz/ (clang, ASan + UBSan)
#   make fuzz-smoke        every target for FUZZ_SMOKE_SECONDS (CI)
#   make fuzz              every target for FUZZ_SECONDS (long runs)
#   make soak              the fault-injection tests with SOAK_ITERATIONS kills each (a failure stops it)
# `make check` builds fuzz/replay.c around each target with $(CC) and replays
# the seed and regression corpora in fuzz/corpus/ (tests/cli/fuzz_replay.sh).

FUZZ_CC ?= clang
FUZZ_BUILD ?= build-fuzz
FUZZ_SMOKE_SECONDS ?= 8
FUZZ_SECONDS ?= 600
FUZZ_SAN := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -std=c17 -D_GNU_SOURCE $(filter-out -Wno-format-truncation,$(WARN)) $(FUZZ_SAN) $(PKG_CFLAGS) -Iinclude -Isrc -Ifuzz -pthread -MMD -MP
FUZZ_TARGETS := $(patsubst fuzz/%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_LIB_OBJ := $(LIB_SRC:src/%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_REPLAY := $(FUZZ_TARGETS:%=$(BUILD)/fuzz-replay/%)

SOAK_ITERATIONS ?= 20
SOAK_TESTS := kill_ingest kill_ops concurrent_ingest kill_points kill_migrate kill_migrate_points chroma_outage

.PHONY: fuzz fuzz-build fuzz-smoke soak

$(FUZZ_BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(DYNLIB_CFLAGS_$*) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/libragged-fuzz.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c $(wildcard fuzz/*.h) $(FUZZ_BUILD)/libragged-fuzz.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_BUILD)/libragged-fuzz.a $(LIBS)

fuzz-build: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/%)

fuzz-smoke: fuzz-build
	fuzz/run.sh $(FUZZ_SMOKE_SECONDS)

fuzz: fuzz-build
	fuzz/run.sh $(FUZZ_SECONDS)

$(BUILD)/fuzz-replay/fuzz_%: fuzz/fuzz_%.c fuzz/replay.c $(wildcard fuzz/*.h) $(BUILD)/libragged.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ifuzz -o $@ $< fuzz/replay.c $(ALL_LDFLAGS) $(BUILD)/libragged.a $(LIBS)

check: $(FUZZ_REPLAY)

-include $(FUZZ_LIB_OBJ:.o=.d)

soak: $(BUILD)/ragged
	@for t in $(SOAK_TESTS); do \
	    tmp=$$(mktemp -d); echo "== $$t ($(SOAK_ITERATIONS) iterations)"; \
	    RAGGED=$(CURDIR)/$(BUILD)/ragged RAGGED_REPO=$(CURDIR) TMP=$$tmp XDG_DATA_HOME=$$tmp/data \
	    XDG_CONFIG_HOME=$$tmp/config HOME=$$tmp/home RAGGED_TEST_KILL_ITERATIONS=$(SOAK_ITERATIONS) \
	    RAGGED_TEST_CONCURRENT_ROUNDS=$$(( $(SOAK_ITERATIONS) / 10 + 1 )) \
	    RAGGED_TEST_KILL_POINT_SYSCALLS='fdatasync fsync rename pwrite64' \
	    RAGGED_TEST_MIGRATE_POINT_SYSCALLS='rename fsync fdatasync' \
	    RAGGED_TEST_MIGRATE_POINT_DIRECTIONS='exact-to-exact exact-to-leann exact-to-chromadb' \
	    RAGGED_TEST_MIGRATE_NET_SYSCALLS='sendto recvfrom' RAGGED_TEST_MIGRATE_POINT_TAIL=25 \
	    RAGGED_TEST_OUTAGE_ITERATIONS=$$(( $(SOAK_ITERATIONS) / 2 )) bash tests/cli/$$t.sh >$$tmp.log 2>&1; \
	    rc=$$?; grep -v Killed $$tmp.log; rm -f $$tmp.log; \
	    [ $$rc -eq 0 ] || [ $$rc -eq 77 ] || { echo "$$t failed (exit $$rc); its files: $$tmp"; exit 1; }; \
	    rm -rf $$tmp; done
