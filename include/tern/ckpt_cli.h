/* `tern import` and `tern export` (runtime/ckpt_cli.c, issue 11): checkpoints
 * in and out of the kit (include/tern/ckpt.h, docs/MODELS.md "Checkpoints").
 *   tern import SRC [-o OUT] [--format safetensors|gguf]
 *       reads a safetensors checkpoint (directory with config.json, file, or
 *       sharded index) or a GGUF file, prints what was mapped and how (the
 *       tern description, tensors, layers ternarised or quantised at import),
 *       and with -o writes it in tern's layout;
 *   tern export MODEL -o OUT [--format safetensors|gguf]
 *       writes a preset (seeded weights), a description file or a checkpoint.
 * Both return the process exit code (0, 1 on a failure, 2 on bad usage). */
#ifndef TERN_CKPT_CLI_H
#define TERN_CKPT_CLI_H

#ifdef __cplusplus
extern "C" {
#endif

int tern_import_main(int argc, char **argv);
int tern_export_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
