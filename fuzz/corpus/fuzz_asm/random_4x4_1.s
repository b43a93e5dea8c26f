load mem=out sram=0 sstride=0 y=1 x=256 dram=0x0 dstride=0 push_next
load mem=out sram=195 sstride=3 y=2 x=3 dram=0x1940 dstride=0
load mem=wbuf sram=44 sstride=2 y=2 x=2 dram=0x1540 dstride=0
load mem=out sram=78 sstride=5 y=2 x=3 dram=0xe00 dstride=0
gemm w=59 a=245 acc=372 m=1 astride=2 accstride=3 reset
gemm w=57 a=219 acc=67 m=2 astride=0 accstride=0
vec op=rsqrt mode=bcastrow dst=339 src1=20 src2=2 n=1 rows=3 dst_rs=2 src_rs=3 shift=3
vec op=rsum mode=vec dst=432 src1=92 src2=216 n=2 rows=4 dst_rs=1 src_rs=3 shift=10
gemm w=62 a=92 acc=414 m=3 astride=3 accstride=0
load mem=wbuf sram=22 sstride=0 y=1 x=1 dram=0x1380 dstride=0 push_next
gemm w=63 a=229 acc=372 m=1 astride=0 accstride=3 reset
vec op=sub mode=bcastrow dst=62 src1=451 src2=436 n=4 rows=1 dst_rs=5 src_rs=4 shift=0 push_next
store mem=acc sram=62 sstride=5 y=1 x=4 dram=0x3f80 dstride=64 pop_prev
gemm w=23 a=255 acc=171 m=1 astride=2 accstride=1 reset
vec op=max mode=bcastrow dst=350 src1=54 src2=240 n=4 rows=1 dst_rs=4 src_rs=0 shift=56
gemm w=36 a=162 acc=178 m=1 astride=1 accstride=2 reset
sync q=compute pop_prev push_next
store mem=out sram=136 sstride=2 y=3 x=2 dram=0x3840 dstride=0 pop_prev
vec op=rsum mode=vec dst=317 src1=113 src2=86 n=2 rows=2 dst_rs=1 src_rs=4 shift=50
vec op=rsumsq mode=perrow dst=2 src1=287 src2=444 n=2 rows=2 dst_rs=1 src_rs=4 shift=0 push_next
store mem=acc sram=2 sstride=1 y=2 x=1 dram=0x2fc0 dstride=64 pop_prev
store mem=acc sram=9 sstride=2 y=1 x=1 dram=0x2dc0 dstride=0
vec op=add mode=bcastrow dst=499 src1=499 src2=38 n=1 rows=4 dst_rs=3 src_rs=3 shift=0
gemm w=0 a=234 acc=115 m=3 astride=2 accstride=3 reset
gemm w=22 a=191 acc=294 m=3 astride=0 accstride=1 pop_prev
sync q=compute
vec op=rsum mode=perrow dst=125 src1=471 src2=389 n=2 rows=4 dst_rs=1 src_rs=3 shift=28 push_next
store mem=acc sram=125 sstride=1 y=4 x=1 dram=0x2300 dstride=64 pop_prev
sync q=compute push_next
store mem=out sram=145 sstride=1 y=1 x=1 dram=0x2080 dstride=0 pop_prev
vec op=lut mode=vec dst=22 src1=480 src2=275 n=3 rows=4 dst_rs=4 src_rs=5 shift=13 push_next
store mem=acc sram=22 sstride=4 y=4 x=3 dram=0x25c0 dstride=64 pop_prev push_prev
vec op=min mode=bcastrow dst=36 src1=445 src2=491 n=4 rows=2 dst_rs=6 src_rs=5 shift=0 pop_next
sync q=compute push_prev
load mem=out8 sram=548 sstride=3 y=8 x=1 dram=0x683 dstride=3 pop_next
vec op=lut mode=bcastrow dst=393 src1=393 src2=195 n=2 rows=2 dst_rs=4 src_rs=4 shift=27 push_next
store mem=acc sram=393 sstride=4 y=2 x=2 dram=0x3f00 dstride=64 pop_prev
gemm w=28 a=17 acc=452 m=6 astride=0 accstride=1 reset
load mem=abuf sram=158 sstride=2 y=3 x=1 dram=0x14c0 dstride=0
vec op=add mode=bcastrow dst=36 src1=436 src2=313 n=2 rows=3 dst_rs=2 src_rs=2 shift=1 push_next
store mem=acc sram=36 sstride=2 y=3 x=2 dram=0x2380 dstride=64 pop_prev
vec op=add mode=vec dst=93 src1=93 src2=432 n=3 rows=1 dst_rs=4 src_rs=4 shift=19
load mem=abuf sram=159 sstride=4 y=3 x=2 dram=0x2440 dstride=0
vec op=rsqrt mode=vec dst=125 src1=460 src2=416 n=1 rows=1 dst_rs=1 src_rs=0 shift=25
end
