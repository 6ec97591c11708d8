/* test_positions.c - input positions: the checkpoint form and back,
 * lookups, corrupt checkpoints, and the fingerprint hash. */
#include "wharf/common.h"
#include "wharf/positions.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

/* ---- helpers ------------------------------------------------------------ */

/* The last checkpoint text, as the buffer would hold it. */
static wharf_buf_t saved;

static int save(const wharf_positions_t *p)
{
    saved.len = 0;
    wharf_positions_serialize(p, &saved);
    return 0;
}

static int load(wharf_positions_t *p)
{
    return wharf_positions_parse(p, saved.data, saved.len);
}

static void set_text(const char *text, size_t n)
{
    saved.len = 0;
    wharf_buf_append(&saved, text, n);
}

static const char *saved_text(void)
{
    wharf_buf_putc(&saved, '\0');
    saved.len--;
    return saved.data;
}

static void add(wharf_positions_t *p, const char *input, const char *path, uint64_t dev,
                uint64_t ino, uint64_t fp_hash, uint32_t fp_len, uint64_t offset)
{
    wharf_position_t pos = {(char *)input, (char *)path, dev, ino, fp_hash, fp_len, offset};
    assert_int_equal(wharf_positions_add(p, &pos), 0);
}

static void assert_same_entry(const wharf_position_t *a, const wharf_position_t *b)
{
    assert_string_equal(a->input_id, b->input_id);
    assert_string_equal(a->path, b->path);
    assert_int_equal(a->dev, b->dev);
    assert_int_equal(a->ino, b->ino);
    assert_int_equal(a->fp_hash, b->fp_hash);
    assert_int_equal(a->fp_len, b->fp_len);
    assert_int_equal(a->offset, b->offset);
}

static void assert_empty(const wharf_positions_t *p)
{
    assert_int_equal(p->n, 0);
    assert_int_equal(p->n_inputs, 0);
    assert_int_equal(p->n_cursors, 0);
}

/* ---- fingerprint ----------------------------------------------------------- */

static void test_fingerprint(void **state)
{
    /* FNV-1a 64 test vectors */
    assert_int_equal(wharf_fingerprint("", 0), UINT64_C(0xcbf29ce484222325));
    assert_int_equal(wharf_fingerprint(NULL, 0), UINT64_C(0xcbf29ce484222325));
    assert_int_equal(wharf_fingerprint("a", 1), UINT64_C(0xaf63dc4c8601ec8c));
    assert_int_equal(wharf_fingerprint("foobar", 6), UINT64_C(0x85944171f73967e8));
    /* only n bytes count; bytes are unsigned */
    assert_int_equal(wharf_fingerprint("ab", 1), UINT64_C(0xaf63dc4c8601ec8c));
    assert_true(wharf_fingerprint("\xff", 1) != wharf_fingerprint("\x7f", 1));
    assert_true(wharf_fingerprint("ab", 2) != wharf_fingerprint("ba", 2));
    assert_true(wharf_fingerprint("a\0", 2) != wharf_fingerprint("a", 1));
}

/* ---- in memory -------------------------------------------------------------- */

