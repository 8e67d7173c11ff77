/*
 * rbkeys.c - the database's key kinds (see rbkeys.h).  Only encoding,
 * order and description: the tree code never sees inside a key.
 */
#include "rbkeys.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "le.h"

static uint32_t distrow_size(const uint8_t *k, uint32_t avail)
{
	if (avail < 12)
		return 0;
	double d = lef64_get(k);
	return isnan(d) ? 0 : 12;
}

static int distrow_cmp(const uint8_t *a, const uint8_t *b)
{
	double da = lef64_get(a), db = lef64_get(b);
	if (da != db)
		return da < db ? -1 : 1;
	uint32_t ra = le32_get(a + 8), rb = le32_get(b + 8);
	return ra == rb ? 0 : (ra < rb ? -1 : 1);
}

static void distrow_describe(const uint8_t *k, char *buf, size_t cap)
{
	snprintf(buf, cap, "(%.17g, row %u)", lef64_get(k), le32_get(k + 8));
}

const rbt_keykind rbt_key_distrow = {
	.id = 1, .name = "distance-row", .max_size = 12,
	.size = distrow_size, .cmp = distrow_cmp, .describe = distrow_describe,
};

static uint32_t bytes_size(const uint8_t *k, uint32_t avail)
{
	if (avail < 1 || k[0] == 0 || (uint32_t)k[0] + 1 > avail)
		return 0;
	return (uint32_t)k[0] + 1;
}

static int bytes_cmp(const uint8_t *a, const uint8_t *b)
{
	size_t la = a[0], lb = b[0];
	int c = memcmp(a + 1, b + 1, la < lb ? la : lb);
	if (c)
		return c < 0 ? -1 : 1;
	return la == lb ? 0 : (la < lb ? -1 : 1);
}

static void bytes_describe(const uint8_t *k, char *buf, size_t cap)
{
	size_t n = 0;
	if (cap < 8)
		return;
	buf[n++] = '\'';
	for (size_t i = 0; i < k[0] && n + 6 < cap; i++) {
		uint8_t c = k[1 + i];
		if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
			buf[n++] = (char)c;
		else
			n += (size_t)snprintf(buf + n, cap - n, "\\x%02x", c);
	}
	buf[n++] = '\'';
	buf[n] = '\0';
}

const rbt_keykind rbt_key_bytes = {
	.id = 2, .name = "bytes", .max_size = 256,
	.size = bytes_size, .cmp = bytes_cmp, .describe = bytes_describe,
};

/* (typed value, row): a tag, the value, the row.  The tags' order is the
 * kinds' order: every number before every string before every boolean. */
static uint32_t metarow_size(const uint8_t *k, uint32_t avail)
{
	if (avail < 1)
		return 0;
	switch (k[0]) {
	case RBT_META_NUMBER:
		return avail >= 13 && !isnan(lef64_get(k + 1)) ? 13 : 0;
	case RBT_META_STRING:
		if (avail < 2 || k[1] > RBT_META_STRING_MAX || (uint32_t)k[1] + 6 > avail)
			return 0;
		return (uint32_t)k[1] + 6;
	case RBT_META_BOOL:
		return avail >= 6 && k[1] <= 1 ? 6 : 0;
	default:
		return 0;
	}
}

static uint32_t metarow_value_size(const uint8_t *k)
{
	return k[0] == RBT_META_NUMBER ? 9 : k[0] == RBT_META_STRING ? (uint32_t)k[1] + 2 : 2;
}

static int metarow_cmp(const uint8_t *a, const uint8_t *b)
{
	if (a[0] != b[0])
		return a[0] < b[0] ? -1 : 1;
	int c = 0;
	if (a[0] == RBT_META_NUMBER) {
		double da = lef64_get(a + 1), db = lef64_get(b + 1);
		c = da < db ? -1 : da > db;
	} else if (a[0] == RBT_META_STRING) {
		size_t la = a[1], lb = b[1];
		c = memcmp(a + 2, b + 2, la < lb ? la : lb);
		c = c ? (c < 0 ? -1 : 1) : (la > lb) - (la < lb);
	} else {
		c = (a[1] > b[1]) - (a[1] < b[1]);
	}
	if (c)
		return c;
	uint32_t ra = rbt_metarow_row(a), rb = rbt_metarow_row(b);
	return ra == rb ? 0 : (ra < rb ? -1 : 1);
}

static void metarow_describe(const uint8_t *k, char *buf, size_t cap)
{
	uint32_t row = rbt_metarow_row(k);
	if (k[0] == RBT_META_NUMBER) {
		snprintf(buf, cap, "(%.17g, row %u)", lef64_get(k + 1), row);
	} else if (k[0] == RBT_META_BOOL) {
		snprintf(buf, cap, "(%s, row %u)", k[1] ? "true" : "false", row);
	} else {
		char s[4 * RBT_META_STRING_MAX + 8];
		bytes_describe(k + 1, s, sizeof s);
		snprintf(buf, cap, "(%s, row %u)", s, row);
	}
}

const rbt_keykind rbt_key_metarow = {
	.id = 3, .name = "value-row", .max_size = RBT_META_STRING_MAX + 6,
	.size = metarow_size, .cmp = metarow_cmp, .describe = metarow_describe,
};

const rbt_keykind *rbt_keykind_by_id(uint8_t id)
{
	static const rbt_keykind *const kinds[] = {&rbt_key_distrow, &rbt_key_bytes, &rbt_key_metarow};
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (kinds[i]->id == id)
			return kinds[i];
	return NULL;
}

void rbt_distrow_put(uint8_t out[12], double distance, uint32_t row)
{
	lef64_put(out, distance);
	le32_put(out + 8, row);
}

double rbt_distrow_distance(const uint8_t *key) { return lef64_get(key); }
uint32_t rbt_distrow_row(const uint8_t *key) { return le32_get(key + 8); }

uint32_t rbt_bytes_put(uint8_t out[RBT_KEY_MAX], const void *bytes, size_t len)
{
	if (len < 1 || len > 255)
		return 0;
	out[0] = (uint8_t)len;
	memcpy(out + 1, bytes, len);
	return (uint32_t)len + 1;
}

uint32_t rbt_metarow_number(uint8_t out[RBT_KEY_MAX], double value, uint32_t row)
{
	if (isnan(value))
		return 0;
	out[0] = RBT_META_NUMBER;
	lef64_put(out + 1, value == 0 ? 0.0 : value); /* -0 and 0 are one key */
	le32_put(out + 9, row);
	return 13;
}

uint32_t rbt_metarow_string(uint8_t out[RBT_KEY_MAX], const char *s, size_t len, uint32_t row)
{
	size_t n = len < RBT_META_STRING_MAX ? len : RBT_META_STRING_MAX;
	out[0] = RBT_META_STRING;
	out[1] = (uint8_t)n;
	memcpy(out + 2, s, n);
	le32_put(out + 2 + n, row);
	return (uint32_t)n + 6;
}

uint32_t rbt_metarow_bool(uint8_t out[RBT_KEY_MAX], int value, uint32_t row)
{
	out[0] = RBT_META_BOOL;
	out[1] = value != 0;
	le32_put(out + 2, row);
	return 6;
}

uint32_t rbt_metarow_row(const uint8_t *key)
{
	return le32_get(key + metarow_value_size(key));
}
