/* Common includes for the cmocka unit tests (cmocka 1.1 needs these first). */
#ifndef S6NET_TESTS_UNIT_H
#define S6NET_TESTS_UNIT_H
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#endif
