// tern_dma_store: the STORE unit (docs/ISA.md "Timing").
// A STORE that starts in cycle s reads the SRAM word of beat k in cycle
// s+1+k (k < B; one-cycle read latency) and posts the DRAM write of beat k in
// cycle s+2+k.  It finishes in the cycle of its last write, s+B+1: D = 2 + B.
// OUT8 (byte view of OUT): one byte per beat; the unit reads OUT word
// address / COLS and keeps lane address % COLS for the write stage.
module tern_dma_store #(
    parameter integer COLS      = 16,
    parameter integer ACC_DEPTH = 4096,
    parameter integer OUT_DEPTH = 2048,
    parameter integer DRAM_BW   = 16,
    parameter integer AW_C      = (ACC_DEPTH > 1) ? $clog2(ACC_DEPTH) : 1,
    parameter integer AW_O      = (OUT_DEPTH > 1) ? $clog2(OUT_DEPTH) : 1
) (
    input  logic                 clk_i,
    input  logic                 rst_ni,
    input  logic                 start_i,
    /* verilator lint_off UNUSEDSIGNAL */
    input  logic [127:0]         insn_i,
    /* verilator lint_on UNUSEDSIGNAL */
    output logic                 busy_o,
    output logic                 finish_o,
    // SRAM read ports (data valid the cycle after the request)
    output logic                 acc_re_o,
    output logic [AW_C-1:0]      acc_raddr_o,
    input  logic [COLS*32-1:0]   acc_rdata_i,
    output logic                 out_re_o,
    output logic [AW_O-1:0]      out_raddr_o,
    input  logic [COLS*8-1:0]    out_rdata_i,
    output logic                 word_rd_o,   // first read of a word this cycle (ACC_RD / OUT_RD)
    // DRAM write channel (posted)
    output logic                 wr_req_o,
    output logic [31:0]          wr_addr_o,
    output logic [7:0]           wr_len_o,
    output logic [DRAM_BW*8-1:0] wr_data_o
);
`include "tern_isa.vh"

  localparam integer WB_C = 4 * COLS;
  localparam integer WB_O = COLS;
  localparam integer BEAT_C = (DRAM_BW < WB_C) ? DRAM_BW : WB_C;
  localparam integer BEAT_O = (DRAM_BW < WB_O) ? DRAM_BW : WB_O;
  localparam integer LOG2C = $clog2(COLS);
  localparam integer EXT_B = (WB_C > DRAM_BW) ? WB_C : DRAM_BW;
  localparam integer EXT = EXT_B * 8;

  logic [2:0] mem_q;
  logic [15:0] x_q, y_q, sstride_q, dstride_q;
  logic [31:0] beat_b, wb_b;
  always_comb begin
    if (mem_q == MEM_OUT) begin
      beat_b = 32'(BEAT_O);
      wb_b   = 32'(WB_O);
    end else if (mem_q == MEM_OUT8) begin
      beat_b = 32'd1;
      wb_b   = 32'd1;
    end else begin
      beat_b = 32'(BEAT_C);
      wb_b   = 32'(WB_C);
    end
  end

  // ---- read stage (cycles s+1 .. s+B)
  logic rd_active_q;
  logic [31:0] rd_j_q;  // beat within word
  logic [15:0] rd_i_q, rd_r_q, rd_base_q;
  logic [31:0] rd_dbase_q, rd_off_q;
  logic rd_word_end, rd_row_end, rd_last;
  assign rd_word_end = (rd_j_q + 32'd1) * beat_b == wb_b;
  assign rd_row_end  = rd_word_end && (rd_i_q == x_q - 16'd1);
  assign rd_last     = rd_row_end && (rd_r_q == y_q - 16'd1);

    /* verilator lint_off UNUSEDSIGNAL */
  logic [15:0] sram_addr;
    /* verilator lint_on UNUSEDSIGNAL */
  logic is_out, is_out8;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [15:0] out8_word;  // bits above AW_O are zero for a validated program
  /* verilator lint_on UNUSEDSIGNAL */
  assign sram_addr   = rd_base_q + rd_i_q;
  assign is_out8     = (mem_q == MEM_OUT8);
  assign is_out      = (mem_q == MEM_OUT) || is_out8;
  assign out8_word   = sram_addr >> LOG2C;
  assign acc_re_o    = rd_active_q && !is_out;
  assign out_re_o    = rd_active_q && is_out;
  assign acc_raddr_o = sram_addr[AW_C-1:0];
  assign out_raddr_o = is_out8 ? out8_word[AW_O-1:0] : sram_addr[AW_O-1:0];
  assign word_rd_o   = rd_active_q && (rd_j_q == 32'd0);

  // ---- write stage (cycles s+2 .. s+B+1)
  logic wr_valid_q, wr_last_q;
  logic [31:0] wr_addr_q, wr_j_q;
  logic [LOG2C-1:0] wr_lane_q;  // OUT8: byte lane of the word read in the previous cycle
  logic [EXT-1:0] rdata_ext;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [EXT-1:0] shifted, bmask;  // only the low DRAM_BW bytes are used
  logic [COLS*8-1:0] out_byte;     // OUT8: the addressed byte moved to byte 0
  /* verilator lint_on UNUSEDSIGNAL */
  assign out_byte  = out_rdata_i >> {wr_lane_q, 3'b000};
  assign rdata_ext = is_out8 ? EXT'(out_byte[7:0])
                   : (mem_q == MEM_OUT) ? EXT'(out_rdata_i) : EXT'(acc_rdata_i);
  assign shifted   = rdata_ext >> ((wr_j_q * beat_b) << 3);
  assign bmask     = {EXT{1'b1}} >> ((32'(EXT_B) - beat_b) << 3);

  assign wr_req_o  = wr_valid_q;
  assign wr_addr_o = wr_addr_q;
  assign wr_len_o  = beat_b[7:0];
  assign wr_data_o = shifted[DRAM_BW*8-1:0] & bmask[DRAM_BW*8-1:0];

  assign busy_o    = rd_active_q || wr_valid_q;
  assign finish_o  = wr_valid_q && wr_last_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      mem_q       <= '0;
      x_q         <= '0;
      y_q         <= '0;
      sstride_q   <= '0;
      dstride_q   <= '0;
      rd_active_q <= 1'b0;
      rd_j_q      <= '0;
      rd_i_q      <= '0;
      rd_r_q      <= '0;
      rd_base_q   <= '0;
      rd_dbase_q  <= '0;
      rd_off_q    <= '0;
      wr_valid_q  <= 1'b0;
      wr_last_q   <= 1'b0;
      wr_addr_q   <= '0;
      wr_j_q      <= '0;
      wr_lane_q   <= '0;
    end else begin
      wr_valid_q <= rd_active_q;
      wr_last_q  <= rd_active_q && rd_last;
      wr_addr_q  <= rd_dbase_q + rd_off_q;
      wr_j_q     <= rd_j_q;
      wr_lane_q  <= sram_addr[LOG2C-1:0];
      if (start_i) begin
        mem_q       <= insn_i[F_DMA_MEM_LSB+:F_DMA_MEM_W];
        x_q         <= insn_i[F_DMA_X_SIZE_LSB+:F_DMA_X_SIZE_W];
        y_q         <= insn_i[F_DMA_Y_SIZE_LSB+:F_DMA_Y_SIZE_W];
        sstride_q   <= insn_i[F_DMA_SRAM_STRIDE_LSB+:F_DMA_SRAM_STRIDE_W];
        dstride_q   <= insn_i[F_DMA_DRAM_STRIDE_LSB+:F_DMA_DRAM_STRIDE_W];
        rd_active_q <= 1'b1;
        rd_j_q      <= '0;
        rd_i_q      <= '0;
        rd_r_q      <= '0;
        rd_base_q   <= insn_i[F_DMA_SRAM_ADDR_LSB+:F_DMA_SRAM_ADDR_W];
        rd_dbase_q  <= insn_i[F_DMA_DRAM_ADDR_LSB+:F_DMA_DRAM_ADDR_W];
        rd_off_q    <= '0;
      end else if (rd_active_q) begin
        if (rd_word_end) begin
          rd_j_q <= '0;
          if (rd_row_end) begin
            rd_i_q     <= '0;
            rd_r_q     <= rd_r_q + 16'd1;
            rd_base_q  <= rd_base_q + sstride_q;
            rd_dbase_q <= rd_dbase_q + 32'(dstride_q);
            rd_off_q   <= '0;
          end else begin
            rd_i_q   <= rd_i_q + 16'd1;
            rd_off_q <= rd_off_q + beat_b;
          end
        end else begin
          rd_j_q   <= rd_j_q + 32'd1;
          rd_off_q <= rd_off_q + beat_b;
        end
        if (rd_last) rd_active_q <= 1'b0;
      end
    end
  end
endmodule
