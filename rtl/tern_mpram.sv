// tern_mpram: a memory with 2 write ports and NR registered read ports per
// cycle, built from block-RAM-shaped pieces (docs/SYNTH.md "Where the
// scratchpads go").
//
// ACC and OUT are written by two agents in the same cycle (the load DMA and
// the compute unit) and read by three (rtl/tern_compute.sv).  No FPGA block
// RAM has that many ports, so a plain multi-ported array becomes flip-flops
// and read multiplexers.  This is the live-value-table construction
// (LaForest and Steffan, "Efficient Multi-Ported Memories for FPGAs", FPGA
// 2010):
//   - one bank per (write port w, read port r): write port w writes all of
//     its NR banks, read port r reads its bank of each write port; every bank
//     has one write and one registered read port (what SB_RAM40_4K, DP16KD
//     and RAMB18/36 offer);
//   - the live-value table (DEPTH x 1 bit, flip-flops) records which write
//     port wrote each word last, and selects the bank for each read.
// Behaviour, cycle for cycle, equals the multi-ported array it replaces:
//   - a registered read returns the word as it was before this cycle's writes
//     (read-first: the banks and the table are all read before written);
//   - when both ports write the same word in one cycle, port 1 wins;
//   - a read port's output holds while its enable is low.
module tern_mpram #(
  parameter integer DEPTH = 32,
  parameter integer WIDTH = 32,
  parameter integer AW    = 5,     // address bits (>= clog2(DEPTH))
  parameter integer NR    = 3      // read ports
) (
  input  logic                clk_i,
  input  logic [1:0]          we_i,     // write port 1 wins a same-word conflict
  input  logic [2*AW-1:0]     waddr_i,  // port w at [w*AW +: AW]
  input  logic [2*WIDTH-1:0]  wdata_i,
  input  logic [NR-1:0]       re_i,
  input  logic [NR*AW-1:0]    raddr_i,
  output logic [NR*WIDTH-1:0] rdata_o
);
  // the live-value table: 1 = write port 1 wrote the word last
  logic lvt [0:DEPTH-1];
  always_ff @(posedge clk_i) begin
    if (we_i[0]) lvt[waddr_i[0 +: AW]]  <= 1'b0;
    if (we_i[1]) lvt[waddr_i[AW +: AW]] <= 1'b1;
  end

  genvar r, w;
  generate
    for (r = 0; r < NR; r = r + 1) begin : g_rd
      logic sel_q;
      for (w = 0; w < 2; w = w + 1) begin : g_wr
        logic [WIDTH-1:0] ram [0:DEPTH-1];
        logic [WIDTH-1:0] q;
        always_ff @(posedge clk_i) begin
          if (we_i[w]) ram[waddr_i[w*AW +: AW]] <= wdata_i[w*WIDTH +: WIDTH];
          if (re_i[r]) q <= ram[raddr_i[r*AW +: AW]];
        end
      end
      always_ff @(posedge clk_i)
        if (re_i[r]) sel_q <= lvt[raddr_i[r*AW +: AW]];
      assign rdata_o[r*WIDTH +: WIDTH] = sel_q ? g_wr[1].q : g_wr[0].q;
    end
  endgenerate
endmodule
