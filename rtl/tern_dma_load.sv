// tern_dma_load: the LOAD unit (docs/ISA.md "Timing").
// A LOAD that starts in cycle s requests one beat per cycle in s+1..s+B
// (beat = min(DRAM_BW, word bytes)); the harness returns each beat DRAM_LAT
// cycles after its request (rd_valid_i).  Words are assembled from their
// beats and written to WBUF / ABUF / ACC / OUT in the cycle their last beat
// arrives.  OUT8 (the byte view of OUT) moves one byte per beat and writes it
// with a byte enable: SRAM address = byte address, OUT word = address / COLS,
// lane = address % COLS.  The unit finishes (finish_o) in the cycle the last beat arrives,
// i.e. s + B + DRAM_LAT, so D = 1 + B + DRAM_LAT.
module tern_dma_load #(
    parameter integer ROWS       = 16,
    parameter integer COLS       = 16,
    parameter integer WBUF_DEPTH = 256,
    parameter integer ABUF_DEPTH = 4096,
    parameter integer ACC_DEPTH  = 4096,
    parameter integer OUT_DEPTH  = 2048,
    parameter integer DRAM_BW    = 16,
    parameter integer AW_W       = (WBUF_DEPTH > 1) ? $clog2(WBUF_DEPTH) : 1,
    parameter integer AW_A       = (ABUF_DEPTH > 1) ? $clog2(ABUF_DEPTH) : 1,
    parameter integer AW_C       = (ACC_DEPTH > 1) ? $clog2(ACC_DEPTH) : 1,
    parameter integer AW_O       = (OUT_DEPTH > 1) ? $clog2(OUT_DEPTH) : 1
) (
    input  logic                   clk_i,
    input  logic                   rst_ni,
    // start a LOAD (insn_i is the instruction, valid with start_i)
    input  logic                   start_i,
    /* verilator lint_off UNUSEDSIGNAL */
    input  logic [127:0]           insn_i,
    /* verilator lint_on UNUSEDSIGNAL */
    output logic                   busy_o,      // a LOAD is in flight (cycles s+1..s+D-1)
    output logic                   finish_o,    // last busy cycle
    // DRAM read channel
    output logic                   rd_req_o,
    output logic [31:0]            rd_addr_o,
    output logic [7:0]             rd_len_o,
    input  logic                   rd_valid_i,
    input  logic [DRAM_BW*8-1:0]   rd_data_i,
    // SRAM write ports
    output logic                   wbuf_we_o,
    output logic [AW_W-1:0]        wbuf_waddr_o,
    output logic [ROWS*COLS*2-1:0] wbuf_wdata_o,
    output logic                   abuf_we_o,
    output logic [AW_A-1:0]        abuf_waddr_o,
    output logic [ROWS*8-1:0]      abuf_wdata_o,
    output logic                   acc_we_o,
    output logic [AW_C-1:0]        acc_waddr_o,
    output logic [COLS*32-1:0]     acc_wdata_o,
    output logic                   out_we_o,    // OUT word (MEM_OUT) or one byte (MEM_OUT8)
    output logic [AW_O-1:0]        out_waddr_o,
    output logic [COLS*8-1:0]      out_wdata_o,
    output logic [COLS-1:0]        out_be_o     // byte enables
);
`include "tern_isa.vh"

  localparam integer WB_W = ROWS * COLS / 4;  // word bytes per memory
  localparam integer WB_A = ROWS;
  localparam integer WB_C = 4 * COLS;
  localparam integer WB_O = COLS;
  localparam integer BEAT_W = (DRAM_BW < WB_W) ? DRAM_BW : WB_W;
  localparam integer BEAT_A = (DRAM_BW < WB_A) ? DRAM_BW : WB_A;
  localparam integer BEAT_C = (DRAM_BW < WB_C) ? DRAM_BW : WB_C;
  localparam integer BEAT_O = (DRAM_BW < WB_O) ? DRAM_BW : WB_O;
  localparam integer LOG2C = $clog2(COLS);
  localparam integer M1 = (WB_W > WB_A) ? WB_W : WB_A;
  localparam integer M2 = (M1 > WB_C) ? M1 : WB_C;
  localparam integer EXT_B = (M2 > DRAM_BW) ? M2 : DRAM_BW;  // assembly width, bytes
  localparam integer EXT = EXT_B * 8;

  // ---- latched instruction
  logic [2:0] mem_q;
  logic [15:0] x_q, y_q, sstride_q, dstride_q;

  // beat and word size of the current memory (bytes)
  logic [31:0] beat_b, wb_b;
  always_comb begin
    case (mem_q)
      MEM_WBUF: begin
        beat_b = 32'(BEAT_W);
        wb_b   = 32'(WB_W);
      end
      MEM_ABUF: begin
        beat_b = 32'(BEAT_A);
        wb_b   = 32'(WB_A);
      end
      MEM_OUT: begin
        beat_b = 32'(BEAT_O);
        wb_b   = 32'(WB_O);
      end
      MEM_OUT8: begin
        beat_b = 32'd1;
        wb_b   = 32'd1;
      end
      default: begin
        beat_b = 32'(BEAT_C);
        wb_b   = 32'(WB_C);
      end
    endcase
  end

  // ---- request side
  logic req_active_q;
  logic [31:0] req_base_q, req_off_q, row_bytes_q;
  logic [15:0] req_row_q;
  logic req_row_end, req_last;
  assign req_row_end = (req_off_q + beat_b) == row_bytes_q;
  assign req_last    = req_row_end && (req_row_q == y_q - 16'd1);

  assign rd_req_o  = req_active_q;
  assign rd_addr_o = req_base_q + req_off_q;
  assign rd_len_o  = beat_b[7:0];

  // ---- receive side
  logic busy_q;
  logic [31:0] rx_j_q;  // beat within the word
  logic [15:0] rx_i_q, rx_r_q, rx_base_q;
  logic [EXT-1:0] asm_q, asm_d, bmask, data_ext;
  logic [31:0] ins_sh, beat_sh;
  logic rx_word_end, rx_row_end, rx_last, rx_beat;

  assign rx_beat     = busy_q && rd_valid_i;
  assign rx_word_end = (rx_j_q + 32'd1) * beat_b == wb_b;
  assign rx_row_end  = rx_word_end && (rx_i_q == x_q - 16'd1);
  assign rx_last     = rx_row_end && (rx_r_q == y_q - 16'd1);

  assign beat_sh  = beat_b << 3;
  assign ins_sh   = (wb_b - beat_b) << 3;
  assign bmask    = {EXT{1'b1}} >> ((32'(EXT_B) - beat_b) << 3);
  assign data_ext = EXT'(rd_data_i);
  // shift the assembly register down one beat and put the new beat on top:
  // after the last beat of a word, beat j sits at byte j*beat.
  assign asm_d    = ((asm_q >> beat_sh) & ~(bmask << ins_sh)) | ((data_ext & bmask) << ins_sh);

    /* verilator lint_off UNUSEDSIGNAL */
  logic [15:0] sram_addr;
    /* verilator lint_on UNUSEDSIGNAL */
  logic we;
  assign sram_addr = rx_base_q + rx_i_q;
  assign we = rx_beat && rx_word_end;

  assign wbuf_we_o    = we && (mem_q == MEM_WBUF);
  assign abuf_we_o    = we && (mem_q == MEM_ABUF);
  assign acc_we_o     = we && (mem_q == MEM_ACC);
  assign wbuf_waddr_o = sram_addr[AW_W-1:0];
  assign abuf_waddr_o = sram_addr[AW_A-1:0];
  assign acc_waddr_o  = sram_addr[AW_C-1:0];
  assign wbuf_wdata_o = asm_d[ROWS*COLS*2-1:0];
  assign abuf_wdata_o = asm_d[ROWS*8-1:0];
  assign acc_wdata_o  = asm_d[COLS*32-1:0];

  // OUT: a whole word; OUT8: the byte at lane addr % COLS of word addr / COLS
  logic is_out8;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [15:0] out8_word;  // bits above AW_O are zero for a validated program
  /* verilator lint_on UNUSEDSIGNAL */
  assign is_out8     = (mem_q == MEM_OUT8);
  assign out8_word   = sram_addr >> LOG2C;
  assign out_we_o    = we && (mem_q == MEM_OUT || is_out8);
  assign out_waddr_o = is_out8 ? out8_word[AW_O-1:0] : sram_addr[AW_O-1:0];
  assign out_wdata_o = is_out8 ? {COLS{asm_d[7:0]}} : asm_d[COLS*8-1:0];
  assign out_be_o    = is_out8 ? (COLS'(1) << sram_addr[LOG2C-1:0]) : {COLS{1'b1}};

  assign busy_o   = busy_q;
  assign finish_o = rx_beat && rx_last;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      mem_q        <= '0;
      x_q          <= '0;
      y_q          <= '0;
      sstride_q    <= '0;
      dstride_q    <= '0;
      req_active_q <= 1'b0;
      req_base_q   <= '0;
      req_off_q    <= '0;
      row_bytes_q  <= '0;
      req_row_q    <= '0;
      busy_q       <= 1'b0;
      rx_j_q       <= '0;
      rx_i_q       <= '0;
      rx_r_q       <= '0;
      rx_base_q    <= '0;
      asm_q        <= '0;
    end else if (start_i) begin
      mem_q        <= insn_i[F_DMA_MEM_LSB+:F_DMA_MEM_W];
      x_q          <= insn_i[F_DMA_X_SIZE_LSB+:F_DMA_X_SIZE_W];
      y_q          <= insn_i[F_DMA_Y_SIZE_LSB+:F_DMA_Y_SIZE_W];
      sstride_q    <= insn_i[F_DMA_SRAM_STRIDE_LSB+:F_DMA_SRAM_STRIDE_W];
      dstride_q    <= insn_i[F_DMA_DRAM_STRIDE_LSB+:F_DMA_DRAM_STRIDE_W];
      req_active_q <= 1'b1;
      req_base_q   <= insn_i[F_DMA_DRAM_ADDR_LSB+:F_DMA_DRAM_ADDR_W];
      req_off_q    <= '0;
      case (insn_i[F_DMA_MEM_LSB+:F_DMA_MEM_W])
        MEM_WBUF: row_bytes_q <= 32'(insn_i[F_DMA_X_SIZE_LSB+:F_DMA_X_SIZE_W]) * 32'(WB_W);
        MEM_ABUF: row_bytes_q <= 32'(insn_i[F_DMA_X_SIZE_LSB+:F_DMA_X_SIZE_W]) * 32'(WB_A);
        MEM_OUT:  row_bytes_q <= 32'(insn_i[F_DMA_X_SIZE_LSB+:F_DMA_X_SIZE_W]) * 32'(WB_O);
        MEM_OUT8: row_bytes_q <= 32'(insn_i[F_DMA_X_SIZE_LSB+:F_DMA_X_SIZE_W]);
        default:  row_bytes_q <= 32'(insn_i[F_DMA_X_SIZE_LSB+:F_DMA_X_SIZE_W]) * 32'(WB_C);
      endcase
      req_row_q <= '0;
      busy_q    <= 1'b1;
      rx_j_q    <= '0;
      rx_i_q    <= '0;
      rx_r_q    <= '0;
      rx_base_q <= insn_i[F_DMA_SRAM_ADDR_LSB+:F_DMA_SRAM_ADDR_W];
    end else begin
      if (req_active_q) begin
        if (req_row_end) begin
          req_off_q  <= '0;
          req_base_q <= req_base_q + 32'(dstride_q);
          req_row_q  <= req_row_q + 16'd1;
        end else begin
          req_off_q <= req_off_q + beat_b;
        end
        if (req_last) req_active_q <= 1'b0;
      end
      if (rx_beat) begin
        asm_q <= asm_d;
        if (rx_word_end) begin
          rx_j_q <= '0;
          if (rx_row_end) begin
            rx_i_q    <= '0;
            rx_r_q    <= rx_r_q + 16'd1;
            rx_base_q <= rx_base_q + sstride_q;
          end else begin
            rx_i_q <= rx_i_q + 16'd1;
          end
        end else begin
          rx_j_q <= rx_j_q + 32'd1;
        end
        if (rx_last) busy_q <= 1'b0;
      end
    end
  end
endmodule
