/* Finding the files under tests/unit/fixtures/. */
#ifndef STEER_TEST_FIXTURE_H
#define STEER_TEST_FIXTURE_H

/* The path of tests/unit/fixtures/NAME, valid until the next call. */
const char *fixture(const char *name);

#endif
