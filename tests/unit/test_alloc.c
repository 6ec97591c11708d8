/* test_alloc.c - the allocations wharf cannot do without: they return
 * usable memory, and when memory runs out they say so on stderr and abort
 * (checked in a child process) instead of returning NULL. */
#include "wharf/alloc.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

static void test_alloc_returns_memory(void **state)
{
    (void)state;
    unsigned char *z = wharf_xcalloc(16, 4);
    for (size_t i = 0; i < 64; i++)
        assert_int_equal(z[i], 0);
    z = wharf_xrealloc(z, 4096);
    z[4095] = 7;
    free(z);
    char *s = wharf_xstrdup("sshd");
    assert_string_equal(s, "sshd");
    free(s);
    s = wharf_xstrndup("sshd[42]", 4);
    assert_string_equal(s, "sshd");
    free(s);
    free(wharf_xmalloc(0)); /* a pointer that free accepts, not NULL */
}

#if !defined(__SANITIZE_ADDRESS__)
/* Runs wharf_xmalloc(n) in a child with stderr on a pipe; returns the
 * child's wait status and what it wrote. */
static int alloc_in_child(size_t n, char *err, size_t cap)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        void *p = wharf_xmalloc(n);
        _exit(p != NULL ? 0 : 1);
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t r;
    while (len + 1 < cap && (r = read(fds[0], err + len, cap - 1 - len)) > 0)
        len += (size_t)r;
    err[len] = '\0';
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}
#endif

static void test_alloc_aborts_with_message(void **state)
{
    (void)state;
#if defined(__SANITIZE_ADDRESS__)
    skip(); /* ASan reports the oversized request itself, before malloc could return NULL */
#else
    char err[512];
    int status = alloc_in_child(SIZE_MAX / 2, err, sizeof(err));
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
    char want[128];
    snprintf(want, sizeof(want), "wharf: out of memory allocating 1 x %zu bytes\n", SIZE_MAX / 2);
    assert_non_null(strstr(err, want));
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_returns_memory),
        cmocka_unit_test(test_alloc_aborts_with_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
