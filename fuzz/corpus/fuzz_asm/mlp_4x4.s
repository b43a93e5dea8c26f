load mem=acc sram=0 sstride=0 y=1 x=9 dram=0x0 dstride=0
load mem=wbuf sram=0 sstride=0 y=1 x=8 dram=0xc0 dstride=0
load mem=acc sram=9 sstride=2 y=2 x=2 dram=0x140 dstride=32 push_next
vec op=rsumsq mode=vec dst=19 src1=9 src2=9 n=2 rows=2 dst_rs=1 src_rs=2 shift=15 pop_prev
vec op=add mode=const dst=19 src1=19 src2=3 n=1 rows=2 dst_rs=1 src_rs=1 shift=0
vec op=rsqrt mode=const dst=21 src1=19 src2=4 n=1 rows=2 dst_rs=1 src_rs=1 shift=41
vec op=mulshr mode=bcastrow dst=15 src1=9 src2=5 n=2 rows=2 dst_rs=2 src_rs=2 shift=14
vec op=rmaxabs mode=vec dst=23 src1=15 src2=15 n=2 rows=2 dst_rs=1 src_rs=2 shift=0
vec op=max mode=const dst=23 src1=23 src2=1 n=1 rows=2 dst_rs=1 src_rs=1 shift=0
vec op=recip mode=const dst=25 src1=23 src2=2 n=1 rows=2 dst_rs=1 src_rs=1 shift=30
vec op=quant mode=perrow dst=0 src1=15 src2=25 n=2 rows=2 dst_rs=2 src_rs=2 shift=30 push_next
vec op=mulshr mode=perrow dst=13 src1=23 src2=21 n=1 rows=2 dst_rs=1 src_rs=1 shift=8
store mem=out sram=0 sstride=2 y=2 x=2 dram=0x1c0 dstride=8 pop_prev push_prev
sync q=compute pop_next push_prev
load mem=abuf sram=0 sstride=2 y=2 x=2 dram=0x1c0 dstride=8 pop_next push_next
vec op=mulshr mode=const dst=23 src1=13 src2=7 n=1 rows=2 dst_rs=1 src_rs=1 shift=30
load mem=wbuf sram=32 sstride=0 y=1 x=8 dram=0x100 dstride=0
gemm w=0 a=0 acc=15 m=2 astride=2 accstride=4 reset pop_prev
gemm w=1 a=1 acc=15 m=2 astride=2 accstride=4
gemm w=2 a=0 acc=16 m=2 astride=2 accstride=4 reset
gemm w=3 a=1 acc=16 m=2 astride=2 accstride=4
gemm w=4 a=0 acc=17 m=2 astride=2 accstride=4 reset
gemm w=5 a=1 acc=17 m=2 astride=2 accstride=4
gemm w=6 a=0 acc=18 m=2 astride=2 accstride=4 reset
gemm w=7 a=1 acc=18 m=2 astride=2 accstride=4
vec op=mulshr mode=perrow dst=15 src1=15 src2=23 n=4 rows=2 dst_rs=4 src_rs=4 shift=16
vec op=max mode=const dst=15 src1=15 src2=0 n=4 rows=2 dst_rs=4 src_rs=4 shift=0
vec op=mulshr mode=vec dst=23 src1=15 src2=15 n=4 rows=2 dst_rs=4 src_rs=4 shift=12
vec op=rmaxabs mode=vec dst=13 src1=23 src2=23 n=4 rows=2 dst_rs=1 src_rs=4 shift=0
vec op=max mode=const dst=13 src1=13 src2=1 n=1 rows=2 dst_rs=1 src_rs=1 shift=0
vec op=recip mode=const dst=15 src1=13 src2=2 n=1 rows=2 dst_rs=1 src_rs=1 shift=30
vec op=quant mode=perrow dst=0 src1=23 src2=15 n=4 rows=2 dst_rs=4 src_rs=4 shift=30 push_next
store mem=out sram=0 sstride=4 y=2 x=4 dram=0x200 dstride=16 pop_prev push_prev
sync q=compute pop_next push_prev
load mem=abuf sram=0 sstride=4 y=2 x=4 dram=0x200 dstride=16 pop_next push_next
vec op=mulshr mode=const dst=19 src1=13 src2=8 n=1 rows=2 dst_rs=1 src_rs=1 shift=23
gemm w=32 a=0 acc=15 m=2 astride=4 accstride=2 reset pop_prev
gemm w=33 a=1 acc=15 m=2 astride=4 accstride=2
gemm w=34 a=2 acc=15 m=2 astride=4 accstride=2
gemm w=35 a=3 acc=15 m=2 astride=4 accstride=2
gemm w=36 a=0 acc=16 m=2 astride=4 accstride=2 reset
gemm w=37 a=1 acc=16 m=2 astride=4 accstride=2
gemm w=38 a=2 acc=16 m=2 astride=4 accstride=2
gemm w=39 a=3 acc=16 m=2 astride=4 accstride=2
vec op=mulshr mode=perrow dst=15 src1=15 src2=19 n=2 rows=2 dst_rs=2 src_rs=2 shift=16
vec op=add mode=vec dst=9 src1=9 src2=15 n=2 rows=2 dst_rs=2 src_rs=2 shift=0 push_next
store mem=acc sram=9 sstride=2 y=2 x=2 dram=0x180 dstride=32 pop_prev
end
