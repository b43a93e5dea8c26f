# tern — the one entry point.  `make demo`, `make test`, `make bench`, `make fuzz`.
# Every target that needs a Debian package runs scripts/install-deps.sh first.

SHELL := /bin/bash
ROOT  := $(CURDIR)
B     := build
CC    := gcc
CXX   := g++
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -Wall -Wextra -Werror -Iinclude -D_POSIX_C_SOURCE=200809L -DTERN_ROOT='"$(ROOT)"' -MMD -MP
CXXFLAGS ?= -O2 -g
CXXFLAGS += -std=c++17 -Wall -Wextra -Werror -Iinclude -DTERN_ROOT='"$(ROOT)"' -MMD -MP
LDLIBS   := -lz -linih -ljansson -lpcre2-8 -lm -ldl -lpthread
# SAN: sanitizer flags added to every compile and link.  Empty for the normal
# build; `make sanitize` and the fast sanitizer subset of `make test` set it
# together with B=build/asan, so sanitized objects never mix with build/.
SAN      :=
CFLAGS   += $(SAN)
CXXFLAGS += $(SAN)

# libtern: everything in models/ compiler/ runtime/ reports/ and the ISA simulator.
# runtime/tern.c holds main() of the CLI and is not part of the library.
LIB_SRCS := $(wildcard models/*.c compiler/*.c runtime/*.c reports/*.c sim/isasim*.c sim/hang.c)
LIB_SRCS := $(filter-out runtime/tern.c,$(LIB_SRCS))
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/obj/%.o)
TEST_SRCS := $(wildcard tests/*.cc)
TEST_OBJS := $(TEST_SRCS:%.cc=$(B)/obj/%.o)

# RTL configurations built as shared libraries (sim/rtl.mk).  The names must
# match tern_hwcfg_rtl_name(); runtime/backend.c builds missing ones itself.
RTL_T4      := ROWS=4 COLS=4 WBUF=64 ABUF=256 ACC=512 OUT=256 QD=4 IMEM=8192 BW=4
RTL_T8      := ROWS=8 COLS=8 WBUF=64 ABUF=512 ACC=1024 OUT=512 QD=4 IMEM=8192 BW=8
# the same with the narrowest exact partial sums in the array (psum_bits = 9 + log2(rows))
RTL_T4N     := $(RTL_T4) PSUM=11
RTL_T8N     := $(RTL_T8) PSUM=12
RTL_DEFAULT := ROWS=16 COLS=16 WBUF=256 ABUF=4096 ACC=4096 OUT=2048 QD=8 IMEM=65536 BW=16

.PHONY: all deps lib tern tests rtl-lib rtl-test-libs rtl-default-lib demo test bench fuzz lint \
        isa-vh-check synth-check clean

all: tern

deps:
	@./scripts/install-deps.sh

$(B)/obj/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(B)/obj/%.o: %.cc | deps
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -c $< -o $@

$(B)/libtern.a: $(LIB_OBJS)
	@mkdir -p $(B)
	rm -f $@ && ar rcs $@ $^

lib: $(B)/libtern.a

$(B)/tern: $(B)/obj/runtime/tern.o $(B)/libtern.a
	$(CC) $(SAN) $^ -o $@ $(LDLIBS)

tern: $(B)/tern

$(B)/gen_isa_vh: tools/gen_isa_vh.c include/tern/isa_table.h include/tern/counters.h | deps
	@mkdir -p $(B)
	$(CC) -std=c11 -Wall -Wextra -Werror -Iinclude $< -o $@

# tests: one GoogleTest binary; scripts/run_tests.sh adds the lint / synthesis
# / generated-file checks and prints the final "tests: N passed, M failed".
$(B)/tern_tests: $(TEST_OBJS) $(B)/libtern.a
	$(CXX) $(SAN) $^ -o $@ -lgtest $(LDLIBS)

tests: $(B)/tern_tests

rtl-lib: | deps
	@$(MAKE) --no-print-directory -f sim/rtl.mk $(RTL_PARAMS)

rtl-test-libs: | deps
	@$(MAKE) --no-print-directory -f sim/rtl.mk $(RTL_T4)
	@$(MAKE) --no-print-directory -f sim/rtl.mk $(RTL_T8)
	@$(MAKE) --no-print-directory -f sim/rtl.mk $(RTL_T4N)
	@$(MAKE) --no-print-directory -f sim/rtl.mk $(RTL_T8N)

rtl-default-lib: | deps
	@$(MAKE) --no-print-directory -f sim/rtl.mk $(RTL_DEFAULT)

lint: | deps
	@$(MAKE) --no-print-directory -f sim/rtl.mk lint

# lint-top: `tern rtl-top` (rtl/README.md "Using the RTL in your flow") for
# TOP_ARRAY (default: 4x4 and 16x16) with TOP_SET="key=value ...", each
# wrapper linted with verilator --lint-only -Wall together with rtl/*.sv.
.PHONY: lint-top
lint-top: tern | deps
	@mkdir -p $(B)/rtl-top
	@set -e; for a in $(or $(TOP_ARRAY),4x4 16x16); do \
	  m=tern_top_lint_$$a; f=$(B)/rtl-top/$$m.v; \
	  $(B)/tern rtl-top --array $$a $(addprefix --set ,$(TOP_SET)) --name $$m -o $$f >/dev/null; \
	  verilator --lint-only -Wall --top-module $$m -Irtl rtl/*.sv $$f; \
	  echo "lint-top: $$f ($$a$(if $(TOP_SET), $(TOP_SET))) clean"; \
	done

isa-vh-check: $(B)/gen_isa_vh
	@$(B)/gen_isa_vh | diff -u rtl/tern_isa.vh - && echo "rtl/tern_isa.vh matches include/tern/isa_table.h"

synth-check: | deps
	@TERN_SYNTH_FULL=1 ./rtl/synth/check_nomul.sh 4 4

# the default 16x16 RTL too: tests/test_watchdog.cc times a deadlock report on it
test: deps tern tests rtl-test-libs rtl-default-lib $(B)/gen_isa_vh asan-fast
	@./scripts/run_tests.sh

demo: deps tern rtl-default-lib
	@./scripts/demo.sh

# CPU backend ternary GEMV bench (tools/bench_cpu.c): links only the kernels.
$(B)/bench_cpu: tools/bench_cpu.c $(B)/obj/runtime/cpu_kernels.o $(B)/obj/runtime/cpu_kernels_x86.o \
                $(B)/obj/runtime/err.o | deps
	@mkdir -p $(B)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $^ -o $@ $(LDLIBS)

bench: deps tern rtl-default-lib $(B)/bench_cpu
	@./scripts/bench.sh

# make train: retrain the shipped models (PyTorch; scripts/train.sh, models/train/README.md)
.PHONY: train train-test
train:
	@./scripts/train.sh

train-test:
	@./scripts/train.sh test

# make fuzz: fresh seeds, the RTL-vs-ISA random programs on every RTL configuration
# (the test ones and the default 16x16) and the mutation fuzzers, in FUZZ_JOBS
# (default 2) processes; scripts/fuzz.sh prints the seeds, the counts and the wall time.
fuzz: deps tern tests rtl-test-libs rtl-default-lib
	@./scripts/fuzz.sh

# ---- sanitizers and coverage-guided fuzzing (docs/FUZZING.md) ----------------
# make sanitize: library, CLI and every test built with gcc's ASan + UBSan in
# build/asan (never mixed with build/), then the whole suite run there.
# make test runs a fast subset (build/asan/tern_tests_fast, below).  Objects
# are not rebuilt when SAN_FLAGS change: rm -rf build/asan after editing them.
ASAN_B    := build/asan
# -O1 (placed after the default -O2: the last -O wins): ASan's recommended
# level, and a third of -O2's compile time for the GoogleTest files.
# float-cast-overflow: in clang's -fsanitize=undefined, not in gcc's.
SAN_FLAGS := -O1 -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all -fno-omit-frame-pointer
.PHONY: sanitize asan-build asan-fast
asan-build: | deps
	@$(MAKE) --no-print-directory B=$(ASAN_B) SAN="$(SAN_FLAGS)" $(ASAN_B)/tern $(ASAN_B)/tern_tests

# the fast subset of make test: only the test files it runs (the filter is in
# scripts/run_tests.sh), linked against the sanitized library
ASAN_FAST_TESTS := main test_parsers_fuzz test_isa test_isasim test_sync test_gguf test_tokenizer \
                   test_tfm test_rnn test_mlp test_runtime test_rnn_mix test_fuzz_regress test_hardening
ASAN_FAST_OBJS  := $(ASAN_FAST_TESTS:%=$(B)/obj/tests/%.o)
$(B)/tern_tests_fast: $(ASAN_FAST_OBJS) $(B)/libtern.a
	$(CXX) $(SAN) $^ -o $@ -lgtest $(LDLIBS)

asan-fast: | deps
	@$(MAKE) --no-print-directory B=$(ASAN_B) SAN="$(SAN_FLAGS)" $(ASAN_B)/tern_tests_fast

sanitize: deps asan-build rtl-test-libs
	@./scripts/run_sanitize.sh

# make fuzz-cov SECONDS=N: every fuzz/fuzz_*.c harness for N seconds with
# libFuzzer (clang -fsanitize=fuzzer,address,undefined) against a
# clang-built instrumented library in build/fuzz; one summary line per harness.
FUZZ_B       := build/fuzz
FUZZ_CC      := clang
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_NAMES   := $(patsubst fuzz/%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_BINS    := $(FUZZ_NAMES:%=$(FUZZ_B)/bin/%)
SECONDS      ?= 60
.PHONY: fuzz-deps fuzz-lib fuzz-build fuzz-cov
fuzz-deps:
	@./scripts/install-deps.sh fuzz

fuzz-lib: | fuzz-deps
	@$(MAKE) --no-print-directory CC=$(FUZZ_CC) B=$(FUZZ_B) \
	  SAN="$(FUZZ_SAN) -fsanitize=fuzzer-no-link" $(FUZZ_B)/libtern.a

$(FUZZ_B)/bin/%: fuzz/%.c fuzz/fuzz.h fuzz/fuzz_ckpt.h $(FUZZ_B)/libtern.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -O1 -g -Wall -Wextra -Werror -Iinclude -D_POSIX_C_SOURCE=200809L $(FUZZ_SAN) \
	  -fsanitize=fuzzer $< $(FUZZ_B)/libtern.a -o $@ $(LDLIBS) -lstdc++

fuzz-build: fuzz-lib
	@$(MAKE) --no-print-directory $(FUZZ_BINS)

# make fuzz-seeds: regenerates the seed corpora fuzz/corpus/ (checked in)
# with fuzz/make_seeds.c (the normal library) plus files of tests/ and reports/.
.PHONY: fuzz-seeds
$(B)/make_seeds: fuzz/make_seeds.c fuzz/fuzz.h $(B)/libtern.a
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $< $(B)/libtern.a -o $@ $(LDLIBS)

fuzz-seeds: $(B)/make_seeds
	rm -rf fuzz/corpus $(B)/seeds-tmp
	$(B)/make_seeds fuzz/corpus $(B)/seeds-tmp
	cp tests/corpus/*.s fuzz/corpus/fuzz_asm/
	cp tests/corpus/*.tbin fuzz/corpus/fuzz_tbin/
	cp tests/corpus/*.bin fuzz/corpus/fuzz_exec/
	cp tests/corpus/model_*.tern fuzz/corpus/fuzz_tfm_desc/
	mkdir -p fuzz/corpus/fuzz_sweep_spec fuzz/corpus/fuzz_tokenizer
	cp reports/sweeps/*.ini fuzz/corpus/fuzz_sweep_spec/
	cp tests/tokenizer_data/*.json fuzz/corpus/fuzz_tokenizer/
	{ cat tests/tokenizer_data/llama3_tiny.json; printf '\n#--tern-fuzz-part--#\n'; \
	  printf 'Hello <|begin_of_text|> world 123 \xc3\xa9'; } >fuzz/corpus/fuzz_tokenizer/llama3_with_text
	rm -rf $(B)/seeds-tmp
	@du -sh fuzz/corpus

fuzz-cov: fuzz-build
	@./scripts/fuzz_cov.sh $(SECONDS) $(or $(FUZZ_ONLY),$(FUZZ_NAMES))

clean:
	rm -rf $(B) reports/out

-include $(LIB_OBJS:.o=.d) $(TEST_OBJS:.o=.d) $(B)/obj/runtime/tern.d