static void test_add_find_inputs(void **state)
{
    wharf_positions_t p;
    wharf_positions_init(&p);
    assert_empty(&p);
    assert_null(wharf_positions_find(&p, "docker", 1, 2));
    assert_false(wharf_positions_has_input(&p, "docker"));

    add(&p, "docker", "/a", 1, 2, 0x1111, 64, 100);
    add(&p, "docker", "/b", 1, 3, 0x2222, 10, 200);
    add(&p, "pods", "/c", 1, 2, 0x3333, 64, 300); /* same file, other input */
    add(&p, "docker", "/d", 2, 2, 0x4444, 64, 400);
    assert_int_equal(p.n, 4);

    const wharf_position_t *f = wharf_positions_find(&p, "docker", 1, 2);
    assert_non_null(f);
    assert_string_equal(f->path, "/a");
    assert_int_equal(f->offset, 100);
    f = wharf_positions_find(&p, "pods", 1, 2);
    assert_non_null(f);
    assert_string_equal(f->path, "/c");
    assert_int_equal(f->offset, 300);
    f = wharf_positions_find(&p, "docker", 2, 2);
    assert_non_null(f);
    assert_string_equal(f->path, "/d");
    assert_null(wharf_positions_find(&p, "docker", 2, 3));
    assert_null(wharf_positions_find(&p, "pods", 1, 3));
    assert_null(wharf_positions_find(&p, "dock", 1, 2));
    assert_null(wharf_positions_find(&p, "", 1, 2));

    /* the store owns copies of the strings */
    char input[] = "tmp", path[] = "/tmp/x";
    add(&p, input, path, 9, 9, 0, 0, 0);
    input[0] = path[1] = 'X';
    f = wharf_positions_find(&p, "tmp", 9, 9);
    assert_non_null(f);
    assert_string_equal(f->path, "/tmp/x");
    /* a NULL path is stored as "" */
    add(&p, "nopath", NULL, 7, 7, 0, 0, 0);
    assert_string_equal(wharf_positions_find(&p, "nopath", 7, 7)->path, "");

    assert_int_equal(wharf_positions_add_input(&p, "docker"), 0);
    assert_int_equal(wharf_positions_add_input(&p, "docker"), 0);
    assert_int_equal(wharf_positions_add_input(&p, "pods"), 0);
    assert_int_equal(p.n_inputs, 2);
    assert_true(wharf_positions_has_input(&p, "docker"));
    assert_true(wharf_positions_has_input(&p, "pods"));
    assert_false(wharf_positions_has_input(&p, "pod"));
    assert_false(wharf_positions_has_input(&p, "dockerx"));

    /* many entries */
    for (int i = 0; i < 1000; i++)
        add(&p, "bulk", "/bulk", 5, (uint64_t)i, (uint64_t)i * 7, 64, (uint64_t)i * 3);
    for (int i = 0; i < 1000; i += 111) {
        f = wharf_positions_find(&p, "bulk", 5, (uint64_t)i);
        assert_non_null(f);
        assert_int_equal(f->offset, (uint64_t)i * 3);
    }
    wharf_positions_free(&p);
    assert_empty(&p);
    /* free leaves a usable empty store */
    add(&p, "again", "/x", 1, 1, 1, 1, 1);
    wharf_positions_free(&p);
}

/* ---- checkpoint form ---------------------------------------------------------- */

