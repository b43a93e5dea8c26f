# sim/rtl.mk — Verilate rtl/*.sv for one configuration and build the shared
# library build/rtl/<NAME>/libtern_rtl.so (the C API of include/tern/backend.h,
# implemented by sim/rtl_shim.cpp).
#
#   make -f sim/rtl.mk ROWS=4 COLS=4 WBUF=64 ABUF=256 ACC=512 OUT=256 QD=4 IMEM=8192 BW=4 [PSUM=11]
#   make -f sim/rtl.mk lint          # verilator --lint-only -Wall at 4x4 (and PSUM=11) and 16x16
#
# NAME = r<ROWS>c<COLS>_w<WBUF>_a<ABUF>_c<ACC>_o<OUT>_q<QD>_i<IMEM>_b<BW>[_p<PSUM>]
# (the _p part only when PSUM, the array's partial-sum width, is not 32), the
# same string as tern_hwcfg_rtl_name() (runtime/hwcfg.c).  Rebuilds only when
# an rtl/ or sim/ source (or this file) changes.  RTL_SRCS / RTL_OUT may be
# overridden (e.g. to build against a stand-in module in a private directory).

SHELL := /bin/bash
ROOT  := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)

ROWS ?= 16
COLS ?= 16
WBUF ?= 256
ABUF ?= 4096
ACC  ?= 4096
OUT  ?= 2048
QD   ?= 8
IMEM ?= 65536
BW   ?= 16
PSUM ?= 32

