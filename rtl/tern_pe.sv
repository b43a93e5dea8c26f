// tern_pe: one ternary processing element (docs/ISA.md, rtl/README.md).
// psum_o <= psum_i + a (code 01), psum_i - a (code 11), psum_i (00 / 10).
// An add, a subtract or a pass: there is no multiplier in the array.
//
// One adder, not an adder and a subtractor: -a = ~a + 1, so
//   psum_i + (code[0] ? (a ^ {32{code[1]}}) : 0) + (code[0] & code[1])
// gives all three cases with the carry-in doing the +1 (Yosys SAT-proves it
// equal to the case statement; docs/SYNTH.md "What the numbers say").  On
// iCE40 this is one W-cell carry chain per PE instead of two.
//
// W, the partial-sum width (tern_array's PSUM_W), is at least 9 bits: the
// sign-extended int8 activation and its negation (up to +128) must fit.
module tern_pe #(
  parameter integer W = 32
) (
  input  logic         clk_i,
  input  logic [1:0]   code_i,   // weight code, held in the bank read register
  input  logic [7:0]   act_i,    // int8 activation of this PE row
  input  logic [W-1:0] psum_i,   // partial sum from the PE above (0 for row 0)
  output logic [W-1:0] psum_o    // registered partial sum to the PE below
);
  logic [W-1:0] a_ext, addend;
  logic         cin;
  assign a_ext  = {{(W-8){act_i[7]}}, act_i};
  assign addend = code_i[0] ? (a_ext ^ {W{code_i[1]}}) : {W{1'b0}};
  assign cin    = code_i[0] & code_i[1];

  always_ff @(posedge clk_i) psum_o <= psum_i + addend + {{(W-1){1'b0}}, cin};
endmodule
