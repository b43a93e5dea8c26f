/* The one whole-file reader of libtern: every file the kit reads whole
 * (program and instruction files, assembly, model descriptions, configs,
 * tokenizer files, validation text) goes through it with a size limit, so a
 * huge, endless (/dev/zero, a pipe) or growing input is refused with a
 * message instead of exhausting memory. */
#ifndef TERN_IO_H
#define TERN_IO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Reads all of path into a malloc'd buffer with a NUL after the last byte
 * (*len excludes it).  A file of more than max bytes is an error:
 * "<path>: file is larger than <max> bytes, expected <expected>" (expected:
 * what the file should be, e.g. "an assembly text").  Regular files are
 * allocated once from their size; other files (pipes, devices) are read in
 * growing chunks up to max + 1 bytes.  0, or -1 with *buf NULL. */
int tern_read_file(const char *path, size_t max, const char *expected, uint8_t **buf, size_t *len,
                   char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
