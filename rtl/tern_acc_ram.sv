// tern_acc_ram: the ACC scratchpad (rtl/tern_mpram.sv, docs/SYNTH.md).
// ACC of tern_compute: COLS x 32-bit words; write 0 = load DMA, write 1 =
// GEMM / vector unit; reads 0 = GEMM / vector rd0, 1 = vector rd1, 2 = store
// DMA.  A named module so that `tern synth` counts it as the ACC scratchpad.
module tern_acc_ram #(
  parameter integer DEPTH = 32,
  parameter integer WIDTH = 128,
  parameter integer AW    = 5
) (
  input  logic               clk_i,
  input  logic [1:0]         we_i,
  input  logic [2*AW-1:0]    waddr_i,
  input  logic [2*WIDTH-1:0] wdata_i,
  input  logic [2:0]         re_i,
  input  logic [3*AW-1:0]    raddr_i,
  output logic [3*WIDTH-1:0] rdata_o
);
  tern_mpram #(.DEPTH(DEPTH), .WIDTH(WIDTH), .AW(AW), .NR(3)) u_mem (.*);
endmodule
