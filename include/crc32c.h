/*
 * crc32c.h - CRC-32C (Castagnoli), the checksum of every tsdb header,
 * commit record, tree node and series record.  Uses the SSE4.2 instruction
 * when the CPU has it and a table otherwise; both give the same values.
 */
#ifndef TSDB_CRC32C_H
#define TSDB_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* crc of data[0..len), continuing from crc (start with 0). */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);

#endif