static void test_save_load_round_trip(void **state)
{
    wharf_positions_t p, q;
    wharf_positions_init(&p);
    wharf_positions_init(&q);
    assert_int_equal(wharf_positions_add_input(&p, "docker"), 0);
    assert_int_equal(wharf_positions_add_input(&p, "pods \"quoted\" \xc3\xa9"), 0);
    add(&p, "docker", "/var/lib/docker/containers/abc/abc-json.log", 2049, 1234567, 0, 64, 0);
    add(&p, "docker", "/with \"quotes\" and \\backslash\\", 2049, 2, UINT64_MAX, 64,
        UINT64_C(1) << 40);
    add(&p, "pods \"quoted\" \xc3\xa9",
        "/var/log/pods/ns_caf\xc3\xa9-\xe2\x82\xac_uid/\xf0\x9f\x98\x80/0.log", 2049, 3,
        UINT64_C(0x0123456789abcdef), 17, 4096);
    add(&p, "docker",
        "/control\n\t\x01"
        "chars",
        1, 4, UINT64_C(0xfedcba9876543210), 0, 1);
    add(&p, "docker", "", 0, 0, 0, 0, 0);
    add(&p, "docker", "/big", UINT64_C(0x7fffffffffffffff), UINT64_C(0x7ffffffffffffffe),
        UINT64_C(0x8000000000000000), 4096, UINT64_C(0x7fffffffffffffff));
    assert_int_equal(save(&p), 0);

    assert_int_equal(load(&q), 0);
    assert_int_equal(q.n, p.n);
    for (size_t i = 0; i < p.n; i++)
        assert_same_entry(&q.v[i], &p.v[i]);
    assert_int_equal(q.n_inputs, 2);
    assert_true(wharf_positions_has_input(&q, "docker"));
    assert_true(wharf_positions_has_input(&q, "pods \"quoted\" \xc3\xa9"));
    const wharf_position_t *f = wharf_positions_find(&q, "pods \"quoted\" \xc3\xa9", 2049, 3);
    assert_non_null(f);
    assert_int_equal(f->offset, 4096);
    assert_int_equal(f->fp_len, 17);

    /* saving again replaces the file; loading into a fresh store gives the same */
    wharf_positions_t r;
    wharf_positions_init(&r);
    assert_int_equal(save(&q), 0);
    assert_int_equal(load(&r), 0);
    assert_int_equal(r.n, p.n);
    for (size_t i = 0; i < p.n; i++)
        assert_same_entry(&r.v[i], &p.v[i]);

    /* an empty store round-trips as empty */
    wharf_positions_t e, e2;
    wharf_positions_init(&e);
    wharf_positions_init(&e2);
    assert_int_equal(save(&e), 0);
    assert_int_equal(load(&e2), 0);
    assert_empty(&e2);

    wharf_positions_free(&p);
    wharf_positions_free(&q);
    wharf_positions_free(&r);
}

/* Inode and device numbers are full 64-bit values (overlayfs with xino puts
 * a layer id in the high bits; st_dev of some file systems is large); a
 * saved store must load back, not be thrown away as corrupt. */
static void test_save_load_full_64bit(void **state)
{
    wharf_positions_t p, q;
    wharf_positions_init(&p);
    wharf_positions_init(&q);
    assert_int_equal(wharf_positions_add_input(&p, "docker"), 0);
    add(&p, "docker", "/overlay/x.log", 43, UINT64_C(0x8000000000012345), 0, 64, 10);
    add(&p, "docker", "/y.log", UINT64_MAX, UINT64_MAX, UINT64_MAX, 64, 20);
    int save_rc = save(&p);
    int load_rc = load(&q);
    char file[1024];
    snprintf(file, sizeof(file), "%s", saved_text());
    /* compare, then release everything before asserting */
    int same = q.n == p.n;
    for (size_t i = 0; same && i < p.n; i++)
        same = strcmp(q.v[i].input_id, p.v[i].input_id) == 0 &&
               strcmp(q.v[i].path, p.v[i].path) == 0 && q.v[i].dev == p.v[i].dev &&
               q.v[i].ino == p.v[i].ino && q.v[i].fp_hash == p.v[i].fp_hash &&
               q.v[i].fp_len == p.v[i].fp_len && q.v[i].offset == p.v[i].offset;
    int found = wharf_positions_find(&q, "docker", 43, UINT64_C(0x8000000000012345)) != NULL;
    wharf_positions_free(&p);
    wharf_positions_free(&q);
    assert_int_equal(save_rc, 0);
    if (load_rc != 0)
        fail_msg("load of a store with 64-bit inode/device numbers: rc=%d (%s); file: %s", load_rc,
                 wharf_strerror(load_rc), file);
    assert_true(same);
    assert_true(found);
}

