// tern_out_ram: one lane of the OUT scratchpad (rtl/tern_mpram.sv, docs/SYNTH.md).
// One OUT lane (tern_compute): bytes; write 0 = load DMA (this lane's byte
// enable), write 1 = QUANT; reads 0 = store DMA, 1 = MAC8 B word, 2 = MAC8
// scalar stream.  Named for `tern synth` like tern_acc_ram.
module tern_out_ram #(
  parameter integer DEPTH = 32,
  parameter integer AW    = 5
) (
  input  logic           clk_i,
  input  logic [1:0]     we_i,
  input  logic [2*AW-1:0] waddr_i,
  input  logic [15:0]    wdata_i,
  input  logic [2:0]     re_i,
  input  logic [3*AW-1:0] raddr_i,
  output logic [23:0]    rdata_o
);
  tern_mpram #(.DEPTH(DEPTH), .WIDTH(8), .AW(AW), .NR(3)) u_mem (.*);
endmodule
