/* The event heap: order, ties in insertion order, O(log n) cancel. */
#include <check.h>
#include <stdlib.h>

#include "rng.h"
#include "sim_heap.h"
#include "suites.h"

typedef struct item {
	sim_heap_node n;
	int id;
} item;

START_TEST(test_pop_in_key_order)
{
	sim_heap h;
	sim_heap_init(&h);
	enum { N = 5000 };
	item *it = calloc(N, sizeof *it);
	rng r;
	rng_seed(&r, 1);
	for (int i = 0; i < N; i++) {
		it[i].n.key = rng_below(&r, 1000);
		it[i].id = i;
		ck_assert_int_eq(sim_heap_push(&h, &it[i].n), 0);
	}
	uint64_t last_key = 0, last_seq = 0;
	for (int i = 0; i < N; i++) {
		sim_heap_node *n = sim_heap_pop(&h);
		ck_assert_ptr_nonnull(n);
		ck_assert_uint_ge(n->key, last_key);
		/* Equal keys leave in insertion order. */
		if (i && n->key == last_key)
			ck_assert_uint_gt(n->seq, last_seq);
		last_key = n->key;
		last_seq = n->seq;
		ck_assert(!sim_heap_contains(n));
	}
	ck_assert_ptr_null(sim_heap_pop(&h));
	sim_heap_free(&h);
	free(it);
}
END_TEST

START_TEST(test_ties_fifo)
{
	sim_heap h;
	sim_heap_init(&h);
	item it[100];
	for (int i = 0; i < 100; i++) {
		it[i].n.key = 42;
		it[i].id = i;
		sim_heap_push(&h, &it[i].n);
	}
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(((item *)sim_heap_pop(&h))->id, i);
	sim_heap_free(&h);
}
END_TEST

START_TEST(test_remove_anywhere)
{
	/* Remove a random half, then the rest must still pop in order and
	 * none of the removed may appear. */
	sim_heap h;
	sim_heap_init(&h);
	enum { N = 20000 };
	item *it = calloc(N, sizeof *it);
	char *gone = calloc(N, 1);
	rng r;
	rng_seed(&r, 99);
	for (int i = 0; i < N; i++) {
		it[i].n.key = rng_below(&r, 50000);
		it[i].id = i;
		sim_heap_push(&h, &it[i].n);
	}
	for (int i = 0; i < N; i++)
		if (rng_below(&r, 2)) {
			sim_heap_remove(&h, &it[i].n);
			ck_assert(!sim_heap_contains(&it[i].n));
			gone[i] = 1;
		}
	uint64_t last = 0;
	int popped = 0, expect = 0;
	for (int i = 0; i < N; i++)
		expect += !gone[i];
	sim_heap_node *n;
	while ((n = sim_heap_pop(&h))) {
		item *x = (item *)n;
		ck_assert(!gone[x->id]);
		ck_assert_uint_ge(n->key, last);
		last = n->key;
		popped++;
	}
	ck_assert_int_eq(popped, expect);
	sim_heap_free(&h);
	free(it);
	free(gone);
}
END_TEST

START_TEST(test_remove_last_and_top)
{
	sim_heap h;
	sim_heap_init(&h);
	item it[3] = {{.n.key = 1}, {.n.key = 2}, {.n.key = 3}};
	for (int i = 0; i < 3; i++)
		sim_heap_push(&h, &it[i].n);
	sim_heap_remove(&h, &it[0].n); /* the top */
	ck_assert_ptr_eq(sim_heap_peek(&h), &it[1].n);
	sim_heap_remove(&h, &it[2].n);
	ck_assert_uint_eq(h.len, 1);
	ck_assert_ptr_eq(sim_heap_pop(&h), &it[1].n);
	ck_assert_uint_eq(h.len, 0);
	sim_heap_free(&h);
}
END_TEST

START_TEST(test_interleaved_matches_sorted_model)
{
	/* Random pushes, pops and removes against a brute-force model. */
	sim_heap h;
	sim_heap_init(&h);
	enum { N = 3000 };
	item *it = calloc(N, sizeof *it);
	char *in = calloc(N, 1);
	rng r;
	rng_seed(&r, 7);
	int used = 0;
	for (int step = 0; step < 20000; step++) {
		uint64_t op = rng_below(&r, 3);
		if (op == 0 && used < N) {
			it[used].n.key = rng_below(&r, 100);
			it[used].id = used;
			sim_heap_push(&h, &it[used].n);
			in[used++] = 1;
		} else if (op == 1) {
			/* The model's minimum: smallest (key, seq) in. */
			int best = -1;
			for (int i = 0; i < used; i++)
				if (in[i] && (best < 0 || it[i].n.key < it[best].n.key ||
					      (it[i].n.key == it[best].n.key &&
					       it[i].n.seq < it[best].n.seq)))
					best = i;
			sim_heap_node *n = sim_heap_pop(&h);
			if (best < 0) {
				ck_assert_ptr_null(n);
			} else {
				ck_assert_ptr_eq(n, &it[best].n);
				in[best] = 0;
			}
		} else if (used) {
			int k = (int)rng_below(&r, (uint64_t)used);
			if (in[k]) {
				sim_heap_remove(&h, &it[k].n);
				in[k] = 0;
			}
		}
	}
	sim_heap_free(&h);
	free(it);
	free(in);
}
END_TEST

START_TEST(test_replace_top)
{
	/* Replacing the top, also with the top's own node given a later key,
	 * keeps the order a pop and a push would give. */
	sim_heap h;
	sim_heap_init(&h);
	item it[4] = {{.n.key = 10}, {.n.key = 20}, {.n.key = 30}, {.n.key = 25}};
	for (int i = 0; i < 3; i++)
		sim_heap_push(&h, &it[i].n);
	sim_heap_replace_top(&h, &it[3].n); /* 10 out, 25 in */
	ck_assert(!sim_heap_contains(&it[0].n));
	ck_assert_ptr_eq(sim_heap_peek(&h), &it[1].n);
	it[1].n.key = 40; /* the top's owner reuses it */
	sim_heap_node *top = sim_heap_peek(&h);
	sim_heap_replace_top(&h, top);
	ck_assert(sim_heap_contains(&it[1].n));
	ck_assert_ptr_eq(sim_heap_pop(&h), &it[3].n);
	ck_assert_ptr_eq(sim_heap_pop(&h), &it[2].n);
	ck_assert_ptr_eq(sim_heap_pop(&h), &it[1].n);
	ck_assert_ptr_null(sim_heap_pop(&h));
	sim_heap_free(&h);
}
END_TEST

Suite *heap_suite(void)
{
	Suite *s = suite_create("heap");
	TCase *tc = tcase_create("heap");
	tcase_add_test(tc, test_pop_in_key_order);
	tcase_add_test(tc, test_ties_fifo);
	tcase_add_test(tc, test_remove_anywhere);
	tcase_add_test(tc, test_remove_last_and_top);
	tcase_add_test(tc, test_interleaved_matches_sorted_model);
	tcase_add_test(tc, test_replace_top);
	suite_add_tcase(s, tc);
	return s;
}
