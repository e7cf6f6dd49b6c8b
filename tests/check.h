/*
 * The unit tests' assertion. CHECK(cond, fmt, ...) prints "FAIL file:line: message" when
 * cond is false and counts it in `failures`; every CHECK counts in `checks`. A test program
 * ends with a non-zero status when failures is not 0. Included once, by the test's own .c
 * file.
 */
#ifndef TTS_TESTS_CHECK_H
#define TTS_TESTS_CHECK_H

#include <stdio.h>

static int failures, checks;
#define CHECK(cond, ...)                                                                          \
    do {                                                                                          \
        checks++;                                                                                 \
        if (!(cond)) {                                                                            \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                           \
            printf(__VA_ARGS__);                                                                  \
            printf("\n");                                                                         \
            failures++;                                                                           \
        }                                                                                         \
    } while (0)

#endif
