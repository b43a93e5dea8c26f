// tern_array: ROWS x COLS ternary PE array.
// Activation row k is broadcast to the COLS PEs of row k; partial sums flow
// down each column (row 0 -> row ROWS-1) through one register per PE.  The
// caller skews operands by row: PE row k must see the codes and activation of
// an issued row k cycles after PE row 0 did.  The COLS results leave the
// bottom row together, ROWS cycles after row 0 saw its operands.
module tern_array #(
  parameter integer ROWS = 4,
  parameter integer COLS = 4
) (
  input  logic                   clk_i,
  input  logic [ROWS*COLS*2-1:0] codes_i,  // row k: codes_i[k*COLS*2 +: COLS*2], column n at bits 2n+1:2n
  input  logic [ROWS*8-1:0]      acts_i,   // row k: acts_i[k*8 +: 8]
  output logic [COLS*32-1:0]     psum_o    // bottom-row registers, lane n at [n*32 +: 32]
);
  // PE row k's outputs (registered inside the PEs): psum[(k*COLS + n)*32 +: 32]
  logic [ROWS*COLS*32-1:0] psum;

  genvar k, n;
  generate
    for (k = 0; k < ROWS; k = k + 1) begin : g_row
      for (n = 0; n < COLS; n = n + 1) begin : g_col
        logic [31:0] psum_in;
        if (k == 0) begin : g_top
          assign psum_in = 32'd0;
        end else begin : g_mid
          assign psum_in = psum[((k-1)*COLS + n)*32 +: 32];
        end
        tern_pe u_pe (
          .clk_i  (clk_i),
          .code_i (codes_i[(k*COLS + n)*2 +: 2]),
          .act_i  (acts_i[k*8 +: 8]),
          .psum_i (psum_in),
          .psum_o (psum[(k*COLS + n)*32 +: 32])
        );
      end
    end
  endgenerate

  assign psum_o = psum[(ROWS-1)*COLS*32 +: COLS*32];
endmodule
