/*
 * test_check.c - damage is found: bit flips anywhere past the header page
 * of a compacted file are reported as corruption by open or by the checker,
 * and searches on the damaged file end cleanly.
 */
#include "dbformat.h"
#include "dbutil.h"

/* Damage: the checker names it, readers get errors, never crashes.  Flips
 * land anywhere past the header page of a compacted file (all of it live);
 * only alignment padding between tree nodes is outside every checksum. */
static void test_damage(void)
{
	char *dir = new_db(32, 4);
	tsdb_err err;
	tsdb_series *s = gen(5, 0, 50, 40);
	REQUIRE(insert(dir, s, 50, 0) == 0);
	REQUIRE(tsdb_compact(dir, NULL, NULL, &err) == 0);
	char *path = test_path(dir, TSDB_DATA_FILE);
	size_t len;
	unsigned char *orig = test_slurp(path, &len), *img = malloc(len);
	REQUIRE(orig && img);
	tsdb_rng rng;
	tsdb_rng_seed(&rng, 12);
	int detected = 0, flips = 300;
	for (int i = 0; i < flips; i++) {
		memcpy(img, orig, len);
		size_t at = COW_DATA_START + (size_t)tsdb_rng_below(&rng, len - COW_DATA_START);
		img[at] ^= (uint8_t)(1u << tsdb_rng_below(&rng, 8));
		REQUIRE(test_spew(path, img, len) == 0);
		tsdb_db db;
		tsdb_check_report rep;
		if (tsdb_db_open(&db, dir, &err) < 0) {
			detected += err.code == TSDB_E_CORRUPT;
			continue;
		}
		if (tsdb_check(&db, 0, &rep, &err) < 0)
			detected += err.code == TSDB_E_CORRUPT;
		/* Searches on the damaged file end cleanly, whatever they answer. */
		tsdb_query q;
		if (tsdb_query_from_series(&db, &s[i % 50], &q, &err) == 0) {
			tsdb_hit h[5];
			uint32_t nh;
			tsdb_search_knn(&db, &q, 5, h, &nh, NULL, &err);
			tsdb_query_free(&q);
		}
		tsdb_db_close(&db);
	}
	FIGURE("data-flips", "%d of %d", detected, flips);
	CHECKF(detected == flips, "%d of %d bit flips detected by open or check", detected, flips);
	free(orig);
	free(img);
	free(path);
	gen_free(s, 50);
	test_rmtree(dir);
}

int main(void)
{
	RUN(test_damage);
	return tap_done();
}
