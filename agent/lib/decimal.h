/* Decimals as steer prints them, in config, env, --help and logs. */
#ifndef STEER_DECIMAL_H
#define STEER_DECIMAL_H

#include <stddef.h>

/* The shortest text that strtod() reads back as v ("0.2", not
 * "0.20000000000000001"), and whole numbers without an exponent ("10000000",
 * not "1e+07"); "nan", "inf" and "-inf" for the rest. */
void decimal_format(double v, char *buf, size_t len);

#endif
