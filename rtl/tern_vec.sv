// tern_vec: the vector unit of the compute unit (docs/ISA.md "VEC").
//
// COLS int32 lanes.  ACC is owned by tern_compute: this unit issues up to two
// registered reads per cycle (data back the next cycle) and one write.
//
// Word ops (kinds E, Q, R and LUTLD) stream one ACC word per cycle:
//   S0  sequencer: src1/src2 read addresses, dst address, row/word tags
//   S1  read data back; select b (fresh or held for PERROW/CONST); 64-bit lane products
//   S2  lane results: add/sub/max/min, rs+sat32, rs+clamp8, LUT read, lane sum/max
//   S3  E: ACC write, Q: OUT write, R: fold the word into the row accumulator
//   S4  R: ACC write of the rounded / saturated row result (all lanes)
// The last word is read in cycle s+ROWS*N, so the last write lands by
// s+ROWS*N+VEC_PIPE, the last busy cycle (D = 1 + ROWS*N + VEC_PIPE).
//
// Scalar ops (RECIP, RSQRT) run one row per T_*_PER_ROW cycles on lane 0 with
// a bit-serial restoring divider (one quotient bit per cycle) and a bit-serial
// integer square root (one result bit per cycle), padded with idle cycles.
//
// MAC8 (ISA v2) streams one B word of OUT per cycle, output word i outer,
// k < ROWS inner, with its own sequencer and pipeline:
//   S0  OUT read of B word SRC1 + k*SRC_RS + i; OUT read of the scalar-stream
//       word SRC2 + k/COLS when k % COLS == 0; ACC read of DST+i at k = 0 (MODE acc)
//   S1  a_k = byte k%COLS of the stream word (fresh or held); COLS int8 x int8
//       products (the only multipliers besides MULSHR/QUANT's; none in the array)
//   S2  lane accumulators (33 bit): first k starts from the old ACC lane or 0
//   S3  after the last k: ACC write of sat32(accumulator)
// The last B word is read in cycle s+ROWS*N, its write lands in s+ROWS*N+3,
// within D = 1 + ROWS*N + VEC_PIPE.
module tern_vec #(
  parameter integer COLS = 4,
  parameter integer AW_C = 9,
  parameter integer AW_O = 8
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,
  input  logic                 start_i,     // a VEC instruction starts this cycle
  input  logic [127:0]         insn_i,      // ... this one
  // ACC reads (registered in tern_compute: data valid the cycle after the request)
  output logic                 rd0_en_o,    // src1
  output logic [AW_C-1:0]      rd0_addr_o,
  input  logic [COLS*32-1:0]   rd0_data_i,
  output logic                 rd1_en_o,    // src2
  output logic [AW_C-1:0]      rd1_addr_o,
  input  logic [COLS*32-1:0]   rd1_data_i,
  // ACC write
  output logic                 wr_en_o,
  output logic [AW_C-1:0]      wr_addr_o,
  output logic [COLS*32-1:0]   wr_data_o,
  // OUT write (QUANT)
  output logic                 out_we_o,
  output logic [AW_O-1:0]      out_waddr_o,
  output logic [COLS*8-1:0]    out_wdata_o,
  // MAC8: OUT reads (registered in tern_compute: data valid the next cycle)
  output logic                 ob_en_o,     // B word
  output logic [AW_O-1:0]      ob_addr_o,
  input  logic [COLS*8-1:0]    ob_data_i,
  output logic                 oa_en_o,     // scalar-stream word
  output logic [AW_O-1:0]      oa_addr_o,
  input  logic [COLS*8-1:0]    oa_data_i,
  // one bit per VOP: a word (E/Q/R/LUTLD/MAC8) or a row (RECIP/RSQRT) was issued
  output logic [13:0]          vop_evt_o
);
  `include "tern_isa.vh"

  // ---- scalar-op schedule inside one row (phase = cycles since the row began)
  localparam [6:0] SC_PH_READ      = 7'd0;                 // issue lane-0 reads of a, b
  localparam [6:0] SC_PH_INIT      = 7'd1;                 // num, den -> divider
  localparam [6:0] DIV_ITERS       = 7'd63;                // num < 2^63: 63 quotient bits
  localparam [6:0] SC_PH_DIV_LAST  = SC_PH_INIT + DIV_ITERS;      // 64
  localparam [6:0] SC_PH_RECIP_WR  = SC_PH_DIV_LAST + 7'd1;       // 65: RECIP writes; RSQRT inits the root
  localparam [6:0] SQRT_ITERS      = 7'd32;                // q < 2^63: 32 root bits
  localparam [6:0] SC_PH_SQRT_LAST = SC_PH_RECIP_WR + SQRT_ITERS; // 97
  localparam [6:0] SC_PH_RSQRT_WR  = SC_PH_SQRT_LAST + 7'd1;      // 98
  // Both schedules fit their fixed row budget (T_RECIP_PER_ROW = 68 > 65,
  // T_RSQRT_PER_ROW = 100 > 98); the rest of each row is idle padding.
  localparam [6:0] RECIP_PER_ROW = T_RECIP_PER_ROW[6:0];
  localparam [6:0] RSQRT_PER_ROW = T_RSQRT_PER_ROW[6:0];
  localparam integer LOG2C = $clog2(COLS);

  // ---- decode of the starting instruction
  logic [5:0]  f_vop;
  logic [1:0]  f_mode;
  logic [15:0] f_dst, f_src1, f_src2;
  logic [11:0] f_n, f_rows, f_dst_rs, f_src_rs;
  logic [5:0]  f_shift;
  assign f_vop    = insn_i[F_VEC_VOP_LSB    +: F_VEC_VOP_W];
  assign f_mode   = insn_i[F_VEC_MODE_LSB   +: F_VEC_MODE_W];
  assign f_dst    = insn_i[F_VEC_DST_LSB    +: F_VEC_DST_W];
  assign f_src1   = insn_i[F_VEC_SRC1_LSB   +: F_VEC_SRC1_W];
  assign f_src2   = insn_i[F_VEC_SRC2_LSB   +: F_VEC_SRC2_W];
  assign f_n      = insn_i[F_VEC_N_LSB      +: F_VEC_N_W];
  assign f_rows   = insn_i[F_VEC_ROWS_LSB   +: F_VEC_ROWS_W];
  assign f_dst_rs = insn_i[F_VEC_DST_RS_LSB +: F_VEC_DST_RS_W];
  assign f_src_rs = insn_i[F_VEC_SRC_RS_LSB +: F_VEC_SRC_RS_W];
  assign f_shift  = insn_i[F_VEC_SHIFT_LSB  +: F_VEC_SHIFT_W];

  logic f_is_scalar, f_is_word;
  assign f_is_scalar = (f_vop == VOP_RECIP) || (f_vop == VOP_RSQRT);
  assign f_is_word   = (f_vop <= VOP_RMAXABS) || (f_vop == VOP_LUTLD);

  // ---- instruction registers (constant while the instruction runs; the
  // pipeline has drained before the next VEC instruction can start)
  logic [5:0]  vop_q;
  logic [1:0]  mode_q;
  logic [5:0]  shift_q;
  logic [11:0] n_q, src_rs_q, dst_rs_q;

  logic is_red, is_lutld, uses_b;
  assign is_red   = (vop_q == VOP_RSUM) || (vop_q == VOP_RSUMSQ) || (vop_q == VOP_RMAXABS);
  assign is_lutld = (vop_q == VOP_LUTLD);
  assign uses_b   = (vop_q <= VOP_MULSHR) || (vop_q == VOP_QUANT);

  // src2 row base step per row, by MODE (VEC: SRC_RS, PERROW: 1, else 0)
  logic [15:0] b_row_step;
  always_comb begin
    case (mode_q)
      VMODE_VEC:    b_row_step = {4'd0, src_rs_q};
      VMODE_PERROW: b_row_step = 16'd1;
      default:      b_row_step = 16'd0;
    endcase
  end

  // =========================================================================
  // S0: word sequencer
  // =========================================================================
  logic        w_active_q;
  logic [11:0] w_i_q;          // word index inside the row
  logic [11:0] w_rows_left_q;  // rows still to issue, including the current one
  logic        w_first_insn_q; // first word of the instruction (CONST reads src2 once)
  logic [15:0] w_a_row_q, w_b_row_q, w_d_row_q;

  logic        w_last_i;
  logic [15:0] w_a_addr, w_b_addr, w_d_addr;
  logic        w_re1, w_re1_mode;
  assign w_last_i = (w_i_q == n_q - 12'd1);
  assign w_a_addr = w_a_row_q + {4'd0, w_i_q};
  assign w_b_addr = (mode_q == VMODE_VEC || mode_q == VMODE_BCASTROW) ? w_b_row_q + {4'd0, w_i_q} : w_b_row_q;
  assign w_d_addr = is_red ? w_d_row_q : w_d_row_q + {4'd0, w_i_q};
  always_comb begin
    case (mode_q)
      VMODE_VEC, VMODE_BCASTROW: w_re1_mode = 1'b1;                 // a new b every word
      VMODE_PERROW:              w_re1_mode = (w_i_q == 12'd0);    // once per row, held
      default:                   w_re1_mode = w_first_insn_q;      // CONST: once, held
    endcase
  end
  assign w_re1 = w_re1_mode && uses_b && w_active_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      w_active_q <= 1'b0;
      w_i_q <= 12'd0;
      w_rows_left_q <= 12'd0;
      w_first_insn_q <= 1'b0;
      w_a_row_q <= 16'd0;
      w_b_row_q <= 16'd0;
      w_d_row_q <= 16'd0;
    end else if (start_i) begin
      w_active_q <= f_is_word && (f_n != 12'd0) && (f_rows != 12'd0 || f_vop == VOP_LUTLD);
      w_i_q <= 12'd0;
      w_rows_left_q <= (f_vop == VOP_LUTLD) ? 12'd1 : f_rows;
      w_first_insn_q <= 1'b1;
      w_a_row_q <= f_src1;
      w_b_row_q <= f_src2;
      w_d_row_q <= f_dst;
    end else if (w_active_q) begin
      w_first_insn_q <= 1'b0;
      if (w_last_i) begin
        w_i_q <= 12'd0;
        w_rows_left_q <= w_rows_left_q - 12'd1;
        w_active_q <= (w_rows_left_q != 12'd1);
        w_a_row_q <= w_a_row_q + {4'd0, src_rs_q};
        w_b_row_q <= w_b_row_q + b_row_step;
        w_d_row_q <= w_d_row_q + {4'd0, dst_rs_q};
      end else begin
        w_i_q <= w_i_q + 12'd1;
      end
    end
  end

  // instruction registers
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      vop_q <= 6'd0; mode_q <= 2'd0; shift_q <= 6'd0;
      n_q <= 12'd0; src_rs_q <= 12'd0; dst_rs_q <= 12'd0;
    end else if (start_i) begin
      vop_q <= f_vop; mode_q <= f_mode; shift_q <= f_shift;
      n_q <= f_n; src_rs_q <= f_src_rs; dst_rs_q <= f_dst_rs;
    end
  end

  // =========================================================================
  // Scalar sequencer (RECIP / RSQRT): one row per RECIP/RSQRT_PER_ROW cycles
  // =========================================================================
  logic        sc_active_q, sc_rsqrt_q;
  logic [6:0]  sc_phase_q;
  logic [11:0] sc_rows_left_q;
  logic [15:0] sc_a_row_q, sc_b_row_q, sc_d_row_q;
  logic [6:0]  sc_per;
  assign sc_per = sc_rsqrt_q ? RSQRT_PER_ROW : RECIP_PER_ROW;

  logic sc_rd, sc_init, sc_div, sc_recip_wr, sc_sqrt_init, sc_sqrt, sc_rsqrt_wr;
  assign sc_rd        = sc_active_q && (sc_phase_q == SC_PH_READ);
  assign sc_init      = sc_active_q && (sc_phase_q == SC_PH_INIT);
  assign sc_div       = sc_active_q && (sc_phase_q > SC_PH_INIT) && (sc_phase_q <= SC_PH_DIV_LAST);
  assign sc_recip_wr  = sc_active_q && !sc_rsqrt_q && (sc_phase_q == SC_PH_RECIP_WR);
  assign sc_sqrt_init = sc_active_q && sc_rsqrt_q && (sc_phase_q == SC_PH_RECIP_WR);
  assign sc_sqrt      = sc_active_q && sc_rsqrt_q && (sc_phase_q > SC_PH_RECIP_WR) && (sc_phase_q <= SC_PH_SQRT_LAST);
  assign sc_rsqrt_wr  = sc_active_q && sc_rsqrt_q && (sc_phase_q == SC_PH_RSQRT_WR);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      sc_active_q <= 1'b0;
      sc_rsqrt_q <= 1'b0;
      sc_phase_q <= 7'd0;
      sc_rows_left_q <= 12'd0;
      sc_a_row_q <= 16'd0;
      sc_b_row_q <= 16'd0;
      sc_d_row_q <= 16'd0;
    end else if (start_i) begin
      sc_active_q <= f_is_scalar && (f_rows != 12'd0);
      sc_rsqrt_q <= (f_vop == VOP_RSQRT);
      sc_phase_q <= 7'd0;
      sc_rows_left_q <= f_rows;
      sc_a_row_q <= f_src1;
      sc_b_row_q <= f_src2;
      sc_d_row_q <= f_dst;
    end else if (sc_active_q) begin
      if (sc_phase_q == sc_per - 7'd1) begin
        sc_phase_q <= 7'd0;
        sc_rows_left_q <= sc_rows_left_q - 12'd1;
        sc_active_q <= (sc_rows_left_q != 12'd1);
        sc_a_row_q <= sc_a_row_q + {4'd0, src_rs_q};
        sc_b_row_q <= sc_b_row_q + b_row_step;
        sc_d_row_q <= sc_d_row_q + {4'd0, dst_rs_q};
      end else begin
        sc_phase_q <= sc_phase_q + 7'd1;
      end
    end
  end

  // divider: rem/quo shift register, 63 iterations, one quotient bit per cycle
  logic [31:0] div_rem_q;   // remainder < den <= 2^31 - 1
  logic [62:0] div_quo_q;   // dividend bits shift out at the top, quotient bits in at the bottom
  logic [31:0] div_den_q;
  // integer square root (digit-by-digit), 32 iterations
  logic [63:0] sq_op_q, sq_res_q, sq_one_q;

  // num = min(max(b,0) << SHIFT, 2^63-1), den = max(a,1) from lane 0
  logic signed [31:0] sc_a, sc_b;
  logic [95:0] sc_num_wide;
  logic [62:0] sc_num;
  logic [31:0] sc_den;
  assign sc_a = rd0_data_i[31:0];
  assign sc_b = rd1_data_i[31:0];
  assign sc_num_wide = (sc_b > 0) ? ({65'd0, sc_b[30:0]} << shift_q) : 96'd0;
  assign sc_num = (sc_num_wide[95:63] != 33'd0) ? {63{1'b1}} : sc_num_wide[62:0];
  assign sc_den = (sc_a > 0) ? sc_a : 32'd1;

  logic [32:0] div_trial;   // 2*rem + next dividend bit
  logic        div_ge;
  assign div_trial = {div_rem_q, div_quo_q[62]};
  assign div_ge    = (div_trial >= {1'b0, div_den_q});
  logic [32:0] div_sub;
  assign div_sub   = div_trial - {1'b0, div_den_q};

  logic [63:0] sq_trial;
  assign sq_trial = sq_res_q + sq_one_q;

  always_ff @(posedge clk_i) begin
    if (sc_init) begin
      div_rem_q <= 32'd0;
      div_quo_q <= sc_num;
      div_den_q <= sc_den;
    end else if (sc_div) begin
      div_rem_q <= div_ge ? div_sub[31:0] : div_trial[31:0];
      div_quo_q <= {div_quo_q[61:0], div_ge};
    end
    if (sc_sqrt_init) begin
      sq_op_q  <= {1'b0, div_quo_q};
      sq_res_q <= 64'd0;
      sq_one_q <= 64'd1 << 62;
    end else if (sc_sqrt) begin
      if (sq_op_q >= sq_trial) begin
        sq_op_q  <= sq_op_q - sq_trial;
        sq_res_q <= (sq_res_q >> 1) + sq_one_q;
      end else begin
        sq_res_q <= sq_res_q >> 1;
      end
      sq_one_q <= sq_one_q >> 2;
    end
  end

  logic [31:0] sc_result;   // sat32 of the (non-negative) quotient or root
  always_comb begin
    if (sc_rsqrt_q) sc_result = (sq_res_q > 64'h7fffffff) ? 32'h7fffffff : sq_res_q[31:0];
    else            sc_result = (div_quo_q > 63'h7fffffff) ? 32'h7fffffff : div_quo_q[31:0];
  end

  // =========================================================================
  // S1: operands back from ACC; lane products
  // =========================================================================
  logic        v1_q, first1_q, last1_q, bnew1_q;
  logic [15:0] d1_q;
  logic [11:0] i1_q;
  logic [COLS*32-1:0] b_hold_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      v1_q <= 1'b0;
    end else begin
      v1_q <= w_active_q;
    end
  end
  always_ff @(posedge clk_i) begin
    first1_q <= (w_i_q == 12'd0);
    last1_q  <= w_last_i;
    bnew1_q  <= w_re1;
    d1_q     <= w_d_addr;
    i1_q     <= w_i_q;
  end

  logic [COLS*32-1:0] s1_a, s1_b;
  assign s1_a = rd0_data_i;
  assign s1_b = (vop_q == VOP_RSUMSQ) ? rd0_data_i : (bnew1_q ? rd1_data_i : b_hold_q);

  always_ff @(posedge clk_i) begin
    if (v1_q && bnew1_q) b_hold_q <= rd1_data_i;
  end

  logic [COLS*64-1:0] s1_prod;
  genvar l;
  generate
    for (l = 0; l < COLS; l = l + 1) begin : g_mul
      logic signed [31:0] pa, pb;
      logic signed [63:0] pp;
      assign pa = s1_a[l*32 +: 32];
      assign pb = s1_b[l*32 +: 32];
      assign pp = pa * pb;            // 64-bit product of int32 operands
      assign s1_prod[l*64 +: 64] = pp;
    end
  endgenerate

  // LUT (256 x int32): LUTLD writes COLS entries per word in S1
  logic [31:0] lut_q [0:255];
  logic [7:0] lut_base;        // i*COLS (N*COLS = 256)
  assign lut_base = i1_q[7:0] << LOG2C;
  integer li;
  always_ff @(posedge clk_i) begin
    if (v1_q && is_lutld) begin
      for (li = 0; li < COLS; li = li + 1)
        lut_q[lut_base | li[7:0]] <= s1_a[li*32 +: 32];
    end
  end

  logic        v2_q, first2_q, last2_q;
  logic [15:0] d2_q;
  logic [COLS*32-1:0] a2_q, b2_q;
  logic [COLS*64-1:0] p2_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) v2_q <= 1'b0;
    else         v2_q <= v1_q && !is_lutld;
  end
  always_ff @(posedge clk_i) begin
    first2_q <= first1_q;
    last2_q  <= last1_q;
    d2_q     <= d1_q;
    a2_q     <= s1_a;
    b2_q     <= s1_b;
    p2_q     <= s1_prod;
  end

  // =========================================================================
  // S2: lane results and the lane reduction of one word
  // =========================================================================
  logic [COLS*32-1:0] s2_res;
  logic [COLS*8-1:0]  s2_q8;
  generate
    for (l = 0; l < COLS; l = l + 1) begin : g_lane
      logic signed [31:0] a, b;
      logic signed [65:0] rnd, rsv;          // rs(a*b, SHIFT), exact in 66 bits
      logic signed [31:0] ash;               // a >>> SHIFT (floor)
      logic signed [33:0] idx_w;
      logic [7:0]         idx;
      logic [31:0]        r;
      logic signed [32:0] sum33, dif33;      // exact a + b, a - b (saturated below)
      assign a = a2_q[l*32 +: 32];
      assign b = b2_q[l*32 +: 32];
      assign rnd = (shift_q == 6'd0) ? 66'sd0 : (66'sd1 <<< (shift_q - 6'd1));
      assign rsv = ($signed({{2{p2_q[l*64+63]}}, p2_q[l*64 +: 64]}) + rnd) >>> shift_q;
      assign sum33 = {a[31], a} + {b[31], b};
      assign dif33 = {a[31], a} - {b[31], b};
      assign ash = a >>> shift_q;
      assign idx_w = {{2{ash[31]}}, ash} + 34'sd128;
      assign idx = (idx_w < 34'sd0) ? 8'd0 : (idx_w > 34'sd255) ? 8'd255 : idx_w[7:0];
      always_comb begin
        case (vop_q)
          VOP_ADD:    r = (sum33[32] != sum33[31]) ? {sum33[32], {31{~sum33[32]}}} : sum33[31:0];
          VOP_SUB:    r = (dif33[32] != dif33[31]) ? {dif33[32], {31{~dif33[32]}}} : dif33[31:0];
          VOP_MAX:    r = (a > b) ? a : b;
          VOP_MIN:    r = (a < b) ? a : b;
          VOP_MULSHR: r = (rsv > 66'sh7fffffff) ? 32'h7fffffff :
                          (rsv < -66'sh80000000) ? 32'h80000000 : rsv[31:0];
          VOP_LUT:    r = lut_q[idx];
          default:    r = 32'd0;
        endcase
      end
      assign s2_res[l*32 +: 32] = r;
      assign s2_q8[l*8 +: 8] = (rsv > 66'sd127) ? 8'h7f : (rsv < -66'sd128) ? 8'h80 : rsv[7:0];
    end
  endgenerate

  // lane sum (RSUM: a, RSUMSQ: a*a) in 72 bits, exact; lane max |a| (RMAXABS)
  logic signed [71:0] s2_lsum;
  logic [31:0]        s2_lmax;
  logic signed [63:0] s2_term;     // the word's contribution, saturated to int64
  integer si;
  always_comb begin
    s2_lsum = 72'sd0;
    s2_lmax = 32'd0;
    for (si = 0; si < COLS; si = si + 1) begin
      if (vop_q == VOP_RSUMSQ)
        s2_lsum = s2_lsum + $signed({{8{p2_q[si*64+63]}}, p2_q[si*64 +: 64]});
      else
        s2_lsum = s2_lsum + $signed({{40{a2_q[si*32+31]}}, a2_q[si*32 +: 32]});
      if (((a2_q[si*32+31]) ? (32'd0 - a2_q[si*32 +: 32]) : a2_q[si*32 +: 32]) > s2_lmax)
        s2_lmax = (a2_q[si*32+31]) ? (32'd0 - a2_q[si*32 +: 32]) : a2_q[si*32 +: 32];
    end
    if (vop_q == VOP_RMAXABS)
      s2_term = $signed({32'd0, s2_lmax});
    else if (s2_lsum > 72'sh7fffffffffffffff)
      s2_term = 64'sh7fffffffffffffff;
    else if (s2_lsum < -72'sh8000000000000000)
      s2_term = -64'sh8000000000000000;
    else
      s2_term = s2_lsum[63:0];
  end

  logic        v3_q, first3_q, last3_q;
  logic [15:0] d3_q;
  logic [COLS*32-1:0] r3_q;
  logic [COLS*8-1:0]  q3_q;
  logic signed [63:0] t3_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) v3_q <= 1'b0;
    else         v3_q <= v2_q;
  end
  always_ff @(posedge clk_i) begin
    first3_q <= first2_q;
    last3_q  <= last2_q;
    d3_q     <= d2_q;
    r3_q     <= s2_res;
    q3_q     <= s2_q8;
    t3_q     <= s2_term;
  end

  // =========================================================================
  // S3: E/Q writes; R: fold the word into the row accumulator (sat int64 / max)
  // =========================================================================
  logic signed [63:0] red_q, red_d;
  logic signed [64:0] red_sum;
  assign red_sum = {red_q[63], red_q} + {t3_q[63], t3_q};
  always_comb begin
    if (first3_q)                 red_d = t3_q;
    else if (vop_q == VOP_RMAXABS) red_d = (t3_q > red_q) ? t3_q : red_q;
    else if (red_sum > 65'sh7fffffffffffffff)  red_d = 64'sh7fffffffffffffff;
    else if (red_sum < -65'sh8000000000000000) red_d = -64'sh8000000000000000;
    else                          red_d = red_sum[63:0];
  end

  logic        v4_q;
  logic [15:0] d4_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) v4_q <= 1'b0;
    else         v4_q <= v3_q && is_red && last3_q;
  end
  always_ff @(posedge clk_i) begin
    if (v3_q && is_red) red_q <= red_d;
    d4_q <= d3_q;
  end

  // =========================================================================
  // S4: row result of a reduction
  // =========================================================================
  logic signed [65:0] red_rnd, red_rs;
  logic [31:0]        red_res;
  assign red_rnd = (shift_q == 6'd0) ? 66'sd0 : (66'sd1 <<< (shift_q - 6'd1));
  assign red_rs  = ($signed({{2{red_q[63]}}, red_q}) + red_rnd) >>> shift_q;
  always_comb begin
    if (vop_q == VOP_RMAXABS)
      red_res = (red_q > 64'sh7fffffff) ? 32'h7fffffff : red_q[31:0];
    else if (red_rs > 66'sh7fffffff)
      red_res = 32'h7fffffff;
    else if (red_rs < -66'sh80000000)
      red_res = 32'h80000000;
    else
      red_res = red_rs[31:0];
  end

  // =========================================================================
  // MAC8: sequencer (S0) and pipeline (S1..S3)
  // =========================================================================
  logic             m_active_q, m_acc_q;
  logic [11:0]      m_k_q, m_klen_q, m_words_left_q;
  logic [LOG2C-1:0] m_lane_q;                       // k % COLS
  logic [15:0]      m_b_q, m_bbase_q, m_s_q, m_sbase_q, m_d_q;
  logic             m_last_k, m_fresh, m_rd_old;
  assign m_last_k = (m_k_q == m_klen_q - 12'd1);
  assign m_fresh  = m_active_q && (m_lane_q == '0);          // next stream word
  assign m_rd_old = m_active_q && m_acc_q && (m_k_q == 12'd0);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      m_active_q <= 1'b0;
      m_acc_q <= 1'b0;
      m_k_q <= 12'd0;
      m_klen_q <= 12'd0;
      m_words_left_q <= 12'd0;
      m_lane_q <= '0;
      m_b_q <= 16'd0;
      m_bbase_q <= 16'd0;
      m_s_q <= 16'd0;
      m_sbase_q <= 16'd0;
      m_d_q <= 16'd0;
    end else if (start_i) begin
      m_active_q <= (f_vop == VOP_MAC8) && (f_n != 12'd0) && (f_rows != 12'd0);
      m_acc_q <= f_mode[0];
      m_k_q <= 12'd0;
      m_klen_q <= f_rows;
      m_words_left_q <= f_n;
      m_lane_q <= '0;
      m_b_q <= f_src1;
      m_bbase_q <= f_src1;
      m_s_q <= f_src2;
      m_sbase_q <= f_src2;
      m_d_q <= f_dst;
    end else if (m_active_q) begin
      if (m_last_k) begin                    // next output word
        m_k_q <= 12'd0;
        m_lane_q <= '0;
        m_s_q <= m_sbase_q;
        m_bbase_q <= m_bbase_q + 16'd1;
        m_b_q <= m_bbase_q + 16'd1;
        m_d_q <= m_d_q + 16'd1;
        m_words_left_q <= m_words_left_q - 12'd1;
        m_active_q <= (m_words_left_q != 12'd1);
      end else begin
        m_k_q <= m_k_q + 12'd1;
        m_lane_q <= m_lane_q + 1'b1;         // wraps at COLS (a power of two)
        if (m_lane_q == LOG2C'(COLS - 1)) m_s_q <= m_s_q + 16'd1;
        m_b_q <= m_b_q + {4'd0, src_rs_q};
      end
    end
  end

  // S1: read data back; a_k from the stream word; COLS int8 x int8 products
  logic             m1_v_q, m1_first_q, m1_last_q, m1_fresh_q, m1_acc_q;
  logic [LOG2C-1:0] m1_lane_q;
  logic [15:0]      m1_d_q;
  logic [COLS*8-1:0] m_shold_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) m1_v_q <= 1'b0;
    else         m1_v_q <= m_active_q;
  end
  always_ff @(posedge clk_i) begin
    m1_first_q <= (m_k_q == 12'd0);
    m1_last_q  <= m_last_k;
    m1_fresh_q <= m_fresh;
    m1_acc_q   <= m_acc_q;
    m1_lane_q  <= m_lane_q;
    m1_d_q     <= m_d_q;
    if (m1_v_q && m1_fresh_q) m_shold_q <= oa_data_i;
  end
  logic [COLS*8-1:0] m1_stream;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [COLS*8-1:0] m1_sh;  // only the low byte (the selected lane) is used
  /* verilator lint_on UNUSEDSIGNAL */
  logic signed [7:0] m1_a;
  assign m1_stream = m1_fresh_q ? oa_data_i : m_shold_q;
  assign m1_sh     = m1_stream >> {m1_lane_q, 3'b000};
  assign m1_a      = m1_sh[7:0];
  logic [COLS*16-1:0] m1_prod;
  generate
    for (l = 0; l < COLS; l = l + 1) begin : g_mac8_mul
      logic signed [7:0]  mb;
      logic signed [15:0] mp;
      assign mb = ob_data_i[l*8 +: 8];
      assign mp = m1_a * mb;              // int8 x int8, exact in 16 bits
      assign m1_prod[l*16 +: 16] = mp;
    end
  endgenerate

  logic               m2_v_q, m2_first_q, m2_last_q, m2_acc_q;
  logic [15:0]        m2_d_q;
  logic [COLS*16-1:0] m2_p_q;
  logic [COLS*32-1:0] m2_old_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) m2_v_q <= 1'b0;
    else         m2_v_q <= m1_v_q;
  end
  always_ff @(posedge clk_i) begin
    m2_first_q <= m1_first_q;
    m2_last_q  <= m1_last_q;
    m2_acc_q   <= m1_acc_q;
    m2_d_q     <= m1_d_q;
    m2_p_q     <= m1_prod;
    if (m1_v_q && m1_first_q) m2_old_q <= rd0_data_i;  // ACC[DST+i] (MODE acc)
  end

  // S2: lane accumulators.  |old| < 2^31 and |sum of products| < 2^26, so
  // 33 bits hold old + sum exactly; sat32 once after the last k.
  logic [COLS*33-1:0] m_accum_q, m2_sum;
  logic [COLS*32-1:0] m2_res;
  generate
    for (l = 0; l < COLS; l = l + 1) begin : g_mac8_acc
      logic signed [32:0] base, sum;
      assign base = m2_first_q ? (m2_acc_q ? {m2_old_q[l*32+31], m2_old_q[l*32 +: 32]} : 33'sd0)
                               : $signed(m_accum_q[l*33 +: 33]);
      assign sum  = base + {{17{m2_p_q[l*16+15]}}, m2_p_q[l*16 +: 16]};
      assign m2_sum[l*33 +: 33] = sum;
      assign m2_res[l*32 +: 32] = (sum[32] != sum[31]) ? {sum[32], {31{~sum[32]}}} : sum[31:0];
    end
  endgenerate

  logic               m3_v_q;
  logic [15:0]        m3_d_q;
  logic [COLS*32-1:0] m3_res_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) m3_v_q <= 1'b0;
    else         m3_v_q <= m2_v_q && m2_last_q;
  end
  always_ff @(posedge clk_i) begin
    if (m2_v_q) m_accum_q <= m2_sum;
    m3_d_q   <= m2_d_q;
    m3_res_q <= m2_res;
  end

  // =========================================================================
  // ports
  // =========================================================================
  logic [15:0] vop_evt16;
  assign vop_evt16 = (w_active_q || sc_rd || m_active_q) ? (16'd1 << vop_q[3:0]) : 16'd0;

  logic s3_e_wr;
  assign s3_e_wr = v3_q && !is_red && (vop_q != VOP_QUANT);

  always_comb begin
    rd0_en_o   = w_active_q || sc_rd || m_rd_old;
    rd0_addr_o = sc_rd ? sc_a_row_q[AW_C-1:0] : m_rd_old ? m_d_q[AW_C-1:0] : w_a_addr[AW_C-1:0];
    rd1_en_o   = w_re1 || sc_rd;
    rd1_addr_o = sc_rd ? sc_b_row_q[AW_C-1:0] : w_b_addr[AW_C-1:0];

    wr_en_o   = s3_e_wr || v4_q || sc_recip_wr || sc_rsqrt_wr || m3_v_q;
    wr_addr_o = d3_q[AW_C-1:0];
    wr_data_o = r3_q;
    if (m3_v_q) begin
      wr_addr_o = m3_d_q[AW_C-1:0];
      wr_data_o = m3_res_q;
    end else if (v4_q) begin
      wr_addr_o = d4_q[AW_C-1:0];
      wr_data_o = {COLS{red_res}};
    end else if (sc_recip_wr || sc_rsqrt_wr) begin
      wr_addr_o = sc_d_row_q[AW_C-1:0];
      wr_data_o = {COLS{sc_result}};
    end

    out_we_o    = v3_q && (vop_q == VOP_QUANT);
    out_waddr_o = d3_q[AW_O-1:0];
    out_wdata_o = q3_q;

    ob_en_o   = m_active_q;
    ob_addr_o = m_b_q[AW_O-1:0];
    oa_en_o   = m_fresh;
    oa_addr_o = m_s_q[AW_O-1:0];

    vop_evt_o = vop_evt16[13:0];
  end

  // address bits above AW_C / AW_O are dropped (the compiler keeps addresses in range)
  /* verilator lint_off UNUSEDSIGNAL */
  logic unused_ok;
  assign unused_ok = ^{d3_q, d4_q, sc_a_row_q, sc_b_row_q, sc_d_row_q, w_a_addr, w_b_addr,
                       i1_q, vop_evt16, vop_q, insn_i, div_sub[32], m_b_q, m_s_q, m_d_q, m3_d_q};
  /* verilator lint_on UNUSEDSIGNAL */
endmodule
