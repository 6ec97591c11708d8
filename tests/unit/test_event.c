/* test_event.c - the event model: the field table's order (which the JSON
 * writer's nesting relies on), lookups, path ordering, dynamic fields. */
#include "wharf/arena.h"
#include "wharf/event.h"

#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

static wharf_str_t S(const char *s)
{
    return (wharf_str_t){s, strlen(s)};
}

static int sign(int v)
{
    return (v > 0) - (v < 0);
}

/* ---- the field table ---------------------------------------------------- */

static void test_table_sorted(void **state)
{
    for (int f = 1; f < WHARF_F__COUNT; f++) {
        wharf_str_t a = wharf_field_path_str((wharf_field_id)(f - 1));
        wharf_str_t b = wharf_field_path_str((wharf_field_id)f);
        if (wharf_path_compare(a, b) >= 0)
            fail_msg("WHARF_FIELDS not sorted: \"%s\" before \"%s\"", a.ptr, b.ptr);
    }
}

/* The writer needs each path to be either a leaf or an object, never both:
 * "container.image" as a field next to "container.image.name" would write
 * the key twice. */
static void test_table_no_leaf_is_an_object(void **state)
{
    for (int a = 0; a < WHARF_F__COUNT; a++) {
        wharf_str_t pa = wharf_field_path_str((wharf_field_id)a);
        for (int b = 0; b < WHARF_F__COUNT; b++) {
            wharf_str_t pb = wharf_field_path_str((wharf_field_id)b);
            if (a != b && pb.len > pa.len && memcmp(pa.ptr, pb.ptr, pa.len) == 0 &&
                pb.ptr[pa.len] == '.')
                fail_msg("\"%s\" is a field and the parent of \"%s\"", pa.ptr, pb.ptr);
        }
    }
}

static void test_table_paths_well_formed(void **state)
{
    for (int f = 0; f < WHARF_F__COUNT; f++) {
        const char *p = wharf_field_path((wharf_field_id)f);
        wharf_str_t ps = wharf_field_path_str((wharf_field_id)f);
        assert_non_null(p);
        assert_ptr_equal(p, ps.ptr);
        assert_int_equal(strlen(p), ps.len);
        assert_true(ps.len > 0);
        assert_true(p[0] != '.' && p[ps.len - 1] != '.');
        assert_null(strstr(p, ".."));
        for (int g = 0; g < f; g++)
            assert_string_not_equal(p, wharf_field_path((wharf_field_id)g));
    }
    /* spot checks of ids against paths */
    assert_string_equal(wharf_field_path(WHARF_F_TIMESTAMP), "@timestamp");
    assert_string_equal(wharf_field_path(WHARF_F_CONTAINER_IMAGE_HASH_ALL),
                        "container.image.hash.all");
    assert_string_equal(wharf_field_path(WHARF_F_CONTAINER_SC_READ_ONLY_ROOTFS),
                        "container.security_context.read_only_root_filesystem");
    assert_string_equal(wharf_field_path(WHARF_F_LOG_OFFSET), "log.offset");
    assert_string_equal(wharf_field_path(WHARF_F_TAGS), "tags");
}

static void test_lookup_round_trip(void **state)
{
    for (int f = 0; f < WHARF_F__COUNT; f++) {
        const char *p = wharf_field_path((wharf_field_id)f);
        assert_int_equal(wharf_field_lookup(p, strlen(p)), f);
        /* the length decides, not a NUL */
        char buf[128];
        snprintf(buf, sizeof(buf), "%sX", p);
        assert_int_equal(wharf_field_lookup(buf, strlen(p)), f);
        assert_int_equal(wharf_field_lookup(buf, strlen(buf)), -1);
        assert_int_equal(wharf_field_lookup(p, strlen(p) - 1), -1);
    }
    static const char *const unknown[] = {
        "",         "no.such",  "container", "container.image", "Container.id", "container.id ",
        ".message", "message.", "tag",       "client.ip",       "@Timestamp",
    };
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
        assert_int_equal(wharf_field_lookup(unknown[i], strlen(unknown[i])), -1);
}

static void test_tag_names(void **state)
{
    assert_string_equal(wharf_tag_name(WHARF_TAG_TRUNCATED), "truncated");
    assert_string_equal(wharf_tag_name(WHARF_TAG_INVALID_JSON), "invalid_json");
    assert_string_equal(wharf_tag_name(WHARF_TAG_INVALID_CRI), "invalid_cri");
    assert_string_equal(wharf_tag_name(WHARF_TAG_PARTIAL_UNTERMINATED), "partial_unterminated");
}

/* ---- wharf_path_compare -------------------------------------------------- */