/* Checkpoints are for people too: the format is documented in checkpoint.c. */
static void test_saved_format(void **state)
{
    wharf_positions_t p;
    wharf_positions_init(&p);
    assert_int_equal(wharf_positions_add_input(&p, "docker"), 0);
    add(&p, "docker", "/x \"y\"", 1, 2, UINT64_C(0x8c3f), 64, 1234);
    add(&p, "docker", "/z", 3, 4, UINT64_C(0xffffffffffffffff), 5, 6);
    assert_int_equal(save(&p), 0);
    assert_string_equal(saved_text(),
                        "{\"version\":1,\"inputs\":[\"docker\"],\"files\":[\n"
                        "{\"input\":\"docker\",\"path\":\"/x \\\"y\\\"\",\"dev\":1,\"ino\":2,"
                        "\"fp\":\"0000000000008c3f\",\"fp_len\":64,\"offset\":1234},\n"
                        "{\"input\":\"docker\",\"path\":\"/z\",\"dev\":3,\"ino\":4,"
                        "\"fp\":\"ffffffffffffffff\",\"fp_len\":5,\"offset\":6}]}\n");
    wharf_positions_free(&p);
}

static void test_load_corrupt(void **state)
{
    static const char *const bad[] = {
        "",
        "not json",
        "{",
        /* a torn write */
        "{\"version\":1,\"inputs\":[\"docker\"],\"files\":[\n{\"input\":\"docker\",\"path\":\"/a\","
        "\"dev\":1,\"ino\":2,\"fp\":\"00000000000000",
        "[]",
        "null",
        "{}",
        "{\"version\":1}",
        "{\"version\":1,\"inputs\":[\"docker\"]}",
        "{\"version\":1,\"files\":[]}",
        "{\"version\":1,\"inputs\":{},\"files\":[]}",
        "{\"version\":1,\"inputs\":[1],\"files\":[]}",
        "{\"version\":1,\"inputs\":[],\"files\":[1]}",
        "{\"version\":1,\"inputs\":[],\"files\":[{}]}",
        /* a file entry with a field missing or of the wrong type */
        "{\"version\":1,\"inputs\":[],\"files\":[{\"path\":\"/a\",\"dev\":1,\"ino\":2,"
        "\"fp\":\"1\",\"fp_len\":1,\"offset\":1}]}",
        "{\"version\":1,\"inputs\":[],\"files\":[{\"input\":\"d\",\"dev\":1,\"ino\":2,"
        "\"fp\":\"1\",\"fp_len\":1,\"offset\":1}]}",
        "{\"version\":1,\"inputs\":[],\"files\":[{\"input\":\"d\",\"path\":\"/a\",\"ino\":2,"
        "\"fp\":\"1\",\"fp_len\":1,\"offset\":1}]}",
        "{\"version\":1,\"inputs\":[],\"files\":[{\"input\":\"d\",\"path\":\"/a\",\"dev\":1,"
        "\"fp\":\"1\",\"fp_len\":1,\"offset\":1}]}",
        "{\"version\":1,\"inputs\":[],\"files\":[{\"input\":\"d\",\"path\":\"/a\",\"dev\":1,"
        "\"ino\":2,\"fp_len\":1,\"offset\":1}]}",
        "{\"version\":1,\"inputs\":[],\"files\":[{\"input\":\"d\",\"path\":\"/a\",\"dev\":1,"
        "\"ino\":2,\"fp\":\"1\",\"offset\":1}]}",
        "{\"version\":1,\"inputs\":[],\"files\":[{\"input\":\"d\",\"path\":\"/a\",\"dev\":1,"
        "\"ino\":2,\"fp\":\"1\",\"fp_len\":1}]}",
        "{\"version\":1,\"inputs\":[],\"files\":[{\"input\":\"d\",\"path\":\"/a\",\"dev\":1,"
        "\"ino\":2,\"fp\":\"1\",\"fp_len\":1,\"offset\":-1}]}",
        "{\"version\":1,\"inputs\":[],\"files\":[{\"input\":\"d\",\"path\":\"/a\",\"dev\":1,"
        "\"ino\":2,\"fp\":\"1\",\"fp_len\":1,\"offset\":1.5}]}",
        "{\"version\":1,\"inputs\":[],\"files\":[{\"input\":\"d\",\"path\":\"/a\",\"dev\":1,"
        "\"ino\":2,\"fp\":\"1\",\"fp_len\":1,\"offset\":\"1\"}]}",
        "{\"version\":1,\"inputs\":[],\"files\":[{\"input\":\"d\",\"path\":\"/a\",\"dev\":1,"
        "\"ino\":2,\"fp\":\"xyz\",\"fp_len\":1,\"offset\":1}]}",
        "{\"version\":1,\"inputs\":[],\"files\":[{\"input\":\"d\",\"path\":\"/a\",\"dev\":1,"
        "\"ino\":2,\"fp\":\"12zz\",\"fp_len\":1,\"offset\":1}]}",
        "{\"version\":1,\"inputs\":[],\"files\":[{\"input\":\"d\",\"path\":\"/a\",\"dev\":1,"
        "\"ino\":2,\"fp\":\"\",\"fp_len\":1,\"offset\":1}]}",
        "{\"version\":1,\"inputs\":[],\"files\":[{\"input\":\"d\",\"path\":\"/a\",\"dev\":1,"
        "\"ino\":2,\"fp\":1,\"fp_len\":1,\"offset\":1}]}",
        "{\"version\":1,\"inputs\":[],\"files\":[{\"input\":\"d\",\"path\":\"/a\",\"dev\":1,"
        "\"ino\":2,\"fp\":\"1\",\"fp_len\":999999,\"offset\":1}]}",
        "{\"version\":1,\"inputs\":[],\"files\":[{\"input\":7,\"path\":\"/a\",\"dev\":1,"
        "\"ino\":2,\"fp\":\"1\",\"fp_len\":1,\"offset\":1}]}",
        /* journal cursors: not an array, an entry missing a field or of the wrong type */
        "{\"version\":1,\"inputs\":[],\"files\":[],\"cursors\":{}}",
        "{\"version\":1,\"inputs\":[],\"files\":[],\"cursors\":[1]}",
        "{\"version\":1,\"inputs\":[],\"files\":[],\"cursors\":[{\"cursor\":\"s=1\","
        "\"replay\":false}]}",
        "{\"version\":1,\"inputs\":[],\"files\":[],\"cursors\":[{\"input\":\"j\","
        "\"replay\":false}]}",
        "{\"version\":1,\"inputs\":[],\"files\":[],\"cursors\":[{\"input\":\"j\","
        "\"cursor\":\"\",\"replay\":false}]}",
        "{\"version\":1,\"inputs\":[],\"files\":[],\"cursors\":[{\"input\":\"j\","
        "\"cursor\":\"s=1\"}]}",
        "{\"version\":1,\"inputs\":[],\"files\":[],\"cursors\":[{\"input\":\"j\","
        "\"cursor\":\"s=1\",\"replay\":1}]}",
        "{\"version\":1,\"inputs\":[],\"files\":[],\"cursors\":[{\"input\":\"j\","
        "\"cursor\":7,\"replay\":true}]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        set_text(bad[i], strlen(bad[i]));
        wharf_positions_t p;
        wharf_positions_init(&p);
        /* whatever the store held before, a corrupt file leaves it empty */
        assert_int_equal(wharf_positions_add_input(&p, "stale"), 0);
        add(&p, "stale", "/stale", 1, 1, 1, 1, 1);
        int rc = load(&p);
        if (rc != WHARF_EPARSE)
            fail_msg("corrupt #%zu (%s): rc=%d, want WHARF_EPARSE", i, bad[i], rc);
        assert_empty(&p);
        assert_null(wharf_positions_find(&p, "stale", 1, 1));
        assert_false(wharf_positions_has_input(&p, "stale"));
        /* and stays usable */
        add(&p, "docker", "/x", 1, 2, 3, 4, 5);
        assert_int_equal(p.n, 1);
        wharf_positions_free(&p);
    }
    /* binary junk */
    char junk[256];
    for (int i = 0; i < 256; i++)
        junk[i] = (char)(i * 37 + 11);
    set_text(junk, sizeof(junk));
    wharf_positions_t p;
    wharf_positions_init(&p);
    assert_int_equal(load(&p), WHARF_EPARSE);
    assert_empty(&p);
    wharf_positions_free(&p);
}

