// tern_compute: the compute unit (docs/ISA.md, rtl/README.md).
//
// Executes the compute queue: GEMM, VEC, SYNC (queue = compute) and END with
// the exact durations of docs/ISA.md "Timing".  Owns WBUF, ABUF, ACC and OUT,
// the ternary array and the vector unit, and the compute-side counters.
//
// GEMM pipeline (issue cycle c of one activation row, R = ROWS):
//   c          issue: bank 0 read addresses (stage 0 of the address delay line)
//   c+k        bank k reads (WBUF only for the first row of a GEMM) into its
//              read register = the shadow of PE row k
//   c+k+1      PE row k adds its column partial sums (registered)
//   c+R+1      stage A: bottom-row sums valid; ACC read (unless RESET)
//   c+R+2      stage B: ACC write of old+sum (or sum), with one-deep forwarding
//              of the previous cycle's write to the same word
// so the write of a row issued at c lands in cycle c+GEMM_LAT-1 and is
// visible from c+GEMM_LAT, GEMM_LAT = R + T_GEMM_PIPE_EXTRA.
module tern_compute #(
  parameter integer ROWS       = 4,
  parameter integer COLS       = 4,
  parameter integer WBUF_DEPTH = 16,
  parameter integer ABUF_DEPTH = 64,
  parameter integer ACC_DEPTH  = 64,
  parameter integer OUT_DEPTH  = 32,
  parameter integer PSUM_W     = 32   // the array's partial sums (tern_array)
) (
  clk_i, rst_ni,
  insn_valid_i, insn_i, tokens_ok_i,
  insn_start_o, insn_finish_o, finish_push_prev_o, finish_push_next_o,
  busy_o, stall_o, end_done_o, gemm_empty_o,
  wbuf_we_i, wbuf_waddr_i, wbuf_wdata_i,
  abuf_we_i, abuf_waddr_i, abuf_wdata_i,
  acc_we_i, acc_waddr_i, acc_wdata_i,
  out_we_i, out_waddr_i, out_wdata_i, out_be_i,
  acc_re_i, acc_raddr_i, acc_rdata_o,
  out_re_i, out_raddr_i, out_rdata_o,
  cnt_o
);
  `include "tern_isa.vh"

  localparam integer AW_W = (WBUF_DEPTH > 1) ? $clog2(WBUF_DEPTH) : 1;
  localparam integer AW_A = (ABUF_DEPTH > 1) ? $clog2(ABUF_DEPTH) : 1;
  localparam integer AW_C = (ACC_DEPTH  > 1) ? $clog2(ACC_DEPTH)  : 1;
  localparam integer AW_O = (OUT_DEPTH  > 1) ? $clog2(OUT_DEPTH)  : 1;
  localparam integer GEMM_LAT = ROWS + T_GEMM_PIPE_EXTRA;  // row issue -> ACC write visible
  localparam integer STAGE_A  = ROWS + 1;                  // delay-line index of the ACC read
  localparam integer NSTAGE   = ROWS + 2;                  // delay line entries 0..STAGE_A
  localparam integer NNZ_W    = $clog2(COLS + 1);

  input  logic                     clk_i;
  input  logic                     rst_ni;
  input  logic                     insn_valid_i;
  input  logic [127:0]             insn_i;
  input  logic                     tokens_ok_i;
  output logic                     insn_start_o;
  output logic                     insn_finish_o;
  output logic                     finish_push_prev_o;
  output logic                     finish_push_next_o;
  output logic                     busy_o;
  output logic                     stall_o;
  output logic                     end_done_o;
  output logic                     gemm_empty_o;
  input  logic                     wbuf_we_i;
  input  logic [AW_W-1:0]          wbuf_waddr_i;
  input  logic [ROWS*COLS*2-1:0]   wbuf_wdata_i;
  input  logic                     abuf_we_i;
  input  logic [AW_A-1:0]          abuf_waddr_i;
  input  logic [ROWS*8-1:0]        abuf_wdata_i;
  input  logic                     acc_we_i;
  input  logic [AW_C-1:0]          acc_waddr_i;
  input  logic [COLS*32-1:0]       acc_wdata_i;
  input  logic                     out_we_i;      // load DMA: OUT word / OUT8 byte
  input  logic [AW_O-1:0]          out_waddr_i;
  input  logic [COLS*8-1:0]        out_wdata_i;
  input  logic [COLS-1:0]          out_be_i;      // byte enables
  input  logic                     acc_re_i;
  input  logic [AW_C-1:0]          acc_raddr_i;
  output logic [COLS*32-1:0]       acc_rdata_o;
  input  logic                     out_re_i;
  input  logic [AW_O-1:0]          out_raddr_i;
  output logic [COLS*8-1:0]        out_rdata_o;
  output logic [64*NCOUNTERS-1:0]  cnt_o;

  // =========================================================================
  // decode
  // =========================================================================
  logic [3:0]  f_op;
  logic        f_push_prev, f_push_next;
  logic        f_reset;
  logic [15:0] f_wbuf, f_abuf, f_acc, f_m, f_astride, f_accstride;
  logic [5:0]  f_vop;
  logic [11:0] f_vn, f_vrows;
  assign f_op        = insn_i[F_ALL_OP_LSB +: F_ALL_OP_W];
  assign f_push_prev = insn_i[F_ALL_PUSH_PREV_LSB];
  assign f_push_next = insn_i[F_ALL_PUSH_NEXT_LSB];
  assign f_reset     = insn_i[F_GEMM_RESET_LSB];
  assign f_wbuf      = insn_i[F_GEMM_WBUF_ADDR_LSB   +: F_GEMM_WBUF_ADDR_W];
  assign f_abuf      = insn_i[F_GEMM_ABUF_ADDR_LSB   +: F_GEMM_ABUF_ADDR_W];
  assign f_acc       = insn_i[F_GEMM_ACC_ADDR_LSB    +: F_GEMM_ACC_ADDR_W];
  assign f_m         = insn_i[F_GEMM_M_LSB           +: F_GEMM_M_W];
  assign f_astride   = insn_i[F_GEMM_ABUF_STRIDE_LSB +: F_GEMM_ABUF_STRIDE_W];
  assign f_accstride = insn_i[F_GEMM_ACC_STRIDE_LSB  +: F_GEMM_ACC_STRIDE_W];
  assign f_vop       = insn_i[F_VEC_VOP_LSB          +: F_VEC_VOP_W];
  assign f_vn        = insn_i[F_VEC_N_LSB            +: F_VEC_N_W];
  assign f_vrows     = insn_i[F_VEC_ROWS_LSB         +: F_VEC_ROWS_W];

  // Duration D of the head instruction (docs/ISA.md "Timing"), without a
  // multiplier: a VEC instruction is busy for a "stream" of OUTER x INNER
  // cycles after its start cycle, then for a fixed TAIL:
  //   E/Q/R:  ROWS x N words, tail VEC_PIPE       -> D = 1 + ROWS*N + VEC_PIPE
  //   MAC8:   N x ROWS B words, tail VEC_PIPE     -> D = 1 + ROWS*N + VEC_PIPE
  //   LUTLD:  1 x N words, tail VEC_PIPE          -> D = 1 + N + VEC_PIPE
  //   RECIP:  ROWS x T_RECIP_PER_ROW, no tail      -> D = 1 + ROWS*68
  //   RSQRT:  ROWS x T_RSQRT_PER_ROW, no tail      -> D = 1 + ROWS*100
  // GEMM and SYNC/END are a plain count of TAIL cycles after the start cycle.
  logic [11:0] d_outer, d_inner;
  logic [16:0] d_tail;
  always_comb begin
    d_outer = 12'd0;
    d_inner = 12'd0;
    d_tail  = 17'd0;  // SYNC, END (and anything tern_top rejects as invalid)
    if (f_op == OP_GEMM) begin
      if (f_push_prev || f_push_next) d_tail = {1'b0, f_m} + GEMM_LAT[16:0] - 17'd1;  // until its last ACC write
      else                            d_tail = {1'b0, f_m};                           // one row per cycle
    end else if (f_op == OP_VEC) begin
      case (f_vop)
        VOP_RECIP: begin d_outer = f_vrows; d_inner = T_RECIP_PER_ROW[11:0]; end
        VOP_RSQRT: begin d_outer = f_vrows; d_inner = T_RSQRT_PER_ROW[11:0]; end
        VOP_LUTLD: begin d_outer = 12'd1;   d_inner = f_vn; d_tail = T_VEC_PIPE[16:0]; end
        VOP_MAC8:  begin d_outer = f_vn;    d_inner = f_vrows; d_tail = T_VEC_PIPE[16:0]; end
        default: if (f_vop <= VOP_RMAXABS) begin
                   d_outer = f_vrows; d_inner = f_vn; d_tail = T_VEC_PIPE[16:0];
                 end
      endcase
    end
  end
  logic d_stream, d_one;
  assign d_stream = (d_outer != 12'd0) && (d_inner != 12'd0);
  assign d_one    = !d_stream && (d_tail == 17'd0);    // D = 1: finishes in its start cycle

  // =========================================================================
  // control: start rule, busy count, finish, END
  // =========================================================================
  logic        busy_q, end_done_q, push_prev_q, push_next_q;
  logic        stream_q;                     // in the OUTER x INNER part
  logic [11:0] outer_q, inner_q, inner_len_q;
  logic [16:0] tail_q;                       // tail length (while streaming) / tail cycles left
  logic [31:0] drain_q;      // cycles until the GEMM pipeline is empty (0 = empty)
  logic        start, gemm_start, vec_start, stream_last, last_busy;

  assign gemm_empty_o = (drain_q == 32'd0);
  assign start        = insn_valid_i && tokens_ok_i && !busy_q && (f_op == OP_GEMM || gemm_empty_o);
  assign gemm_start   = start && (f_op == OP_GEMM);
  assign vec_start    = start && (f_op == OP_VEC);
  assign stream_last  = stream_q && (outer_q == 12'd1) && (inner_q == 12'd1);
  assign last_busy    = busy_q && (stream_q ? (stream_last && tail_q == 17'd0) : (tail_q == 17'd1));

  assign insn_start_o       = start;
  assign busy_o             = start || busy_q;
  assign stall_o            = insn_valid_i && !busy_q && !start;
  assign insn_finish_o      = (start && d_one) || last_busy;
  assign finish_push_prev_o = busy_q ? push_prev_q : f_push_prev;
  assign finish_push_next_o = busy_q ? push_next_q : f_push_next;
  assign end_done_o         = end_done_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      busy_q <= 1'b0;
      stream_q <= 1'b0;
      outer_q <= 12'd0;
      inner_q <= 12'd0;
      inner_len_q <= 12'd0;
      tail_q <= 17'd0;
      push_prev_q <= 1'b0;
      push_next_q <= 1'b0;
      end_done_q <= 1'b0;
      drain_q <= 32'd0;
    end else begin
      if (start) begin
        busy_q <= !d_one;
        stream_q <= d_stream;
        outer_q <= d_outer;
        inner_q <= d_inner;
        inner_len_q <= d_inner;
        tail_q <= d_tail;
        push_prev_q <= f_push_prev;
        push_next_q <= f_push_next;
        if (f_op == OP_END) end_done_q <= 1'b1;
      end else if (busy_q) begin
        if (stream_q) begin
          if (inner_q != 12'd1) begin
            inner_q <= inner_q - 12'd1;
          end else if (outer_q != 12'd1) begin
            outer_q <= outer_q - 12'd1;
            inner_q <= inner_len_q;
          end else begin
            stream_q <= 1'b0;                  // tail_q already holds the tail length
            busy_q <= (tail_q != 17'd0);
          end
        end else begin
          tail_q <= tail_q - 17'd1;
          busy_q <= (tail_q != 17'd1);
        end
      end
      // gemm_drain = s + M + GEMM_LAT: empty from that cycle on
      if (gemm_start)             drain_q <= {16'd0, f_m} + GEMM_LAT - 32'd1;
      else if (drain_q != 32'd0)  drain_q <= drain_q - 32'd1;
    end
  end

  // =========================================================================
  // GEMM row sequencer: rows issued in s+1 .. s+M
  // =========================================================================
  logic [15:0] g_left_q, g_a_q, g_acc_q, g_astr_q, g_accstr_q, g_w_q;
  logic        g_reset_q;
  // next value of delay-line stage 0 (the issue register)
  logic            iss_valid, iss_first, iss_reset;
  logic [AW_W-1:0] iss_w;
  logic [AW_A-1:0] iss_a;
  logic [AW_C-1:0] iss_acc;
  always_comb begin
    iss_valid = 1'b0;
    iss_first = 1'b0;
    iss_reset = g_reset_q;
    iss_w     = g_w_q[AW_W-1:0];
    iss_a     = g_a_q[AW_A-1:0];
    iss_acc   = g_acc_q[AW_C-1:0];
    if (gemm_start) begin
      iss_valid = (f_m != 16'd0);
      iss_first = 1'b1;
      iss_reset = f_reset;
      iss_w     = f_wbuf[AW_W-1:0];
      iss_a     = f_abuf[AW_A-1:0];
      iss_acc   = f_acc[AW_C-1:0];
    end else if (g_left_q != 16'd0) begin
      iss_valid = 1'b1;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      g_left_q <= 16'd0;
      g_a_q <= 16'd0; g_acc_q <= 16'd0; g_astr_q <= 16'd0; g_accstr_q <= 16'd0;
      g_w_q <= 16'd0; g_reset_q <= 1'b0;
    end else if (gemm_start) begin
      g_left_q   <= (f_m != 16'd0) ? f_m - 16'd1 : 16'd0;
      g_a_q      <= f_abuf + f_astride;
      g_acc_q    <= f_acc + f_accstride;
      g_astr_q   <= f_astride;
      g_accstr_q <= f_accstride;
      g_w_q      <= f_wbuf;
      g_reset_q  <= f_reset;
    end else if (g_left_q != 16'd0) begin
      g_left_q <= g_left_q - 16'd1;
      g_a_q    <= g_a_q + g_astr_q;
      g_acc_q  <= g_acc_q + g_accstr_q;
    end
  end

  // Address/tag delay line: entry k (packed) is the issued row's tag k cycles
  // after issue.  Bank k uses entry k; PE row k is busy with entry k+1; entry
  // STAGE_A goes to the ACC read.
  logic [NSTAGE-1:0]      dl_valid_q, dl_first_q, dl_reset_q;
  logic [NSTAGE*AW_W-1:0] dl_w_q;
  logic [NSTAGE*AW_A-1:0] dl_a_q;
  logic [NSTAGE*AW_C-1:0] dl_acc_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      dl_valid_q <= {NSTAGE{1'b0}};
    end else begin
      dl_valid_q <= {dl_valid_q[NSTAGE-2:0], iss_valid};
    end
  end
  always_ff @(posedge clk_i) begin
    dl_first_q <= {dl_first_q[NSTAGE-2:0], iss_first};
    dl_reset_q <= {dl_reset_q[NSTAGE-2:0], iss_reset};
    dl_w_q     <= {dl_w_q[(NSTAGE-1)*AW_W-1:0], iss_w};
    dl_a_q     <= {dl_a_q[(NSTAGE-1)*AW_A-1:0], iss_a};
    dl_acc_q   <= {dl_acc_q[(NSTAGE-1)*AW_C-1:0], iss_acc};
  end

  // =========================================================================
  // WBUF / ABUF banks (bank k = array row k) with skewed reads
  // =========================================================================
  logic [ROWS*COLS*2-1:0] pe_codes;    // bank read registers = PE weight shadows
  logic [ROWS*8-1:0]      pe_acts;
  logic [ROWS*NNZ_W-1:0]  pe_nnz;      // nonzero codes held by each PE row

  genvar k;
  generate
    for (k = 0; k < ROWS; k = k + 1) begin : g_bank
      logic [COLS*2-1:0] wmem [0:WBUF_DEPTH-1];
      logic [7:0]        amem [0:ABUF_DEPTH-1];
      logic [COLS*2-1:0] wreg_q;
      logic [7:0]        areg_q;
      logic              rd_v, rd_w;
      assign rd_v = dl_valid_q[k];
      assign rd_w = dl_valid_q[k] && dl_first_q[k];   // a new tile: once per GEMM
      always_ff @(posedge clk_i) begin
        if (wbuf_we_i) wmem[wbuf_waddr_i] <= wbuf_wdata_i[k*COLS*2 +: COLS*2];
        if (abuf_we_i) amem[abuf_waddr_i] <= abuf_wdata_i[k*8 +: 8];
        if (rd_w) wreg_q <= wmem[dl_w_q[k*AW_W +: AW_W]];
        if (rd_v) areg_q <= amem[dl_a_q[k*AW_A +: AW_A]];
      end
      assign pe_codes[k*COLS*2 +: COLS*2] = wreg_q;
      assign pe_acts[k*8 +: 8] = areg_q;

      // popcount of the row's nonzero codes (01 = +1, 11 = -1: bit 0 set)
      logic [NNZ_W-1:0] nnz;
      integer n;
      always_comb begin
        nnz = {NNZ_W{1'b0}};
        for (n = 0; n < COLS; n = n + 1)
          nnz = nnz + {{(NNZ_W-1){1'b0}}, wreg_q[2*n]};
      end
      assign pe_nnz[k*NNZ_W +: NNZ_W] = nnz;
    end
  endgenerate

  logic [COLS*32-1:0] arr_psum;
  tern_array #(.ROWS(ROWS), .COLS(COLS), .PSUM_W(PSUM_W)) u_array (
    .clk_i   (clk_i),
    .codes_i (pe_codes),
    .acts_i  (pe_acts),
    .psum_o  (arr_psum)
  );

  // =========================================================================
  // ACC, OUT memories and the vector unit
  // =========================================================================
  logic               v_rd0_en, v_rd1_en, v_wr_en, v_out_we;
  logic [AW_C-1:0]    v_rd0_addr, v_rd1_addr, v_wr_addr;
  logic [COLS*32-1:0] v_wr_data;
  logic [AW_O-1:0]    v_out_waddr;
  logic [COLS*8-1:0]  v_out_wdata;
  logic               v_ob_en, v_oa_en;        // MAC8: OUT reads of a B word and the scalar stream
  logic [AW_O-1:0]    v_ob_addr, v_oa_addr;
  logic [COLS*8-1:0]  ob_q, oa_q;              // their registered read data
  logic [13:0]        v_vop_evt;
  logic [COLS*32-1:0] rd0_q, rd1_q;   // compute-side registered ACC reads

  tern_vec #(.COLS(COLS), .AW_C(AW_C), .AW_O(AW_O)) u_vec (
    .clk_i       (clk_i),
    .rst_ni      (rst_ni),
    .start_i     (vec_start),
    .insn_i      (insn_i),
    .rd0_en_o    (v_rd0_en),
    .rd0_addr_o  (v_rd0_addr),
    .rd0_data_i  (rd0_q),
    .rd1_en_o    (v_rd1_en),
    .rd1_addr_o  (v_rd1_addr),
    .rd1_data_i  (rd1_q),
    .wr_en_o     (v_wr_en),
    .wr_addr_o   (v_wr_addr),
    .wr_data_o   (v_wr_data),
    .out_we_o    (v_out_we),
    .out_waddr_o (v_out_waddr),
    .out_wdata_o (v_out_wdata),
    .ob_en_o     (v_ob_en),
    .ob_addr_o   (v_ob_addr),
    .ob_data_i   (ob_q),
    .oa_en_o     (v_oa_en),
    .oa_addr_o   (v_oa_addr),
    .oa_data_i   (oa_q),
    .vop_evt_o   (v_vop_evt)
  );

  // ---- GEMM stage A: bottom-row sums valid, ACC read of the old value
  logic            ga_valid, ga_reset, ga_rd;
  logic [AW_C-1:0] ga_addr;
  assign ga_valid = dl_valid_q[STAGE_A];
  assign ga_reset = dl_reset_q[STAGE_A];
  assign ga_addr  = dl_acc_q[STAGE_A*AW_C +: AW_C];
  assign ga_rd    = ga_valid && !ga_reset;

  // ---- GEMM stage B: accumulate and write, forwarding the previous write
  logic               gb_valid_q, gb_reset_q;
  logic [AW_C-1:0]    gb_addr_q;
  logic [COLS*32-1:0] gb_psum_q;
  logic               fw_valid_q;
  logic [AW_C-1:0]    fw_addr_q;
  logic [COLS*32-1:0] fw_data_q;
  logic [COLS*32-1:0] gb_old, gb_new;
  assign gb_old = (fw_valid_q && fw_addr_q == gb_addr_q) ? fw_data_q : rd0_q;
  genvar n2;
  generate
    for (n2 = 0; n2 < COLS; n2 = n2 + 1) begin : g_accum
      assign gb_new[n2*32 +: 32] = gb_reset_q ? gb_psum_q[n2*32 +: 32]
                                              : gb_old[n2*32 +: 32] + gb_psum_q[n2*32 +: 32];
    end
  endgenerate

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      gb_valid_q <= 1'b0;
      fw_valid_q <= 1'b0;
    end else begin
      gb_valid_q <= ga_valid;
      fw_valid_q <= gb_valid_q;
    end
  end
  always_ff @(posedge clk_i) begin
    gb_reset_q <= ga_reset;
    gb_addr_q  <= ga_addr;
    gb_psum_q  <= arr_psum;
    fw_addr_q  <= gb_addr_q;
    fw_data_q  <= gb_new;
  end

  // ---- compute-side ACC ports: 2 registered reads + 1 write per cycle.
  // GEMM (stages A/B) and VEC never overlap: VEC waits for gemm_empty.
  logic               c_rd0_en, c_wr_en;
  logic [AW_C-1:0]    c_rd0_addr, c_wr_addr;
  logic [COLS*32-1:0] c_wr_data;
  assign c_rd0_en   = ga_rd || v_rd0_en;
  assign c_rd0_addr = ga_rd ? ga_addr : v_rd0_addr;
  assign c_wr_en    = gb_valid_q || v_wr_en;
  assign c_wr_addr  = gb_valid_q ? gb_addr_q : v_wr_addr;
  assign c_wr_data  = gb_valid_q ? gb_new : v_wr_data;

  // ACC: compute 2R+1W and DMA 1R+1W per cycle, built from 2 x 3 block-RAM
  // banks and a live-value table (rtl/tern_mpram.sv).  The compute write is
  // port 1, so it wins a same-word conflict with the DMA (the token protocol
  // keeps well-formed programs from producing one).
  tern_acc_ram #(.DEPTH(ACC_DEPTH), .WIDTH(COLS*32), .AW(AW_C)) u_acc (
    .clk_i   (clk_i),
    .we_i    ({c_wr_en, acc_we_i}),
    .waddr_i ({c_wr_addr, acc_waddr_i}),
    .wdata_i ({c_wr_data, acc_wdata_i}),
    .re_i    ({acc_re_i, v_rd1_en, c_rd0_en}),
    .raddr_i ({acc_raddr_i, v_rd1_addr, c_rd0_addr}),
    .rdata_o ({acc_rdata_o, rd1_q, rd0_q})
  );

  // OUT: one byte-wide bank per lane (byte enables for OUT8 loads).  Writes:
  // load DMA (word or byte) and QUANT; registered reads: store DMA and MAC8's
  // B word and scalar-stream word.  Built like ACC (tern_mpram); the token
  // protocol keeps the two writers off the same word, QUANT would win.
  genvar ol;
  generate
    for (ol = 0; ol < COLS; ol = ol + 1) begin : g_out
      tern_out_ram #(.DEPTH(OUT_DEPTH), .AW(AW_O)) u_omem (
        .clk_i   (clk_i),
        .we_i    ({v_out_we, out_we_i && out_be_i[ol]}),
        .waddr_i ({v_out_waddr, out_waddr_i}),
        .wdata_i ({v_out_wdata[ol*8 +: 8], out_wdata_i[ol*8 +: 8]}),
        .re_i    ({v_oa_en, v_ob_en, out_re_i}),
        .raddr_i ({v_oa_addr, v_ob_addr, out_raddr_i}),
        .rdata_o ({oa_q[ol*8 +: 8], ob_q[ol*8 +: 8], out_rdata_o[ol*8 +: 8]})
      );
    end
  endgenerate

  // =========================================================================
  // counters (events of this cycle)
  // =========================================================================
  localparam integer NVOP = 14;
  logic [63:0] c_busy_q, c_stall_q, c_insn_q, c_rows_q, c_adds_q, c_skips_q;
  logic [63:0] c_wbuf_rd_q, c_abuf_rd_q, c_acc_rd_q, c_acc_wr_q, c_out_wr_q, c_out_rd_q;
  logic [NVOP*64-1:0] c_vop_q;

  // PE row k works on delay-line entry k+1
  logic [31:0] ev_adds, ev_skips;
  integer r;
  always_comb begin
    ev_adds  = 32'd0;
    ev_skips = 32'd0;
    for (r = 0; r < ROWS; r = r + 1) begin
      if (dl_valid_q[r+1]) begin
        ev_adds  = ev_adds + {{(32-NNZ_W){1'b0}}, pe_nnz[r*NNZ_W +: NNZ_W]};
        ev_skips = ev_skips + COLS - {{(32-NNZ_W){1'b0}}, pe_nnz[r*NNZ_W +: NNZ_W]};
      end
    end
  end

  logic [1:0] ev_acc_rd, ev_out_rd;
  assign ev_acc_rd = {1'b0, c_rd0_en} + {1'b0, v_rd1_en};
  assign ev_out_rd = {1'b0, v_ob_en} + {1'b0, v_oa_en};

  integer vi;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      c_busy_q <= 64'd0; c_stall_q <= 64'd0; c_insn_q <= 64'd0; c_rows_q <= 64'd0;
      c_adds_q <= 64'd0; c_skips_q <= 64'd0; c_wbuf_rd_q <= 64'd0; c_abuf_rd_q <= 64'd0;
      c_acc_rd_q <= 64'd0; c_acc_wr_q <= 64'd0; c_out_wr_q <= 64'd0; c_out_rd_q <= 64'd0;
      c_vop_q <= {NVOP*64{1'b0}};
    end else begin
      c_busy_q    <= c_busy_q    + {63'd0, busy_o};
      c_stall_q   <= c_stall_q   + {63'd0, stall_o};
      c_insn_q    <= c_insn_q    + {63'd0, start};
      c_rows_q    <= c_rows_q    + {63'd0, dl_valid_q[0]};                  // rows issued
      c_adds_q    <= c_adds_q    + {32'd0, ev_adds};
      c_skips_q   <= c_skips_q   + {32'd0, ev_skips};
      c_wbuf_rd_q <= c_wbuf_rd_q + {63'd0, dl_valid_q[0] && dl_first_q[0]}; // bank-0 tile reads
      c_abuf_rd_q <= c_abuf_rd_q + {63'd0, dl_valid_q[0]};                  // bank-0 word reads
      c_acc_rd_q  <= c_acc_rd_q  + {62'd0, ev_acc_rd};
      c_acc_wr_q  <= c_acc_wr_q  + {63'd0, c_wr_en};
      c_out_wr_q  <= c_out_wr_q  + {63'd0, v_out_we};
      c_out_rd_q  <= c_out_rd_q  + {62'd0, ev_out_rd};                     // MAC8 OUT reads
      for (vi = 0; vi < NVOP; vi = vi + 1)
        c_vop_q[vi*64 +: 64] <= c_vop_q[vi*64 +: 64] + {63'd0, v_vop_evt[vi]};
    end
  end

  always_comb begin
    cnt_o = {64*NCOUNTERS{1'b0}};
    cnt_o[64*CNT_COMPUTE_BUSY  +: 64] = c_busy_q;
    cnt_o[64*CNT_COMPUTE_STALL +: 64] = c_stall_q;
    cnt_o[64*CNT_INSN_COMPUTE  +: 64] = c_insn_q;
    cnt_o[64*CNT_GEMM_ROWS     +: 64] = c_rows_q;
    cnt_o[64*CNT_PE_ADDS       +: 64] = c_adds_q;
    cnt_o[64*CNT_PE_SKIPS      +: 64] = c_skips_q;
    cnt_o[64*CNT_WBUF_RD       +: 64] = c_wbuf_rd_q;
    cnt_o[64*CNT_ABUF_RD       +: 64] = c_abuf_rd_q;
    cnt_o[64*CNT_ACC_RD        +: 64] = c_acc_rd_q;
    cnt_o[64*CNT_ACC_WR        +: 64] = c_acc_wr_q;
    cnt_o[64*CNT_OUT_WR        +: 64] = c_out_wr_q;
    cnt_o[64*CNT_OUT_RD        +: 64] = c_out_rd_q;
    cnt_o[64*CNT_VOP_ADD +: NVOP*64]  = c_vop_q;
  end

  // fields tern_compute does not need (they are the vector unit's or unused)
  /* verilator lint_off UNUSEDSIGNAL */
  logic unused_ok;
  assign unused_ok = ^{insn_i, g_w_q, dl_first_q[NSTAGE-1:1], dl_w_q[(NSTAGE-1)*AW_W +: AW_W],
                       dl_a_q[(NSTAGE-1)*AW_A +: AW_A], dl_reset_q[STAGE_A-1:0], dl_acc_q};
  /* verilator lint_on UNUSEDSIGNAL */
endmodule