static void test_path_compare(void **state)
{
    assert_true(wharf_path_compare(S("a"), S("a.b")) < 0);
    assert_true(wharf_path_compare(S("a.b"), S("a-b")) < 0);
    assert_true(wharf_path_compare(S("a"), S("a-b")) < 0);
    assert_true(wharf_path_compare(S("a-b"), S("ab")) < 0);
    assert_true(wharf_path_compare(S("a.b"), S("ab")) < 0);
    assert_true(wharf_path_compare(S("a.b"), S("a.c")) < 0);
    assert_true(wharf_path_compare(S("a.z"), S("a-")) < 0);
    assert_true(wharf_path_compare(S("a.b.c"), S("a.bc")) < 0);
    assert_true(wharf_path_compare(S("a.b"), S("a.b.c")) < 0);
    assert_true(wharf_path_compare(S(""), S("a")) < 0);
    assert_true(wharf_path_compare(S("@timestamp"), S("agent.type")) < 0);
    assert_true(wharf_path_compare(S("Z"), S("a")) < 0);
    /* bytes compare unsigned */
    assert_true(wharf_path_compare(S("a"), S("\xc3\xa9")) < 0);
    assert_true(wharf_path_compare(S("log.file.path"), S("log.offset")) < 0);
    assert_true(wharf_path_compare(S("message"), S("messages")) < 0);
    assert_true(wharf_path_compare(S("container.security_context.user"), S("containers")) < 0);

    assert_int_equal(wharf_path_compare(S("a.b"), S("a.b")), 0);
    assert_int_equal(wharf_path_compare(S(""), S("")), 0);
    assert_int_equal(wharf_path_compare(S("container.image.name"), S("container.image.name")), 0);
    /* slices: compared by length, not up to a NUL */
    assert_int_equal(wharf_path_compare((wharf_str_t){"a.bX", 3}, (wharf_str_t){"a.bY", 3}), 0);
    assert_true(wharf_path_compare((wharf_str_t){"a.bX", 3}, (wharf_str_t){"a.bY", 4}) < 0);
}

/* A total order: antisymmetric and transitive on a mixed sample. */
static void test_path_compare_order(void **state)
{
    static const char *const p[] = {
        "",   "a",   "a.b",   "a.b.c", "a.bc",  "a-b",           "ab",         "a.c",
        "b",  "a.",  ".a",    "a..b",  "a_b",   "a/b",           "A",          "z.z.z",
        "@x", "a b", "a.b-c", "a.b.d", "a-b.c", "log.file.path", "log.offset", "log",
    };
    size_t n = sizeof(p) / sizeof(p[0]);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(wharf_path_compare(S(p[i]), S(p[i])), 0);
        for (size_t j = 0; j < n; j++) {
            int ij = sign(wharf_path_compare(S(p[i]), S(p[j])));
            int ji = sign(wharf_path_compare(S(p[j]), S(p[i])));
            assert_int_equal(ij, -ji);
            if (i != j)
                assert_int_not_equal(ij, 0);
            for (size_t k = 0; k < n; k++) {
                int jk = sign(wharf_path_compare(S(p[j]), S(p[k])));
                if (ij < 0 && jk < 0 && wharf_path_compare(S(p[i]), S(p[k])) >= 0)
                    fail_msg("not transitive: %s < %s < %s", p[i], p[j], p[k]);
            }
        }
    }
    /* everything under an object sorts together, before its siblings that
     * merely share the name as a prefix */
    for (size_t i = 0; i < n; i++) {
        if (strncmp(p[i], "a.", 2) == 0) {
            assert_true(wharf_path_compare(S("a"), S(p[i])) < 0);
            assert_true(wharf_path_compare(S(p[i]), S("a-b")) < 0);
            assert_true(wharf_path_compare(S(p[i]), S("a_b")) < 0);
            assert_true(wharf_path_compare(S(p[i]), S("ab")) < 0);
            assert_true(wharf_path_compare(S(p[i]), S("a b")) < 0);
        }
    }
}

/* ---- events and dynamic fields ------------------------------------------ */

/* An empty event with its own arena (free it with wharf_arena_free). */
static void event_start(wharf_event_t *e, wharf_arena_t *arena)
{
    wharf_arena_init(arena, 256);
    memset(e, 0, sizeof(*e));
    e->arena = arena;
    wharf_event_clear(e);
}

