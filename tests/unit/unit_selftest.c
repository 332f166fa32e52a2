/* SPDX-License-Identifier: MIT */
/* The runner's own check (meson test 'unit_runner_reports_failures',
 * should_fail): a failing CHECK_EQ, a crash and a hang-free exit each fail
 * their test only, and the binary exits non-zero. Not named test_*, so
 * tests/run.sh does not run it. */
#include <signal.h>
#include <stdlib.h>

#include "unit.h"

TEST(passes)
{
   CHECK_EQ(-1, -1);
   CHECK_LT(-1, 0u); /* compared as values, not as converted C operands */
   CHECK_STR_EQ(NULL, NULL);
}

TEST(fails_check_eq)
{
   CHECK_EQ(2 + 2, 5);
}

TEST(crashes)
{
   raise(SIGSEGV);
}

TEST(exits)
{
   exit(3);
}

UNIT_MAIN(UNIT(passes), UNIT(fails_check_eq), UNIT(crashes), UNIT(exits))
