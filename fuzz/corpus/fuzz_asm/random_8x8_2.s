load mem=out sram=0 sstride=0 y=1 x=512 dram=0x0 dstride=0 push_next
gemm w=51 a=368 acc=660 m=5 astride=1 accstride=3 push_prev
sync q=compute
vec op=lut mode=vec dst=891 src1=891 src2=397 n=1 rows=4 dst_rs=1 src_rs=1 shift=14
load mem=out sram=41 sstride=0 y=1 x=2 dram=0x1e40 dstride=0 push_next
gemm w=16 a=342 acc=692 m=1 astride=1 accstride=0 reset
vec op=mulshr mode=const dst=547 src1=213 src2=449 n=3 rows=3 dst_rs=4 src_rs=4 shift=9
vec op=add mode=const dst=471 src1=638 src2=920 n=3 rows=3 dst_rs=3 src_rs=4 shift=3
gemm w=7 a=200 acc=965 m=6 astride=0 accstride=3
vec op=lut mode=perrow dst=823 src1=266 src2=414 n=3 rows=1 dst_rs=5 src_rs=5 shift=0 push_next
store mem=acc sram=823 sstride=5 y=1 x=3 dram=0x3480 dstride=128 pop_prev
load mem=wbuf sram=45 sstride=5 y=2 x=4 dram=0x1ec0 dstride=0 pop_next
sync q=compute pop_prev push_next
store mem=out sram=321 sstride=6 y=2 x=4 dram=0x20c0 dstride=0 pop_prev
vec op=mulshr mode=perrow dst=269 src1=667 src2=574 n=3 rows=4 dst_rs=3 src_rs=4 shift=44
vec op=mac8 mode=acc dst=397 src1=28 src2=416 n=3 rows=24 dst_rs=0 src_rs=4 shift=0 pop_prev push_next
store mem=acc sram=397 sstride=0 y=1 x=3 dram=0x3c00 dstride=128 pop_prev
vec op=mac8 mode=acc dst=40 src1=305 src2=45 n=3 rows=29 dst_rs=0 src_rs=0 shift=0 push_next
store mem=acc sram=40 sstride=0 y=1 x=3 dram=0x2b80 dstride=128 pop_prev
sync q=compute push_next
store mem=out8 sram=1092 sstride=3 y=4 x=1 dram=0x22ee dstride=6 pop_prev
vec op=recip mode=perrow dst=791 src1=253 src2=195 n=1 rows=1 dst_rs=1 src_rs=2 shift=2
load mem=wbuf sram=30 sstride=3 y=1 x=3 dram=0xc00 dstride=0
vec op=rsqrt mode=vec dst=423 src1=808 src2=878 n=1 rows=4 dst_rs=2 src_rs=1 shift=0
gemm w=28 a=473 acc=424 m=6 astride=1 accstride=1 reset
gemm w=18 a=272 acc=994 m=1 astride=1 accstride=1 reset
sync q=compute push_next
store mem=out sram=340 sstride=2 y=1 x=3 dram=0x2740 dstride=0 pop_prev
end
