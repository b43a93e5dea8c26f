// tern_top: IMEM, fetch, the three instruction FIFOs, dependency-token
// counters, the LOAD and STORE units, the compute unit, counters and
// done/error.  Timing: docs/ISA.md "Timing"; ports: rtl/README.md.
//
// Cycle t (t = 0 is the cycle after the start_i pulse) is the clock period
// that ends with the t+1-th rising edge after start; every decision of cycle
// t is combinational on the registered state (the "start of cycle t" state)
// and takes effect at the edge that ends the cycle.
module tern_top #(
    parameter integer ROWS       = 16,
    parameter integer COLS       = 16,
    parameter integer WBUF_DEPTH = 256,
    parameter integer ABUF_DEPTH = 4096,
    parameter integer ACC_DEPTH  = 4096,
    parameter integer OUT_DEPTH  = 2048,
    parameter integer QDEPTH     = 8,
    parameter integer IMEM_DEPTH = 65536,
    parameter integer DRAM_BW    = 16,
    parameter integer PSUM_W     = 32   // partial sums in the array: 9 + log2(ROWS) .. 32 bits
) (
    input  logic                   clk_i,
    input  logic                   rst_ni,
    // host IMEM write port (while idle)
    input  logic                   imem_we_i,
    /* verilator lint_off UNUSEDSIGNAL */
    input  logic [31:0]            imem_addr_i,
    /* verilator lint_on UNUSEDSIGNAL */
    input  logic [127:0]           imem_wdata_i,
    input  logic                   start_i,
    output logic                   running_o,
    output logic                   done_o,
    output logic                   error_o,
    output logic [7:0]             error_code_o,
    output logic                   progress_o,     // some unit is active (the watchdog's progress)
    // DRAM read channel
    output logic                   rd_req_o,
    output logic [31:0]            rd_addr_o,
    output logic [7:0]             rd_len_o,
    input  logic                   rd_valid_i,
    input  logic [DRAM_BW*8-1:0]   rd_data_i,
    // DRAM write channel (posted)
    output logic                   wr_req_o,
    output logic [31:0]            wr_addr_o,
    output logic [7:0]             wr_len_o,
    output logic [DRAM_BW*8-1:0]   wr_data_o,
    // counters
    input  logic [5:0]             cnt_sel_i,
    output logic [63:0]            cnt_value_o,
    // debug state for the harness's watchdog message
    output logic [31:0]            dbg_pc_o,
    output logic [63:0]            dbg_tokens_o,   // L2C, C2L, C2S, S2C (16 bits each, L2C low)
    output logic [23:0]            dbg_fifo_o,     // load, compute, store FIFO counts (8 bits each)
    output logic [4:0]             dbg_state_o     // {compute stall, END fetched, store busy, compute busy, load busy}
);
`include "tern_isa.vh"

  localparam integer AW_W = (WBUF_DEPTH > 1) ? $clog2(WBUF_DEPTH) : 1;
  localparam integer AW_A = (ABUF_DEPTH > 1) ? $clog2(ABUF_DEPTH) : 1;
  localparam integer AW_C = (ACC_DEPTH > 1) ? $clog2(ACC_DEPTH) : 1;
  localparam integer AW_O = (OUT_DEPTH > 1) ? $clog2(OUT_DEPTH) : 1;
  localparam integer AW_I = (IMEM_DEPTH > 1) ? $clog2(IMEM_DEPTH) : 1;
  localparam integer PCW = AW_I + 1;
  localparam integer QCW = $clog2(QDEPTH + 1);

  localparam [7:0] ERR_TOKEN_OVERFLOW = 8'd1;
  localparam [7:0] ERR_TOKEN_UNDERFLOW = 8'd2;
  localparam [7:0] ERR_INVALID_INSN = 8'd3;

  // ------------------------------------------------------------------ state
  logic running_q, done_q, error_q, end_fetched_q;
  logic [7:0] error_code_q;
  logic [PCW-1:0] pc_q, pc_d;
  logic [127:0] fetch_insn_q;  // IMEM[pc_q] (synchronous read with address pc_d)
  logic [63:0] tok_q;  // counter k at [16*k +: 16]

  logic run_en;  // running, no error
  assign run_en = running_q && !error_q;

  // ------------------------------------------------------------------ IMEM
  logic [127:0] imem[0:IMEM_DEPTH-1];
  always_ff @(posedge clk_i) begin
    if (imem_we_i && !running_q) imem[imem_addr_i[AW_I-1:0]] <= imem_wdata_i;
    fetch_insn_q <= imem[pc_d[AW_I-1:0]];
  end

  // ------------------------------------------------------------------ FIFOs
  logic [2:0] fifo_push, fifo_pop;
  logic [3*128-1:0] fifo_head;  // queue q at [128*q +: 128]
  logic [3*QCW-1:0] fifo_count;  // queue q at [QCW*q +: QCW]
  genvar gq;
  generate
    for (gq = 0; gq < 3; gq = gq + 1) begin : g_fifo
      tern_fifo #(
          .DEPTH(QDEPTH),
          .WIDTH(128)
      ) u_fifo (
          .clk_i  (clk_i),
          .rst_ni (rst_ni),
          .push_i (fifo_push[gq]),
          .data_i (fetch_insn_q),
          .pop_i  (fifo_pop[gq]),
          .data_o (fifo_head[128*gq+:128]),
          .count_o(fifo_count[QCW*gq+:QCW])
      );
    end
  endgenerate

  logic fifos_empty;
  assign fifos_empty = (fifo_count[0*QCW+:QCW] == '0) && (fifo_count[1*QCW+:QCW] == '0) && (fifo_count[2*QCW+:QCW] == '0);

  // ------------------------------------------------------------------ fetch
  logic [3:0] f_op;
  logic [1:0] f_queue;
  logic f_valid, f_pop_prev, f_pop_next, f_push_prev, f_push_next;
  assign f_op        = fetch_insn_q[F_ALL_OP_LSB+:F_ALL_OP_W];
  assign f_pop_prev  = fetch_insn_q[F_ALL_POP_PREV_LSB];
  assign f_pop_next  = fetch_insn_q[F_ALL_POP_NEXT_LSB];
  assign f_push_prev = fetch_insn_q[F_ALL_PUSH_PREV_LSB];
  assign f_push_next = fetch_insn_q[F_ALL_PUSH_NEXT_LSB];
  always_comb begin
    case (f_op)
      OP_SYNC:  f_queue = fetch_insn_q[F_SYNC_QUEUE_LSB+:F_SYNC_QUEUE_W];
      OP_LOAD:  f_queue = 2'd0;
      OP_STORE: f_queue = 2'd2;
      default:  f_queue = 2'd1;
    endcase
    // run-time decode checks (tern_validate rejects all of these statically)
    f_valid = 1'b1;
    if (f_op > OP_END) f_valid = 1'b0;
    if (f_op == OP_SYNC && f_queue == 2'd3) f_valid = 1'b0;
    if (f_op == OP_LOAD && fetch_insn_q[F_DMA_MEM_LSB+:F_DMA_MEM_W] > MEM_OUT8) f_valid = 1'b0;
    if (f_op == OP_STORE && fetch_insn_q[F_DMA_MEM_LSB+:F_DMA_MEM_W] != MEM_ACC &&
        fetch_insn_q[F_DMA_MEM_LSB+:F_DMA_MEM_W] != MEM_OUT &&
        fetch_insn_q[F_DMA_MEM_LSB+:F_DMA_MEM_W] != MEM_OUT8)
      f_valid = 1'b0;
    if (f_op == OP_VEC && fetch_insn_q[F_VEC_VOP_LSB+:F_VEC_VOP_W] > VOP_MAC8) f_valid = 1'b0;
    if (f_queue == 2'd0 && (f_pop_prev || f_push_prev)) f_valid = 1'b0;
    if (f_queue == 2'd2 && (f_pop_next || f_push_next)) f_valid = 1'b0;
    if (pc_q == PCW'(IMEM_DEPTH)) f_valid = 1'b0;  // ran off the end of IMEM
  end

  logic done_cond;
  logic fetch_active, fetch_fire, fetch_stall, fetch_bad;
  logic [QCW-1:0] f_qcount;
  always_comb begin
    case (f_queue)
      2'd0:    f_qcount = fifo_count[0*QCW+:QCW];
      2'd1:    f_qcount = fifo_count[1*QCW+:QCW];
      default: f_qcount = fifo_count[2*QCW+:QCW];
    endcase
  end
  assign fetch_active = run_en && !done_cond && !end_fetched_q;
  assign fetch_bad    = fetch_active && !f_valid;
  assign fetch_fire   = fetch_active && f_valid && (f_qcount < QCW'(QDEPTH));
  assign fetch_stall  = fetch_active && f_valid && !fetch_fire;
  assign fifo_push[0] = fetch_fire && (f_queue == 2'd0);
  assign fifo_push[1] = fetch_fire && (f_queue == 2'd1);
  assign fifo_push[2] = fetch_fire && (f_queue == 2'd2);

  always_comb begin
    if (start_i && !running_q) pc_d = '0;
    else if (fetch_fire) pc_d = pc_q + 1'b1;
    else pc_d = pc_q;
  end

  // ------------------------------------------------------------------ tokens
  logic [3:0] tok_pop, tok_push;
  logic [3:0] tok_nz;
  assign tok_nz[0] = tok_q[0*16+:16] != 16'd0;
  assign tok_nz[1] = tok_q[1*16+:16] != 16'd0;
  assign tok_nz[2] = tok_q[2*16+:16] != 16'd0;
  assign tok_nz[3] = tok_q[3*16+:16] != 16'd0;

  // ------------------------------------------------------------------ load queue
  logic [127:0] l_insn;
  logic l_valid, l_is_sync, l_tokens_ok, l_start, l_finish, l_busy, l_stall, l_push_next;
  logic l_push_next_q;
  logic ld_busy, ld_finish;
  assign l_insn      = fifo_head[0*128+:128];
  assign l_valid     = run_en && (fifo_count[0*QCW+:QCW] != '0);
  assign l_is_sync   = l_insn[F_ALL_OP_LSB+:F_ALL_OP_W] == OP_SYNC;
  assign l_tokens_ok = !l_insn[F_ALL_POP_NEXT_LSB] || tok_nz[TOK_C2L];
  assign l_start     = l_valid && !ld_busy && l_tokens_ok;
  assign l_stall     = l_valid && !ld_busy && !l_tokens_ok;
  assign l_busy      = run_en && (ld_busy || l_start);
  assign l_finish    = (l_start && l_is_sync) || ld_finish;
  assign l_push_next = (l_start && l_is_sync) ? l_insn[F_ALL_PUSH_NEXT_LSB] : l_push_next_q;

  logic ld_wbuf_we, ld_abuf_we, ld_acc_we, ld_out_we;
  logic [AW_W-1:0] ld_wbuf_waddr;
  logic [AW_A-1:0] ld_abuf_waddr;
  logic [AW_C-1:0] ld_acc_waddr;
  logic [AW_O-1:0] ld_out_waddr;
  logic [ROWS*COLS*2-1:0] ld_wbuf_wdata;
  logic [ROWS*8-1:0] ld_abuf_wdata;
  logic [COLS*32-1:0] ld_acc_wdata;
  logic [COLS*8-1:0] ld_out_wdata;
  logic [COLS-1:0] ld_out_be;

  tern_dma_load #(
      .ROWS(ROWS),
      .COLS(COLS),
      .WBUF_DEPTH(WBUF_DEPTH),
      .ABUF_DEPTH(ABUF_DEPTH),
      .ACC_DEPTH(ACC_DEPTH),
      .OUT_DEPTH(OUT_DEPTH),
      .DRAM_BW(DRAM_BW),
      .AW_W(AW_W),
      .AW_A(AW_A),
      .AW_C(AW_C),
      .AW_O(AW_O)
  ) u_load (
      .clk_i       (clk_i),
      .rst_ni      (rst_ni),
      .start_i     (l_start && !l_is_sync),
      .insn_i      (l_insn),
      .busy_o      (ld_busy),
      .finish_o    (ld_finish),
      .rd_req_o    (rd_req_o),
      .rd_addr_o   (rd_addr_o),
      .rd_len_o    (rd_len_o),
      .rd_valid_i  (rd_valid_i),
      .rd_data_i   (rd_data_i),
      .wbuf_we_o   (ld_wbuf_we),
      .wbuf_waddr_o(ld_wbuf_waddr),
      .wbuf_wdata_o(ld_wbuf_wdata),
      .abuf_we_o   (ld_abuf_we),
      .abuf_waddr_o(ld_abuf_waddr),
      .abuf_wdata_o(ld_abuf_wdata),
      .acc_we_o    (ld_acc_we),
      .acc_waddr_o (ld_acc_waddr),
      .acc_wdata_o (ld_acc_wdata),
      .out_we_o    (ld_out_we),
      .out_waddr_o (ld_out_waddr),
      .out_wdata_o (ld_out_wdata),
      .out_be_o    (ld_out_be)
  );

  // ------------------------------------------------------------------ store queue
  logic [127:0] s_insn;
  logic s_valid, s_is_sync, s_tokens_ok, s_start, s_finish, s_busy, s_stall, s_push_prev;
  logic s_push_prev_q;
  logic st_busy, st_finish, st_word_rd;
  assign s_insn      = fifo_head[2*128+:128];
  assign s_valid     = run_en && (fifo_count[2*QCW+:QCW] != '0);
  assign s_is_sync   = s_insn[F_ALL_OP_LSB+:F_ALL_OP_W] == OP_SYNC;
  assign s_tokens_ok = !s_insn[F_ALL_POP_PREV_LSB] || tok_nz[TOK_C2S];
  assign s_start     = s_valid && !st_busy && s_tokens_ok;
  assign s_stall     = s_valid && !st_busy && !s_tokens_ok;
  assign s_busy      = run_en && (st_busy || s_start);
  assign s_finish    = (s_start && s_is_sync) || st_finish;
  assign s_push_prev = (s_start && s_is_sync) ? s_insn[F_ALL_PUSH_PREV_LSB] : s_push_prev_q;

  logic st_acc_re, st_out_re;
  logic [AW_C-1:0] st_acc_raddr;
  logic [AW_O-1:0] st_out_raddr;
  logic [COLS*32-1:0] c_acc_rdata;
  logic [COLS*8-1:0] c_out_rdata;

  tern_dma_store #(
      .COLS(COLS),
      .ACC_DEPTH(ACC_DEPTH),
      .OUT_DEPTH(OUT_DEPTH),
      .DRAM_BW(DRAM_BW),
      .AW_C(AW_C),
      .AW_O(AW_O)
  ) u_store (
      .clk_i      (clk_i),
      .rst_ni     (rst_ni),
      .start_i    (s_start && !s_is_sync),
      .insn_i     (s_insn),
      .busy_o     (st_busy),
      .finish_o   (st_finish),
      .acc_re_o   (st_acc_re),
      .acc_raddr_o(st_acc_raddr),
      .acc_rdata_i(c_acc_rdata),
      .out_re_o   (st_out_re),
      .out_raddr_o(st_out_raddr),
      .out_rdata_i(c_out_rdata),
      .word_rd_o  (st_word_rd),
      .wr_req_o   (wr_req_o),
      .wr_addr_o  (wr_addr_o),
      .wr_len_o   (wr_len_o),
      .wr_data_o  (wr_data_o)
  );

  // ------------------------------------------------------------------ compute
  logic [127:0] c_insn;
  logic c_valid, c_tokens_ok, c_start, c_finish, c_push_prev, c_push_next, c_busy, c_stall;
  logic c_end_done, c_gemm_empty;
  logic [64*NCOUNTERS-1:0] c_cnt;
  assign c_insn = fifo_head[1*128+:128];
  assign c_valid = run_en && (fifo_count[1*QCW+:QCW] != '0);
  assign c_tokens_ok = (!c_insn[F_ALL_POP_PREV_LSB] || tok_nz[TOK_L2C]) &&
                       (!c_insn[F_ALL_POP_NEXT_LSB] || tok_nz[TOK_S2C]);

  tern_compute #(
      .ROWS(ROWS),
      .COLS(COLS),
      .WBUF_DEPTH(WBUF_DEPTH),
      .ABUF_DEPTH(ABUF_DEPTH),
      .ACC_DEPTH(ACC_DEPTH),
      .OUT_DEPTH(OUT_DEPTH),
      .PSUM_W(PSUM_W)
  ) u_compute (
      .clk_i             (clk_i),
      .rst_ni            (rst_ni),
      .insn_valid_i      (c_valid),
      .insn_i            (c_insn),
      .tokens_ok_i       (c_tokens_ok),
      .insn_start_o      (c_start),
      .insn_finish_o     (c_finish),
      .finish_push_prev_o(c_push_prev),
      .finish_push_next_o(c_push_next),
      .busy_o            (c_busy),
      .stall_o           (c_stall),
      .end_done_o        (c_end_done),
      .gemm_empty_o      (c_gemm_empty),
      .wbuf_we_i         (ld_wbuf_we),
      .wbuf_waddr_i      (ld_wbuf_waddr),
      .wbuf_wdata_i      (ld_wbuf_wdata),
      .abuf_we_i         (ld_abuf_we),
      .abuf_waddr_i      (ld_abuf_waddr),
      .abuf_wdata_i      (ld_abuf_wdata),
      .acc_we_i          (ld_acc_we),
      .acc_waddr_i       (ld_acc_waddr),
      .acc_wdata_i       (ld_acc_wdata),
      .out_we_i          (ld_out_we),
      .out_waddr_i       (ld_out_waddr),
      .out_wdata_i       (ld_out_wdata),
      .out_be_i          (ld_out_be),
      .acc_re_i          (st_acc_re),
      .acc_raddr_i       (st_acc_raddr),
      .acc_rdata_o       (c_acc_rdata),
      .out_re_i          (st_out_re),
      .out_raddr_i       (st_out_raddr),
      .out_rdata_o       (c_out_rdata),
      .cnt_o             (c_cnt)
  );

  assign fifo_pop[0] = l_start;
  assign fifo_pop[1] = c_start && c_valid;
  assign fifo_pop[2] = s_start;

  // token moves: L2C load->compute, C2L compute->load, C2S compute->store, S2C store->compute
  assign tok_pop[TOK_L2C]  = c_start && c_valid && c_insn[F_ALL_POP_PREV_LSB];
  assign tok_pop[TOK_S2C]  = c_start && c_valid && c_insn[F_ALL_POP_NEXT_LSB];
  assign tok_pop[TOK_C2L]  = l_start && l_insn[F_ALL_POP_NEXT_LSB];
  assign tok_pop[TOK_C2S]  = s_start && s_insn[F_ALL_POP_PREV_LSB];
  assign tok_push[TOK_L2C] = run_en && l_finish && l_push_next;
  assign tok_push[TOK_C2L] = run_en && c_finish && c_push_prev;
  assign tok_push[TOK_C2S] = run_en && c_finish && c_push_next;
  assign tok_push[TOK_S2C] = run_en && s_finish && s_push_prev;

  logic tok_overflow, tok_underflow;
  logic [4*17-1:0] tok_d;
  always_comb begin
    tok_overflow  = 1'b0;
    tok_underflow = 1'b0;
    for (int k = 0; k < 4; k++) begin
      tok_d[17*k+:17] = {1'b0, tok_q[16*k+:16]} + {16'd0, tok_push[k]} - {16'd0, tok_pop[k]};
      if (tok_pop[k] && !tok_nz[k]) tok_underflow = 1'b1;
      else if (tok_d[17*k+16]) tok_overflow = 1'b1;
    end
  end

  // ------------------------------------------------------------------ done / error
  assign done_cond = run_en && c_end_done && fifos_empty && !ld_busy && !st_busy && !c_busy &&
                     c_gemm_empty;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      running_q     <= 1'b0;
      done_q        <= 1'b0;
      error_q       <= 1'b0;
      error_code_q  <= '0;
      end_fetched_q <= 1'b0;
      pc_q          <= '0;
      l_push_next_q <= 1'b0;
      s_push_prev_q <= 1'b0;
      tok_q         <= '0;
    end else begin
      pc_q <= pc_d;
      if (start_i && !running_q) begin
        running_q     <= 1'b1;
        done_q        <= 1'b0;
        error_q       <= 1'b0;
        error_code_q  <= '0;
        end_fetched_q <= 1'b0;
      end else if (run_en) begin
        if (done_cond) begin
          running_q <= 1'b0;
          done_q    <= 1'b1;
        end
        if (fetch_fire && f_op == OP_END) end_fetched_q <= 1'b1;
        if (fetch_bad) begin
          error_q      <= 1'b1;
          error_code_q <= ERR_INVALID_INSN;
          running_q    <= 1'b0;
        end else if (tok_underflow) begin
          error_q      <= 1'b1;
          error_code_q <= ERR_TOKEN_UNDERFLOW;
          running_q    <= 1'b0;
        end else if (tok_overflow) begin
          error_q      <= 1'b1;
          error_code_q <= ERR_TOKEN_OVERFLOW;
          running_q    <= 1'b0;
        end
        for (int k = 0; k < 4; k++) tok_q[16*k+:16] <= tok_d[17*k+:16];
      end
      if (l_start && !l_is_sync) l_push_next_q <= l_insn[F_ALL_PUSH_NEXT_LSB];
      if (s_start && !s_is_sync) s_push_prev_q <= s_insn[F_ALL_PUSH_PREV_LSB];
    end
  end

  // ------------------------------------------------------------------ counters owned by tern_top
  logic [64*NCOUNTERS-1:0] cnt_q, cnt_inc;  // counter k at [64*k +: 64]
  logic [7:0] dram_rd_bytes, dram_wr_bytes;
  assign dram_rd_bytes = rd_req_o ? rd_len_o : 8'd0;
  assign dram_wr_bytes = wr_req_o ? wr_len_o : 8'd0;
  logic counting;
  assign counting = run_en && !done_cond;

  always_comb begin
    cnt_inc = '0;
    cnt_inc[64*CNT_CYCLES+:64] = 64'(counting);
    cnt_inc[64*CNT_LOAD_BUSY+:64] = 64'(counting && l_busy);
    cnt_inc[64*CNT_LOAD_STALL+:64] = 64'(counting && l_stall);
    cnt_inc[64*CNT_STORE_BUSY+:64] = 64'(counting && s_busy);
    cnt_inc[64*CNT_STORE_STALL+:64] = 64'(counting && s_stall);
    cnt_inc[64*CNT_FETCH_STALL+:64] = 64'(fetch_stall);
    cnt_inc[64*CNT_INSN_LOAD+:64] = 64'(l_start);
    cnt_inc[64*CNT_INSN_STORE+:64] = 64'(s_start);
    cnt_inc[64*CNT_WBUF_WR+:64] = 64'(ld_wbuf_we);
    cnt_inc[64*CNT_ABUF_WR+:64] = 64'(ld_abuf_we);
    cnt_inc[64*CNT_ACC_WR+:64] = 64'(ld_acc_we);
    cnt_inc[64*CNT_OUT_WR+:64] = 64'(ld_out_we);  // a word (OUT) or a byte (OUT8)
    cnt_inc[64*CNT_ACC_RD+:64] = 64'(st_word_rd && st_acc_re);
    cnt_inc[64*CNT_OUT_RD+:64] = 64'(st_word_rd && st_out_re);
    cnt_inc[64*CNT_DRAM_RD_BYTES+:64] = 64'(dram_rd_bytes);
    cnt_inc[64*CNT_DRAM_WR_BYTES+:64] = 64'(dram_wr_bytes);
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cnt_q <= '0;
    end else begin
      for (int k = 0; k < NCOUNTERS; k++) cnt_q[64*k+:64] <= cnt_q[64*k+:64] + cnt_inc[64*k+:64];
    end
  end

  // counter read: tern_top's own count plus compute's (each counter has one owner,
  // except ACC_RD / ACC_WR / OUT_RD / OUT_WR whose DMA and compute parts are added)
  logic [63:0] c_cnt_sel, t_cnt_sel;
  always_comb begin
    c_cnt_sel = 64'd0;
    t_cnt_sel = 64'd0;
    for (int k = 0; k < NCOUNTERS; k++) begin
      if (cnt_sel_i == 6'(k)) begin
        c_cnt_sel = c_cnt[64*k+:64];
        t_cnt_sel = cnt_q[64*k+:64];
      end
    end
  end
  assign cnt_value_o = c_cnt_sel + t_cnt_sel;

  // ------------------------------------------------------------------ outputs
  assign running_o    = running_q;
  assign done_o       = done_q;
  assign error_o      = error_q;
  assign error_code_o = error_code_q;
  // progress (docs/ISA.md "Watchdog"): some unit is active in this cycle.
  //   fetch    pushes an instruction into a FIFO (FIFO pops and token pops
  //            happen at starts, token pushes at finishes: all counted below)
  //   load     starts (l_start, also SYNC) or is busy: ld_busy covers the beat
  //            requests s+1..s+B and the beats outstanding in DRAM latency
  //            until the last arrives (s+B+DRAM_LAT), so a LOAD waiting on
  //            dram_lat is working
  //   store    starts or is busy: SRAM reads and DRAM write beats
  //   compute  starts or is busy: GEMM row issue, vector-unit busy cycles,
  //            SYNC and END
  //   array    GEMM rows in the pipeline (until gemm_drain)
  //   done     the run completes this cycle
  // Low means every unit is idle or waits on a token with nothing in flight:
  // such a cycle changes no state, so it repeats forever (a deadlock).
  assign progress_o   = run_en && (fetch_fire || l_busy || s_busy || c_busy || !c_gemm_empty ||
                                   done_cond);

  assign dbg_pc_o     = 32'(pc_q);
  assign dbg_tokens_o = tok_q;
  assign dbg_fifo_o   = {8'(fifo_count[2*QCW+:QCW]), 8'(fifo_count[QCW+:QCW]), 8'(fifo_count[0+:QCW])};
  assign dbg_state_o  = {c_stall, end_fetched_q, st_busy, c_busy, ld_busy};
endmodule
