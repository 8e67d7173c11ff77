/*
 * test_numparse.c - strict parsing and the shortest round-trip text of a
 * double: over a million random bit patterns, random subnormals and the
 * extremes, tsdb_format_double reads back bit for bit and no shorter %g
 * text does.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "numparse.h"
#include "rng.h"
#include "tap.h"

static double from_bits(uint64_t b)
{
	double x;
	memcpy(&x, &b, sizeof x);
	return x;
}

static uint64_t bits(double x)
{
	uint64_t b;
	memcpy(&b, &x, sizeof b);
	return b;
}

/* Significant digits of a %g text: its digits before any exponent, less
 * leading zeros and trailing ones ("342984729121980" has 14). */
static int digits(const char *s)
{
	int n = 0, leading = 1, zeros = 0;
	for (; *s && *s != 'e'; s++) {
		if (*s < '0' || *s > '9')
			continue;
		if (*s == '0' && leading)
			continue;
		leading = 0;
		n++;
		zeros = *s == '0' ? zeros + 1 : 0;
	}
	return n - zeros > 0 ? n - zeros : 1;
}

/* x's text reads back exactly, and one digit fewer never does. */
static int shortest_exact(double x, const char *want)
{
	char buf[TSDB_DOUBLE_TEXT_MAX], shorter[320];
	size_t len = tsdb_format_double(x, buf);
	if (len != strlen(buf) || bits(strtod(buf, NULL)) != bits(x))
		return printf("# %a -> '%s' does not read back\n", x, buf), 0;
	if (want && strcmp(buf, want) != 0)
		return printf("# %a -> '%s', expected '%s'\n", x, buf, want), 0;
	int p = digits(buf);
	if (p > 1) {
		snprintf(shorter, sizeof shorter, "%.*g", p - 1, x);
		if (bits(strtod(shorter, NULL)) == bits(x))
			return printf("# %a -> '%s', but '%s' reads back too\n", x, buf, shorter), 0;
	}
	return 1;
}

static void test_known_values(void)
{
	CHECK(shortest_exact(0.00441654748283, "0.00441654748283"));
	CHECK(shortest_exact(0.1, "0.1"));
	CHECK(shortest_exact(1e23, "1e+23"));
	CHECK(shortest_exact(-0.0, "-0"));
	CHECK(shortest_exact(0.0, "0"));
	CHECK(shortest_exact(1.0 / 3, "0.3333333333333333"));
	CHECK(shortest_exact(DBL_MAX, "1.7976931348623157e+308"));
	CHECK(shortest_exact(DBL_MIN, "2.2250738585072014e-308"));
	CHECK(shortest_exact(DBL_TRUE_MIN, "5e-324"));
	CHECK(shortest_exact(-DBL_TRUE_MIN, "-5e-324"));
	CHECK(shortest_exact(nextafter(DBL_MIN, 0), NULL)); /* the largest subnormal */
	CHECK(shortest_exact(123456789012345678.0, "1.2345678901234568e+17"));
	char buf[TSDB_DOUBLE_TEXT_MAX];
	tsdb_format_double(NAN, buf);
	CHECK(strcmp(buf, "nan") == 0);
	tsdb_format_double(-INFINITY, buf);
	CHECK(strcmp(buf, "-inf") == 0);
}

static void test_random_bits(void)
{
	tsdb_rng rng;
	tsdb_rng_seed(&rng, 42);
	int bad = 0, n = 0;
	while (n < 1000000 && bad < 5) {
		double x = from_bits(tsdb_rng_next(&rng));
		if (!isfinite(x))
			continue;
		n++;
		bad += !shortest_exact(x, NULL);
	}
	CHECKF(bad == 0, "%d of %d", bad, n);
}

static void test_random_subnormals_and_small_integers(void)
{
	tsdb_rng rng;
	tsdb_rng_seed(&rng, 7);
	int bad = 0;
	for (int i = 0; i < 100000 && bad < 5; i++) {
		double sub = from_bits(tsdb_rng_next(&rng) & ((UINT64_C(1) << 52) - 1)); /* exponent 0 */
		bad += !shortest_exact(sub, NULL);
		bad += !shortest_exact((double)(int64_t)(tsdb_rng_next(&rng) >> 20), NULL);
		bad += !shortest_exact((double)tsdb_rng_below(&rng, 1000000) / 1000, NULL);
	}
	CHECK(bad == 0);
}

static void test_parse_strict(void)
{
	uint64_t u;
	double d;
	CHECK(tsdb_parse_u64("42", 0, 100, &u) == 0 && u == 42);
	CHECK(tsdb_parse_u64("-1", 0, UINT64_MAX, &u) == -1);
	CHECK(tsdb_parse_u64(" 5", 0, 100, &u) == -1);
	CHECK(tsdb_parse_double("0.5", 0, 1, 1, &d) == 0 && d == 0.5);
	CHECK(tsdb_parse_double("0", 0, 1, 1, &d) == -1);
	CHECK(tsdb_parse_double("1e999", 0, 0, INFINITY, &d) == -1);
	CHECK(tsdb_parse_double("nan", -INFINITY, 0, INFINITY, &d) == -1);
}

int main(void)
{
	RUN(test_known_values);
	RUN(test_random_bits);
	RUN(test_random_subnormals_and_small_integers);
	RUN(test_parse_strict);
	return tap_done();
}
