/* crc32c.h - CRC-32C (Castagnoli), the checksum of buffer records.
 *
 * CRC-32C rather than zlib's CRC-32: x86 computes it in hardware (SSE 4.2),
 * and it detects more of the error patterns storage produces. */
#ifndef WHARF_CRC32C_H
#define WHARF_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends crc (0 to start) over n bytes. */
uint32_t wharf_crc32c(uint32_t crc, const void *data, size_t n);
/* The same with the table only: what CPUs without the instruction run. */
uint32_t wharf_crc32c_portable(uint32_t crc, const void *data, size_t n);

#endif
