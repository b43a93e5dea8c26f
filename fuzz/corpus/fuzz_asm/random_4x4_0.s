load mem=out sram=0 sstride=0 y=1 x=256 dram=0x0 dstride=0 push_next
vec op=lut mode=const dst=329 src1=221 src2=143 n=3 rows=1 dst_rs=3 src_rs=5 shift=21
gemm w=27 a=92 acc=86 m=6 astride=1 accstride=3 reset
gemm w=52 a=11 acc=305 m=3 astride=2 accstride=1
load mem=out8 sram=488 sstride=1 y=7 x=1 dram=0xe06 dstride=5
sync q=store
sync q=compute pop_prev push_next
store mem=out sram=210 sstride=2 y=2 x=1 dram=0x30c0 dstride=0 pop_prev
vec op=lut mode=const dst=394 src1=394 src2=184 n=4 rows=2 dst_rs=6 src_rs=6 shift=0
sync q=load
vec op=sub mode=const dst=44 src1=44 src2=446 n=4 rows=1 dst_rs=4 src_rs=4 shift=9 push_next
store mem=acc sram=44 sstride=4 y=1 x=4 dram=0x3800 dstride=64 pop_prev
load mem=acc sram=502 sstride=2 y=3 x=2 dram=0xfc0 dstride=0
load mem=out8 sram=225 sstride=3 y=5 x=1 dram=0x765 dstride=4
end