/* Journal inputs keep a cursor, files inputs file entries; both in one
 * checkpoint, exact bytes, and back. */
static void test_cursor_round_trip(void **state)
{
    wharf_positions_t p;
    wharf_positions_init(&p);
    assert_int_equal(wharf_positions_add_input(&p, "docker"), 0);
    assert_int_equal(wharf_positions_add_input(&p, "journal"), 0);
    assert_int_equal(wharf_positions_add_input(&p, "sudo"), 0);
    add(&p, "docker", "/a", 1, 2, 3, 4, 5);
    assert_int_equal(wharf_positions_add_cursor(&p, "journal", "s=ab;i=5;x=\"q\"", 0), 0);
    assert_int_equal(wharf_positions_add_cursor(&p, "sudo", "s=cd;i=9", 1), 0);
    assert_int_equal(save(&p), 0);
    assert_string_equal(
        saved_text(),
        "{\"version\":1,\"inputs\":[\"docker\",\"journal\",\"sudo\"],\"files\":[\n"
        "{\"input\":\"docker\",\"path\":\"/a\",\"dev\":1,\"ino\":2,"
        "\"fp\":\"0000000000000003\",\"fp_len\":4,\"offset\":5}],\"cursors\":[\n"
        "{\"input\":\"journal\",\"cursor\":\"s=ab;i=5;x=\\\"q\\\"\",\"replay\":false},\n"
        "{\"input\":\"sudo\",\"cursor\":\"s=cd;i=9\",\"replay\":true}]}\n");
    wharf_positions_free(&p);

    wharf_positions_init(&p);
    assert_int_equal(load(&p), 0);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.n_cursors, 2);
    const wharf_cursor_position_t *c = wharf_positions_find_cursor(&p, "journal");
    assert_non_null(c);
    assert_string_equal(c->cursor, "s=ab;i=5;x=\"q\"");
    assert_false(c->replay);
    c = wharf_positions_find_cursor(&p, "sudo");
    assert_non_null(c);
    assert_string_equal(c->cursor, "s=cd;i=9");
    assert_true(c->replay);
    assert_null(wharf_positions_find_cursor(&p, "docker"));
    assert_true(wharf_positions_has_input(&p, "journal"));
    wharf_positions_free(&p);
    assert_empty(&p);
}

