/*
 * utf8.h - UTF-8 encoding of one code point, for the parsers that decode
 * \uXXXX escapes (the filter matcher, the query language).
 */
#ifndef TSDB_UTF8_H
#define TSDB_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Writes the UTF-8 bytes of cp (at most U+10FFFF, not a surrogate: the
 * caller's to check) into out and returns how many (1..4). */
size_t tsdb_utf8_encode(uint32_t cp, unsigned char out[4]);

#endif
