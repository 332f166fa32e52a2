/* SPDX-License-Identifier: MIT */
/* A tiny in-process unit-test runner (plain C11, no framework).
 *
 *   TEST(arena_cap) { CHECK(...); CHECK_EQ(a, b); }
 *   ...
 *   UNIT_MAIN(UNIT(arena_cap), UNIT(arena_zero_fill))
 *
 * Each test runs in a child process (a crash or a hang fails that test
 * only; UNIT_NOFORK=1 runs them in-process, for a debugger) and prints
 * `PASS name`, `FAIL name: file:line: why` or `SKIP name: why` (SKIP(...)),
 * the lines tests/run.sh
 * tallies. A failed CHECK ends its test (it returns from the test
 * function, so use CHECKs in the test body or in void helpers whose caller
 * tests unit_failed()). The exit status is 1 if any test failed.
 *
 * Arguments: a directory is made the working directory (tests/run.sh
 * passes a private temp dir); any other argument selects the tests whose
 * name contains it. */
#ifndef UNIT_H
#define UNIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct unit_test {
   const char *name;
   void (*fn)(void);
};

#define TEST(name) static void name(void)
#define UNIT(name) { #name, name }
#define UNIT_MAIN(...)                                                                    \
   static const struct unit_test unit_tests_[] = { __VA_ARGS__ };                        \
   int main(int argc, char **argv)                                                        \
   {                                                                                      \
      return unit_main(unit_tests_, sizeof(unit_tests_) / sizeof(unit_tests_[0]), argc,   \
                       argv);                                                             \
   }

#if defined(__GNUC__)
#define UNIT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define UNIT_PRINTF(f, a)
#endif

int unit_main(const struct unit_test *tests, size_t count, int argc, char **argv);

/* Records the current test's first failure (printed as its FAIL reason). */
void unit_fail(const char *file, int line, const char *fmt, ...)
   UNIT_PRINTF(3, 4);
bool unit_failed(void);
/* Marks the current test skipped (printed as `SKIP name: why`). */
void unit_skip(const char *fmt, ...) UNIT_PRINTF(1, 2);
#define SKIP(...)                                                                         \
   do {                                                                                   \
      unit_skip(__VA_ARGS__);                                                             \
      return;                                                                             \
   } while (0)
/* Extra context printed (as "# ...") before the FAIL line. */
void unit_note(const char *fmt, ...) UNIT_PRINTF(1, 2);

/* A value captured by CHECK_EQ and friends: each operand is evaluated
 * once, kept with its kind, compared as the mathematical value (-1 is less
 * than 0u) and printed on failure. */
struct unit_val {
   enum { UNIT_I, UNIT_U, UNIT_F, UNIT_P } kind;
   long long i;
   unsigned long long u;
   double f;
   const volatile void *p;
};
struct unit_val unit_val_i(long long v);
struct unit_val unit_val_u(unsigned long long v);
struct unit_val unit_val_f(double v);
struct unit_val unit_val_p(const volatile void *v);
#define UNIT_VAL(v)                                                                       \
   _Generic((v),                                                                          \
      _Bool: unit_val_u, char: unit_val_i, signed char: unit_val_i, short: unit_val_i,    \
      int: unit_val_i, long: unit_val_i, long long: unit_val_i,                           \
      unsigned char: unit_val_u, unsigned short: unit_val_u, unsigned int: unit_val_u,    \
      unsigned long: unit_val_u, unsigned long long: unit_val_u,                          \
      float: unit_val_f, double: unit_val_f,                                              \
      default: unit_val_p)(v)
/* <0, 0 or >0 as a is below, equal to or above b. */
int unit_val_cmp(struct unit_val a, struct unit_val b);
/* Fails the current test with both values when `holds` is false. */
bool unit_check_cmp(bool holds, const char *file, int line, const char *expr,
                    struct unit_val a, struct unit_val b);

#define CHECK(cond)                                                                       \
   do {                                                                                   \
      if (!(cond)) {                                                                      \
         unit_fail(__FILE__, __LINE__, "CHECK(%s) failed", #cond);                        \
         return;                                                                          \
      }                                                                                   \
   } while (0)

/* Like CHECK, with a printf-style explanation. */
#define CHECK_MSG(cond, ...)                                                              \
   do {                                                                                   \
      if (!(cond)) {                                                                      \
         unit_note(__VA_ARGS__);                                                          \
         unit_fail(__FILE__, __LINE__, "CHECK(%s) failed", #cond);                        \
         return;                                                                          \
      }                                                                                   \
   } while (0)

#define UNIT_CMP_(a, op, b)                                                               \
   do {                                                                                   \
      struct unit_val a_ = UNIT_VAL(a), b_ = UNIT_VAL(b);                                 \
      if (!unit_check_cmp(unit_val_cmp(a_, b_) op 0, __FILE__, __LINE__,                  \
                          #a " " #op " " #b, a_, b_))                                     \
         return;                                                                          \
   } while (0)

#define CHECK_EQ(a, b) UNIT_CMP_(a, ==, b)
#define CHECK_NE(a, b) UNIT_CMP_(a, !=, b)
#define CHECK_LT(a, b) UNIT_CMP_(a, <, b)
#define CHECK_LE(a, b) UNIT_CMP_(a, <=, b)
#define CHECK_GE(a, b) UNIT_CMP_(a, >=, b)
#define CHECK_NULL(ptr)                                                                   \
   do {                                                                                   \
      const volatile void *p_ = (ptr);                                                    \
      if (p_ != NULL) {                                                                   \
         unit_fail(__FILE__, __LINE__, "CHECK_NULL(%s) failed: %p", #ptr, (const void *)p_); \
         return;                                                                          \
      }                                                                                   \
   } while (0)
#define CHECK_NOT_NULL(ptr)                                                               \
   do {                                                                                   \
      if ((ptr) == NULL) {                                                                \
         unit_fail(__FILE__, __LINE__, "CHECK_NOT_NULL(%s) failed", #ptr);                \
         return;                                                                          \
      }                                                                                   \
   } while (0)

/* Strings; NULL compares equal only to NULL. */
bool unit_str_eq(const char *a, const char *b);
bool unit_str_contains(const char *s, const char *sub);
#define CHECK_STR_EQ(a, b)                                                                \
   do {                                                                                   \
      const char *a_ = (a), *b_ = (b);                                                    \
      if (!unit_str_eq(a_, b_)) {                                                         \
         unit_fail(__FILE__, __LINE__, "CHECK_STR_EQ(%s, %s) failed: \"%s\" vs \"%s\"",   \
                   #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");                       \
         return;                                                                          \
      }                                                                                   \
   } while (0)
#define CHECK_STR_CONTAINS(s, sub)                                                        \
   do {                                                                                   \
      const char *s_ = (s), *sub_ = (sub);                                                \
      if (!unit_str_contains(s_, sub_)) {                                                 \
         unit_fail(__FILE__, __LINE__, "CHECK_STR_CONTAINS(%s, %s) failed: \"%s\" lacks " \
                   "\"%s\"", #s, #sub, s_ ? s_ : "(null)", sub_);                         \
         return;                                                                          \
      }                                                                                   \
   } while (0)

#endif
