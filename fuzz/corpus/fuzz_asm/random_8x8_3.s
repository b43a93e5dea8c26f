load mem=out sram=0 sstride=0 y=1 x=512 dram=0x0 dstride=0 push_next
vec op=lutld mode=perrow dst=0 src1=578 src2=578 n=32 rows=1 dst_rs=0 src_rs=0 shift=0
sync q=compute pop_prev push_next
store mem=out8 sram=2662 sstride=8 y=5 x=6 dram=0x2f54 dstride=10 pop_prev
gemm w=57 a=371 acc=138 m=4 astride=2 accstride=2 reset
sync q=compute push_next
store mem=out8 sram=3992 sstride=2 y=8 x=1 dram=0x2d2e dstride=0 pop_prev
load mem=out sram=163 sstride=3 y=2 x=3 dram=0xc40 dstride=0
vec op=max mode=bcastrow dst=379 src1=379 src2=573 n=3 rows=4 dst_rs=4 src_rs=4 shift=41
vec op=lutld mode=vec dst=0 src1=538 src2=538 n=32 rows=1 dst_rs=0 src_rs=0 shift=0
gemm w=28 a=176 acc=574 m=5 astride=2 accstride=1 reset
load mem=wbuf sram=11 sstride=5 y=3 x=3 dram=0x19c0 dstride=0
gemm w=39 a=168 acc=887 m=5 astride=3 accstride=2
vec op=mulshr mode=const dst=534 src1=534 src2=447 n=1 rows=1 dst_rs=3 src_rs=3 shift=0 push_next
store mem=acc sram=534 sstride=3 y=1 x=1 dram=0x2380 dstride=64 pop_prev
gemm w=37 a=491 acc=630 m=4 astride=0 accstride=2 reset
load mem=abuf sram=509 sstride=0 y=3 x=3 dram=0x3e80 dstride=0
vec op=rsumsq mode=const dst=794 src1=420 src2=318 n=3 rows=4 dst_rs=1 src_rs=4 shift=9
vec op=sub mode=perrow dst=680 src1=491 src2=288 n=3 rows=2 dst_rs=4 src_rs=5 shift=38 push_next
store mem=acc sram=680 sstride=4 y=2 x=3 dram=0x21c0 dstride=128 pop_prev
vec op=lutld mode=const dst=0 src1=723 src2=723 n=32 rows=1 dst_rs=0 src_rs=0 shift=0
sync q=compute push_next
store mem=out8 sram=437 sstride=15 y=5 x=14 dram=0x329b dstride=0 pop_prev
load mem=out8 sram=3821 sstride=2 y=6 x=1 dram=0x187a dstride=4
store mem=acc sram=905 sstride=5 y=3 x=3 dram=0x3b00 dstride=0
gemm w=19 a=345 acc=324 m=5 astride=1 accstride=3 reset
vec op=quant mode=perrow dst=198 src1=74 src2=2 n=2 rows=1 dst_rs=2 src_rs=2 shift=34
vec op=rsqrt mode=vec dst=141 src1=1010 src2=712 n=1 rows=3 dst_rs=1 src_rs=1 shift=57
end
