/* IEEE binary16 (fp16) and bfloat16 <-> float32 (models/half.c), shared by
 * the checkpoint readers and writers (safetensors, GGUF): round to nearest
 * even, subnormals kept, overflow to infinity, NaN stays a quiet NaN.
 * Tested over all 65,536 values of each (tests/test_gguf.cc). */
#ifndef TERN_HALF_H
#define TERN_HALF_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

float tern_f16_to_f32(uint16_t h);
uint16_t tern_f32_to_f16(float f);
float tern_bf16_to_f32(uint16_t h);
uint16_t tern_f32_to_bf16(float f);

#ifdef __cplusplus
}
#endif
#endif
