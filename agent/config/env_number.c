/* Numbers as the STEER_* variables and the config's numeric keys write them:
 * strict parsing (no blanks, signs, hex, inf or nan that strtol/strtod would
 * let through) and the shortest text that reads back. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/env.h"

int env_parse_int(const char *text, long long lo, long long hi, long long *out)
{
	char *end;
	long long v;

	if (!isdigit((unsigned char)text[0]) &&
	    !(text[0] == '-' && isdigit((unsigned char)text[1])))
		return -1;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int env_parse_decimal(const char *text, double lo, double hi, double *out)
{
	char *end;
	double v;

	/* strtod also takes "inf", "nan", hex floats and leading blanks; a
	 * decimal number is only made of these characters. */
	if (text[0] == '\0' || text[strspn(text, "0123456789.eE+-")] != '\0')
		return -1;
	errno = 0;
	v = strtod(text, &end);
	if (errno || end == text || *end != '\0' || !isfinite(v) || !(v >= lo && v <= hi))
		return -1;
	*out = v == 0 ? 0 : v; /* "-0" would print as "-0" */
	return 0;
}
