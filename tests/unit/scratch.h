/*
 * scratch.h: the unit tests' scratch directory. A suite's setup makes a
 * fresh directory under /tmp (tagged with the suite's name, so a leftover
 * says whose it is) and names a database file inside; teardown removes the
 * directory with everything in it.
 */
#ifndef TESTS_UNIT_SCRATCH_H
#define TESTS_UNIT_SCRATCH_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#define SCRATCH_DIR_MAX  256
#define SCRATCH_PATH_MAX 300

static inline void scratch_make(char dir[SCRATCH_DIR_MAX], char path[SCRATCH_PATH_MAX],
                                const char *tag)
{
    snprintf(dir, SCRATCH_DIR_MAX, "/tmp/cg-test-%s-XXXXXX", tag);
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, SCRATCH_PATH_MAX, "%s/t.db", dir);
}

static inline void scratch_remove(const char *dir)
{
    char cmd[SCRATCH_DIR_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

#endif
