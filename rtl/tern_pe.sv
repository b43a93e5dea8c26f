// tern_pe: one ternary processing element (docs/ISA.md, rtl/README.md).
// psum_o <= psum_i + a (code 01), psum_i - a (code 11), psum_i (00 / 10).
// An add, a subtract or a pass: there is no multiplier in the array.
module tern_pe (
  input  logic        clk_i,
  input  logic [1:0]  code_i,   // weight code, held in the bank read register
  input  logic [7:0]  act_i,    // int8 activation of this PE row
  input  logic [31:0] psum_i,   // partial sum from the PE above (0 for row 0)
  output logic [31:0] psum_o    // registered partial sum to the PE below
);
  logic [31:0] a_ext;
  assign a_ext = {{24{act_i[7]}}, act_i};

  always_ff @(posedge clk_i) begin
    case (code_i)
      2'b01:   psum_o <= psum_i + a_ext;   // +1
      2'b11:   psum_o <= psum_i - a_ext;   // -1
      default: psum_o <= psum_i;           // 0 (and the reserved 10)
    endcase
  end
endmodule
