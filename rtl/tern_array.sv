// tern_array: ROWS x COLS ternary PE array.
// Activation row k is broadcast to the COLS PEs of row k; partial sums flow
// down each column (row 0 -> row ROWS-1) through one register per PE.  The
// caller skews operands by row: PE row k must see the codes and activation of
// an issued row k cycles after PE row 0 did.  The COLS results leave the
// bottom row together, ROWS cycles after row 0 saw its operands.
//
// PSUM_W, the width of the partial sums inside the array: a column sums ROWS
// products code x a with |code x a| <= 128, so every partial sum lies in
// [-128*ROWS, 128*ROWS] and 9 + log2(ROWS) bits hold it exactly; the bottom
// row's sums are sign-extended to the 32-bit ACC lanes.  Any PSUM_W from
// that minimum to 32 gives bit-identical results (tern_hwcfg psum_bits,
// checked there; docs/SYNTH.md); it only changes the adders' size.
module tern_array #(
  parameter integer ROWS   = 4,
  parameter integer COLS   = 4,
  parameter integer PSUM_W = 32
) (
  input  logic                   clk_i,
  input  logic [ROWS*COLS*2-1:0] codes_i,  // row k: codes_i[k*COLS*2 +: COLS*2], column n at bits 2n+1:2n
  input  logic [ROWS*8-1:0]      acts_i,   // row k: acts_i[k*8 +: 8]
  output logic [COLS*32-1:0]     psum_o    // bottom-row registers, lane n at [n*32 +: 32]
);
  // PE row k's outputs (registered inside the PEs): psum[(k*COLS + n)*PSUM_W +: PSUM_W]
  localparam integer W = PSUM_W;
  logic [ROWS*COLS*W-1:0] psum;

  genvar k, n;
  generate
    for (k = 0; k < ROWS; k = k + 1) begin : g_row
      for (n = 0; n < COLS; n = n + 1) begin : g_col
        logic [W-1:0] psum_in;
        if (k == 0) begin : g_top
          assign psum_in = {W{1'b0}};
        end else begin : g_mid
          assign psum_in = psum[((k-1)*COLS + n)*W +: W];
        end
        tern_pe #(.W(W)) u_pe (
          .clk_i  (clk_i),
          .code_i (codes_i[(k*COLS + n)*2 +: 2]),
          .act_i  (acts_i[k*8 +: 8]),
          .psum_i (psum_in),
          .psum_o (psum[(k*COLS + n)*W +: W])
        );
      end
    end
    for (n = 0; n < COLS; n = n + 1) begin : g_out
      logic [W-1:0] s;
      assign s = psum[((ROWS-1)*COLS + n)*W +: W];
      if (W < 32) begin : g_ext
        assign psum_o[n*32 +: 32] = {{(32-W){s[W-1]}}, s};
      end else begin : g_full
        assign psum_o[n*32 +: 32] = s;
      end
    end
  endgenerate
endmodule