static void test_event_set_and_clear(void **state)
{
    wharf_arena_t arena;
    wharf_arena_init(&arena, 256);
    wharf_event_t e;
    memset(&e, 0xa5, sizeof(e));
    e.arena = &arena;
    wharf_event_clear(&e);
    assert_ptr_equal(e.arena, &arena);
    for (int f = 0; f < WHARF_F__COUNT; f++)
        assert_false(wharf_event_has(&e, (wharf_field_id)f));
    assert_int_equal(e.tags, 0);
    assert_int_equal(e.n_dyn, 0);

    wharf_event_set_cstr(&e, WHARF_F_MESSAGE, "hello");
    assert_true(wharf_event_has(&e, WHARF_F_MESSAGE));
    assert_int_equal(e.v[WHARF_F_MESSAGE].type, WHARF_V_STR);
    assert_int_equal(e.v[WHARF_F_MESSAGE].u.str.len, 5);
    assert_memory_equal(e.v[WHARF_F_MESSAGE].u.str.ptr, "hello", 5);
    wharf_event_set_long(&e, WHARF_F_LOG_OFFSET, -5);
    assert_int_equal(e.v[WHARF_F_LOG_OFFSET].type, WHARF_V_LONG);
    assert_int_equal(e.v[WHARF_F_LOG_OFFSET].u.i64, -5);
    wharf_event_set_bool(&e, WHARF_F_CONTAINER_SC_PRIVILEGED, 42);
    assert_int_equal(e.v[WHARF_F_CONTAINER_SC_PRIVILEGED].u.i64, 1);
    wharf_event_set_time(&e, WHARF_F_TIMESTAMP, 77);
    assert_int_equal(e.v[WHARF_F_TIMESTAMP].type, WHARF_V_TIME);
    assert_int_equal(e.v[WHARF_F_TIMESTAMP].u.i64, 77);
    wharf_event_tag(&e, WHARF_TAG_INVALID_CRI);
    assert_true(wharf_event_has(&e, WHARF_F_TAGS));
    assert_int_equal(e.tags, 1u << WHARF_TAG_INVALID_CRI);
    /* only the fields set are set */
    for (int f = 0; f < WHARF_F__COUNT; f++) {
        int want = f == WHARF_F_MESSAGE || f == WHARF_F_LOG_OFFSET ||
                   f == WHARF_F_CONTAINER_SC_PRIVILEGED || f == WHARF_F_TIMESTAMP ||
                   f == WHARF_F_TAGS;
        assert_int_equal(wharf_event_has(&e, (wharf_field_id)f), want);
    }
    wharf_event_unset(&e, WHARF_F_MESSAGE);
    assert_false(wharf_event_has(&e, WHARF_F_MESSAGE));
    assert_true(wharf_event_has(&e, WHARF_F_LOG_OFFSET));
    wharf_event_clear(&e);
    for (int f = 0; f < WHARF_F__COUNT; f++)
        assert_false(wharf_event_has(&e, (wharf_field_id)f));
    wharf_arena_free(&arena);
}

static void test_set_path(void **state)
{
    wharf_arena_t arena;
    wharf_event_t e;
    event_start(&e, &arena);

    /* a known path goes into the fixed table */
    wharf_value_t *v = wharf_event_set_path(&e, "log.offset", 10, WHARF_V_LONG);
    assert_ptr_equal(v, &e.v[WHARF_F_LOG_OFFSET]);
    assert_true(wharf_event_has(&e, WHARF_F_LOG_OFFSET));
    assert_int_equal(e.n_dyn, 0);

    /* anything else into the dynamic list, once per path */
    wharf_value_t *a = wharf_event_set_path(&e, "client.ip", 9, WHARF_V_STR);
    assert_non_null(a);
    assert_int_equal(a->type, WHARF_V_STR);
    assert_int_equal(e.n_dyn, 1);
    assert_int_equal(e.dyn[0].path.len, 9);
    assert_memory_equal(e.dyn[0].path.ptr, "client.ip", 9);
    a->u.str = (wharf_str_t){"1.2.3.4", 7};
    wharf_value_t *again = wharf_event_set_path(&e, "client.ip", 9, WHARF_V_LONG);
    assert_int_equal(e.n_dyn, 1);
    assert_int_equal(e.dyn[0].value.type, WHARF_V_LONG);
    again->u.i64 = 5;

    /* many: the list grows and keeps what it had */
    static char paths[200][16];
    for (int i = 0; i < 200; i++) {
        snprintf(paths[i], sizeof(paths[i]), "p.%d", i);
        wharf_value_t *d = wharf_event_set_path(&e, paths[i], strlen(paths[i]), WHARF_V_LONG);
        assert_non_null(d);
        d->u.i64 = i * 10;
    }
    assert_int_equal(e.n_dyn, 201);
    assert_true(e.cap_dyn >= e.n_dyn);
    assert_int_equal(e.dyn[0].value.u.i64, 5);
    for (int i = 0; i < 200; i++) {
        assert_int_equal(e.dyn[i + 1].path.len, strlen(paths[i]));
        assert_memory_equal(e.dyn[i + 1].path.ptr, paths[i], strlen(paths[i]));
        assert_int_equal(e.dyn[i + 1].value.u.i64, i * 10);
    }
    /* the dyn list lives in the arena; clear forgets it */
    wharf_event_clear(&e);
    assert_int_equal(e.n_dyn, 0);
    assert_null(e.dyn);
    wharf_arena_free(&arena);
}

