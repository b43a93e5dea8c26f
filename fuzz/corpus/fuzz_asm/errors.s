# a file with mistakes, to seed the error paths
gemm w=0 a=0 acc=0 m=1 bogus=3
load sram=70000
vec op=nope mode=diag n=4096
sync q=9 push_prev=2
frobnicate
