/* test_array.c - wharf_array_reserve: the capacity it picks, that the
 * elements survive each growth, and that a size which would overflow is
 * refused with the array left as it was. */
#include "wharf/array.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

static void test_array_grows_by_doubling(void **state)
{
    (void)state;
    uint64_t *v = NULL;
    size_t n = 0, cap = 0;
    size_t caps[8], n_caps = 0;
    for (uint64_t i = 0; i < 100; i++) {
        size_t before = cap;
        assert_int_equal(wharf_array_reserve(&v, &cap, n + 1, sizeof(*v), 16), 0);
        if (cap != before)
            caps[n_caps++] = cap;
        v[n++] = i * 3;
    }
    assert_int_equal(n_caps, 4);
    assert_int_equal(caps[0], 16);
    assert_int_equal(caps[1], 32);
    assert_int_equal(caps[2], 64);
    assert_int_equal(caps[3], 128);
    for (uint64_t i = 0; i < 100; i++)
        assert_int_equal(v[i], i * 3);
    free(v);
}

static void test_array_reserves_many_at_once(void **state)
{
    (void)state;
    char *v = NULL;
    size_t cap = 0;
    assert_int_equal(wharf_array_reserve(&v, &cap, 1000, 1, 16), 0);
    assert_int_equal(cap, 1024);
    v[999] = 'x';
    /* Enough room already: nothing moves. */
    char *before = v;
    assert_int_equal(wharf_array_reserve(&v, &cap, 1024, 1, 16), 0);
    assert_ptr_equal(v, before);
    assert_int_equal(cap, 1024);
    assert_int_equal(v[999], 'x');
    free(v);
}

static void test_array_first_zero_starts_at_one(void **state)
{
    (void)state;
    int *v = NULL;
    size_t cap = 0;
    assert_int_equal(wharf_array_reserve(&v, &cap, 1, sizeof(*v), 0), 0);
    assert_int_equal(cap, 1);
    v[0] = 7;
    assert_int_equal(wharf_array_reserve(&v, &cap, 3, sizeof(*v), 0), 0);
    assert_int_equal(cap, 4);
    assert_int_equal(v[0], 7);
    free(v);
}

static void test_array_overflow_is_refused(void **state)
{
    (void)state;
    uint64_t *v = NULL;
    size_t cap = 0;
    assert_int_equal(wharf_array_reserve(&v, &cap, 4, sizeof(*v), 4), 0);
    v[3] = 42;
    uint64_t *before = v;
    /* The element count fits size_t but its bytes do not. */
    assert_int_equal(wharf_array_reserve(&v, &cap, SIZE_MAX / 4, sizeof(*v), 4), -ENOMEM);
    /* The count itself cannot double past SIZE_MAX. */
    assert_int_equal(wharf_array_reserve(&v, &cap, SIZE_MAX, 1, 4), -ENOMEM);
    assert_ptr_equal(v, before);
    assert_int_equal(cap, 4);
    assert_int_equal(v[3], 42);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_array_grows_by_doubling),
        cmocka_unit_test(test_array_reserves_many_at_once),
        cmocka_unit_test(test_array_first_zero_starts_at_one),
        cmocka_unit_test(test_array_overflow_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
