# the example of docs/ISA.md "Assembly"
load  mem=wbuf sram=0 sstride=0 y=1 x=48 dram=0x1000 dstride=0 push_next
gemm  w=0 a=0 acc=0 m=1 astride=1 accstride=1 reset pop_prev
vec   op=mulshr mode=const dst=0 src1=0 src2=100 n=48 rows=1 dst_rs=48 src_rs=48 shift=24
store mem=out sram=0 sstride=0 y=1 x=48 dram=0x2000 dstride=0 pop_prev push_prev
sync  q=compute pop_next push_prev
end