NAME     := r$(ROWS)c$(COLS)_w$(WBUF)_a$(ABUF)_c$(ACC)_o$(OUT)_q$(QD)_i$(IMEM)_b$(BW)$(if $(filter-out 32,$(PSUM)),_p$(PSUM))
RTL_OUT  ?= $(ROOT)/build/rtl
RTL_SRCS ?= $(sort $(wildcard $(ROOT)/rtl/*.sv))
RTL_INCS := $(wildcard $(ROOT)/rtl/*.vh)
SHIM_SRCS := $(ROOT)/sim/rtl_shim.cpp $(wildcard $(ROOT)/sim/rtl_*.h)
# the watchdog's hang report, shared with the ISA simulator (C, no libtern needed)
HANG_SRCS := $(ROOT)/sim/hang.c $(ROOT)/include/tern/hang.h $(ROOT)/include/tern/isa.h \
             $(ROOT)/include/tern/isa_table.h
DIR      := $(RTL_OUT)/$(NAME)
OBJ      := $(DIR)/obj
SO       := $(DIR)/libtern_rtl.so
COMMON   := $(RTL_OUT)/_common

VERILATOR ?= verilator
VROOT    := $(shell $(VERILATOR) --getenv VERILATOR_ROOT 2>/dev/null)
VINC     := $(VROOT)/include
GPARAMS  := -GROWS=$(ROWS) -GCOLS=$(COLS) -GWBUF_DEPTH=$(WBUF) -GABUF_DEPTH=$(ABUF) \
            -GACC_DEPTH=$(ACC) -GOUT_DEPTH=$(OUT) -GQDEPTH=$(QD) -GIMEM_DEPTH=$(IMEM) -GDRAM_BW=$(BW) \
            -GPSUM_W=$(PSUM)
VFLAGS   := --cc --top-module tern_top -I$(ROOT)/rtl --trace-fst --x-assign fast --x-initial fast \
            -Wno-fatal -Wno-lint -Wno-style
# the model and the runtime: position independent, hidden (each .so keeps its own copy)
PICFLAGS := -fPIC -fvisibility=hidden -fvisibility-inlines-hidden
RT_DEFS  := -DVM_TRACE=1 -DVM_TRACE_FST=1 -DVM_COVERAGE=0 -DVM_SC=0
CXX      ?= g++
RT_CXXFLAGS := -std=c++17 -Os $(PICFLAGS) $(RT_DEFS) -I$(VINC) -I$(VINC)/vltstd -w
SHIM_CXXFLAGS := -std=c++17 -O2 -g $(PICFLAGS) $(RT_DEFS) -Wall -Wextra -Werror \
            -I$(ROOT)/include -I$(OBJ) -isystem $(VINC) -isystem $(VINC)/vltstd \
            -DTERN_RTL_ROWS=$(ROWS) -DTERN_RTL_COLS=$(COLS) -DTERN_RTL_WBUF=$(WBUF) \
            -DTERN_RTL_ABUF=$(ABUF) -DTERN_RTL_ACC=$(ACC) -DTERN_RTL_OUT=$(OUT) \
            -DTERN_RTL_QD=$(QD) -DTERN_RTL_IMEM=$(IMEM) -DTERN_RTL_BW=$(BW) -DTERN_RTL_PSUM=$(PSUM) \
            -DTERN_RTL_NAME='"$(NAME)"'

HANG_CFLAGS := -std=c11 -O2 -g -fPIC -fvisibility=hidden -Wall -Wextra -Werror -I$(ROOT)/include

RT_OBJS  := $(COMMON)/verilated.o $(COMMON)/verilated_threads.o $(COMMON)/verilated_fst_c.o

.PHONY: all lint
all: $(SO)

# 1. Verilate + compile the model (Verilator's own makefile, -Os) into Vtern_top__ALL.a
$(OBJ)/Vtern_top__ALL.a: $(RTL_SRCS) $(RTL_INCS) $(ROOT)/sim/rtl.mk
	@mkdir -p $(OBJ)
	@echo "verilator $(NAME)"
	$(VERILATOR) $(VFLAGS) $(GPARAMS) -Mdir $(OBJ) $(RTL_SRCS) -CFLAGS "$(PICFLAGS)" >$(DIR)/verilator.log 2>&1 \
	  || { cat $(DIR)/verilator.log; exit 1; }
	$(MAKE) --no-print-directory -C $(OBJ) -f Vtern_top.mk Vtern_top__ALL.a >>$(DIR)/verilator.log 2>&1 \
	  || { tail -40 $(DIR)/verilator.log; exit 1; }

# 2. the Verilator runtime (configuration independent, built once)
$(COMMON)/%.o: $(VINC)/%.cpp
	@mkdir -p $(COMMON)
	$(CXX) $(RT_CXXFLAGS) -c $< -o $@

# 3. the shim and the shared library
$(DIR)/rtl_shim.o: $(SHIM_SRCS) $(OBJ)/Vtern_top__ALL.a $(ROOT)/include/tern/backend.h \
                   $(ROOT)/include/tern/hang.h $(ROOT)/include/tern/hwcfg.h $(ROOT)/sim/rtl.mk
	$(CXX) $(SHIM_CXXFLAGS) -c $(ROOT)/sim/rtl_shim.cpp -o $@

$(DIR)/hang.o: $(HANG_SRCS) $(ROOT)/sim/rtl.mk
	@mkdir -p $(DIR)
	$(CC) $(HANG_CFLAGS) -c $(ROOT)/sim/hang.c -o $@

$(SO): $(DIR)/rtl_shim.o $(DIR)/hang.o $(OBJ)/Vtern_top__ALL.a $(RT_OBJS)
	$(CXX) -shared -o $@.tmp $(DIR)/rtl_shim.o $(DIR)/hang.o $(OBJ)/Vtern_top__ALL.a $(RT_OBJS) \
	  -Wl,-Bsymbolic -Wl,--no-undefined -lz -pthread
	mv -f $@.tmp $@
	@echo "built $@"

# lint: -Wall, every warning is an error, at two parameter sets
lint:
	$(VERILATOR) --lint-only -Wall --top-module tern_top -I$(ROOT)/rtl $(RTL_SRCS) \
	  -GROWS=4 -GCOLS=4 -GWBUF_DEPTH=64 -GABUF_DEPTH=256 -GACC_DEPTH=512 -GOUT_DEPTH=256 \
	  -GQDEPTH=4 -GIMEM_DEPTH=8192 -GDRAM_BW=4
	$(VERILATOR) --lint-only -Wall --top-module tern_top -I$(ROOT)/rtl $(RTL_SRCS) \
	  -GROWS=4 -GCOLS=4 -GWBUF_DEPTH=64 -GABUF_DEPTH=256 -GACC_DEPTH=512 -GOUT_DEPTH=256 \
	  -GQDEPTH=4 -GIMEM_DEPTH=8192 -GDRAM_BW=4 -GPSUM_W=11
	$(VERILATOR) --lint-only -Wall --top-module tern_top -I$(ROOT)/rtl $(RTL_SRCS) \
	  -GROWS=16 -GCOLS=16 -GWBUF_DEPTH=256 -GABUF_DEPTH=4096 -GACC_DEPTH=4096 -GOUT_DEPTH=2048 \
	  -GQDEPTH=8 -GIMEM_DEPTH=65536 -GDRAM_BW=16
	@echo "lint: clean at 4x4 (32- and 11-bit partial sums) and 16x16"