/* Keys it does not know (a later version's) are ignored, not fatal. */
static void test_load_tolerates_extra_keys(void **state)
{
    const char *text = "{\"version\":1,\"written_by\":\"wharf 0.2\",\"inputs\":[\"docker\"],"
                       "\"files\":[{\"input\":\"docker\",\"path\":\"/a\",\"dev\":1,\"ino\":2,"
                       "\"fp\":\"00000000000000ff\",\"fp_len\":64,\"offset\":77,"
                       "\"extra\":{\"x\":[1]}}]}\n";
    set_text(text, strlen(text));
    wharf_positions_t p;
    wharf_positions_init(&p);
    assert_int_equal(load(&p), 0);
    assert_int_equal(p.n, 1);
    const wharf_position_t *f = wharf_positions_find(&p, "docker", 1, 2);
    assert_non_null(f);
    assert_int_equal(f->fp_hash, 0xff);
    assert_int_equal(f->fp_len, 64);
    assert_int_equal(f->offset, 77);
    assert_string_equal(f->path, "/a");
    assert_true(wharf_positions_has_input(&p, "docker"));
    wharf_positions_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_add_find_inputs),
        cmocka_unit_test(test_save_load_round_trip),
        cmocka_unit_test(test_save_load_full_64bit),
        cmocka_unit_test(test_saved_format),
        cmocka_unit_test(test_load_corrupt),
        cmocka_unit_test(test_load_tolerates_extra_keys),
        cmocka_unit_test(test_cursor_round_trip),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    wharf_buf_free(&saved);
    return rc;
}
