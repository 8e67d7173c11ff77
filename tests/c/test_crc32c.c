/*
 * test_crc32c.c - the checksum every commit record and node carries.  The
 * dispatched implementation (hardware where the CPU has it) and the table
 * one must agree with each other and with CRC-32C's standard check value,
 * at every length and when a sum is continued over pieces.
 */
#include "crc32c.h"
#include "rng.h"
#include "tap.h"

uint32_t crc32c_sw(uint32_t crc, const void *data, size_t len);

static void test_check_value(void)
{
	CHECK(crc32c(0, "123456789", 9) == 0xE3069283u);
	CHECK(crc32c_sw(0, "123456789", 9) == 0xE3069283u);
	CHECK(crc32c(0, "", 0) == 0);
}

static void test_implementations_agree(void)
{
	uint8_t buf[1000];
	tsdb_rng rng;
	tsdb_rng_seed(&rng, 1);
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)tsdb_rng_next(&rng);
	for (size_t len = 0; len < sizeof buf; len += 7)
		CHECKF(crc32c(0, buf, len) == crc32c_sw(0, buf, len), "length %zu", len);
	/* Unaligned starts take the byte-wise head of the fast path. */
	for (size_t at = 1; at < 9; at++)
		CHECKF(crc32c(0, buf + at, 500) == crc32c_sw(0, buf + at, 500), "offset %zu", at);
}

static void test_continuation(void)
{
	uint8_t buf[100];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)(i * 31 + 5);
	CHECK(crc32c(crc32c(0, buf, 10), buf + 10, 90) == crc32c(0, buf, 100));
	CHECK(crc32c_sw(crc32c_sw(0, buf, 33), buf + 33, 67) == crc32c(0, buf, 100));
}

int main(void)
{
	RUN(test_check_value);
	RUN(test_implementations_agree);
	RUN(test_continuation);
	return tap_done();
}
