// tern_array_wrap: place-and-route top for the iCE40 timing run of
// `tern synth` (runtime/synth.c).  A bare R x C array has
// R*C*2 + R*8 + C*32 + 1 pins (177 at 4x4), more than an iCE40 package
// offers, so this wrapper serialises the I/O onto 18 pins:
//   - the operands (R*C 2-bit codes and R int8 activations) come from an
//     input shift register that takes 8 bits per cycle from din_i; its
//     flip-flops stand for the WBUF/ABUF bank read registers that feed the
//     array in tern_compute (register -> PE adder -> psum register is the
//     same path shape);
//   - the C bottom-row partial sums are captured into an output shift
//     register when cap_i is high and leave 8 bits per cycle on dout_o.
// Every array bit is observable, so synthesis keeps the whole array.
// Not part of the accelerator (not read by Verilator / `make lint`).
module tern_array_wrap #(
  parameter integer ROWS   = 4,
  parameter integer COLS   = 4,
  parameter integer PSUM_W = 32
) (
  input  logic       clk_i,
  input  logic [7:0] din_i,
  input  logic       cap_i,
  output logic [7:0] dout_o
);
  localparam integer IW  = ROWS * COLS * 2 + ROWS * 8;   // operand bits
  localparam integer IWP = ((IW + 7) / 8) * 8;            // padded to bytes
  localparam integer OW  = COLS * 32;                     // result bits (multiple of 8)

  logic [IWP-1:0] in_q;
  logic [OW-1:0]  out_q;
  logic [OW-1:0]  psum;

  always_ff @(posedge clk_i) begin
    in_q <= {in_q[IWP-9:0], din_i};
    if (cap_i) out_q <= psum;
    else       out_q <= {out_q[OW-9:0], 8'd0};
  end

  tern_array #(.ROWS(ROWS), .COLS(COLS), .PSUM_W(PSUM_W)) u_array (
    .clk_i   (clk_i),
    .codes_i (in_q[ROWS*COLS*2-1:0]),
    .acts_i  (in_q[ROWS*COLS*2 +: ROWS*8]),
    .psum_o  (psum)
  );

  assign dout_o = out_q[OW-1 -: 8];
endmodule