/* Regression: the fuzzer's strict_dyn_* seeds. A dynamic path nested under
 * or over another field would be written as a duplicate key. */
static void test_set_path_refuses_conflicts(void **state)
{
    wharf_arena_t arena;
    wharf_event_t e;
    event_start(&e, &arena);
    static const char *const refused[] = {
        "message.x", "container", "container.image", "log.offset.more", "tags", "", ".a",
        "a.",        "a..b",      "user.\xff",       "user.\xfe"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        assert_null(wharf_event_set_path(&e, refused[i], strlen(refused[i]), WHARF_V_STR));
    assert_non_null(wharf_event_set_path(&e, "client.ip", 9, WHARF_V_STR));
    assert_null(wharf_event_set_path(&e, "client", 6, WHARF_V_STR));
    assert_null(wharf_event_set_path(&e, "client.ip.v4", 12, WHARF_V_STR));
    assert_non_null(wharf_event_set_path(&e, "client.port", 11, WHARF_V_LONG));
    assert_non_null(
        wharf_event_set_path(&e, "container.security_context.seccomp", 34, WHARF_V_STR));
    assert_int_equal(e.n_dyn, 3);
    wharf_arena_free(&arena);
}

/* wharf_event_set_dyn checks only the dynamic fields: the same path gets
 * its slot back, a path one component over or under another is refused,
 * paths that only share leading bytes are not. */
static void test_set_dyn_relations(void **state)
{
    wharf_arena_t arena;
    wharf_event_t e;
    event_start(&e, &arena);
    wharf_value_t *ip = wharf_event_set_dyn(&e, "zz.ip", 5, WHARF_V_STR);
    assert_non_null(ip);
    char again[] = "zz.ip"; /* the same bytes elsewhere */
    assert_ptr_equal(wharf_event_set_dyn(&e, again, 5, WHARF_V_LONG), ip);
    assert_int_equal(ip->type, WHARF_V_LONG);
    static const char *const refused[] = {"zz", "zz.ip.v4", "zz.ip.v4.x"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        assert_null(wharf_event_set_dyn(&e, refused[i], strlen(refused[i]), WHARF_V_STR));
    static const char *const taken[] = {"zz.i", "zz.ipx", "zz.ip-v4", "zzz", "z", "zz.pi"};
    for (size_t i = 0; i < sizeof(taken) / sizeof(taken[0]); i++)
        assert_non_null(wharf_event_set_dyn(&e, taken[i], strlen(taken[i]), WHARF_V_STR));
    assert_int_equal(e.n_dyn, 7);
    assert_null(wharf_event_set_dyn(&e, "z.a", 3, WHARF_V_STR));    /* under "z" */
    assert_null(wharf_event_set_dyn(&e, "zz.i.b", 6, WHARF_V_STR)); /* under "zz.i" */
    assert_int_equal(e.n_dyn, 7);
    wharf_arena_free(&arena);
}

/* A new chunk's bytes past what was allocated read as zero: PCRE2's JIT
 * reads the aligned block a message ends in, and bytes never written there
 * were memcheck errors on oneshot runs with the parser pack (regression). */
static void test_arena_fresh_bytes_zero(void **state)
{
    (void)state;
    mallopt(M_PERTURB, 0x5A); /* glibc: malloc'd bytes not zero by chance */
    wharf_arena_t arena;
    wharf_arena_init(&arena, 256);
    for (int round = 0; round < 3; round++) {
        unsigned char *p = wharf_arena_alloc(&arena, 240);
        assert_non_null(p);
        memset(p, 0xAB, 233);
        for (size_t i = 233; i < 256 - 16; i++)
            assert_int_equal(p[i], 0);
        unsigned char *big = wharf_arena_alloc(&arena, 1000);
        assert_non_null(big);
        for (size_t i = 0; i < 1000; i++)
            assert_int_equal(big[i], 0);
    }
    wharf_arena_free(&arena);
    mallopt(M_PERTURB, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_sorted),
        cmocka_unit_test(test_arena_fresh_bytes_zero),
        cmocka_unit_test(test_table_no_leaf_is_an_object),
        cmocka_unit_test(test_table_paths_well_formed),
        cmocka_unit_test(test_lookup_round_trip),
        cmocka_unit_test(test_tag_names),
        cmocka_unit_test(test_path_compare),
        cmocka_unit_test(test_path_compare_order),
        cmocka_unit_test(test_event_set_and_clear),
        cmocka_unit_test(test_set_path),
        cmocka_unit_test(test_set_path_refuses_conflicts),
        cmocka_unit_test(test_set_dyn_relations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
