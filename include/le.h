/*
 * le.h - fixed-width little-endian encoding.  Every on-disk integer and
 * float in tsdb goes through these, so files mean the same on any host;
 * on little-endian hosts they compile to plain (unaligned-safe) loads.
 */
#ifndef TSDB_LE_H
#define TSDB_LE_H

#include <stdint.h>
#include <string.h>

static inline uint32_t le32_get(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline uint64_t le64_get(const void *p)
{
	const uint8_t *b = p;
	return (uint64_t)le32_get(b) | (uint64_t)le32_get(b + 4) << 32;
}

static inline void le32_put(void *p, uint32_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)(v >> 16);
	b[3] = (uint8_t)(v >> 24);
}

static inline void le64_put(void *p, uint64_t v)
{
	uint8_t *b = p;
	le32_put(b, (uint32_t)v);
	le32_put(b + 4, (uint32_t)(v >> 32));
}

static inline double lef64_get(const void *p)
{
	uint64_t u = le64_get(p);
	double d;
	memcpy(&d, &u, sizeof d);
	return d;
}

static inline void lef32_put(void *p, float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	le32_put(p, u);
}

static inline void lef64_put(void *p, double d)
{
	uint64_t u;
	memcpy(&u, &d, sizeof u);
	le64_put(p, u);
}

#endif
