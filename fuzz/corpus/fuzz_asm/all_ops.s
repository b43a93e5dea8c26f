# one of every opcode / vop / mode / memory (4x4 configuration)
load mem=wbuf sram=0 sstride=0 y=1 x=2 dram=0 dstride=0
load mem=abuf sram=0 sstride=1 y=3 x=1 dram=0x100 dstride=4
load mem=acc sram=200 sstride=0 y=1 x=64 dram=0x400 dstride=0 push_next
gemm w=0 a=0 acc=0 m=3 astride=1 accstride=2 reset pop_prev
gemm w=1 a=0 acc=0 m=3 astride=1 accstride=2
vec op=add mode=vec dst=100 src1=0 src2=4 n=2 rows=2 dst_rs=2 src_rs=2
vec op=sub mode=bcastrow dst=104 src1=0 src2=8 n=2 rows=2 dst_rs=2 src_rs=2
vec op=max mode=perrow dst=108 src1=0 src2=8 n=2 rows=2 dst_rs=2 src_rs=2
vec op=min mode=const dst=112 src1=0 src2=9 n=2 rows=2 dst_rs=2 src_rs=2
vec op=mulshr mode=vec dst=116 src1=0 src2=4 n=2 rows=2 dst_rs=2 src_rs=2 shift=7
vec op=quant mode=perrow dst=0 src1=0 src2=12 n=2 rows=2 dst_rs=2 src_rs=2 shift=12
vec op=rsum dst=120 src1=0 n=2 rows=2 dst_rs=1 src_rs=2 shift=2
vec op=rsumsq dst=122 src1=0 n=2 rows=2 dst_rs=1 src_rs=2 shift=20
vec op=rmaxabs dst=124 src1=0 n=3 rows=2 dst_rs=1 src_rs=3
vec op=recip mode=perrow dst=126 src1=0 src2=12 n=1 rows=2 dst_rs=1 src_rs=1 shift=20
vec op=rsqrt mode=const dst=128 src1=0 src2=13 n=1 rows=3 dst_rs=1 src_rs=1 shift=30
vec op=lutld src1=200 n=64 rows=1
vec op=lut dst=132 src1=0 n=4 rows=1 shift=12 push_next
store mem=acc sram=100 sstride=0 y=1 x=40 dram=0x1000 dstride=0 pop_prev push_prev
store mem=out sram=0 sstride=0 y=1 x=4 dram=0x2000 dstride=0
sync q=compute pop_next
sync q=load
sync q=store
end
