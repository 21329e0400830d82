/* The one shape of a config message: "FILE:LINE: what is wrong: 'bad value'
 * (accepted: ...)", or "FILE: ..." when the line is not known. */
#include <stdarg.h>
#include <stdio.h>

#include "config/config_internal.h"

__attribute__((format(printf, 5, 0))) static void
vreport(char *err, size_t errlen, const char *name, int line, const char *fmt, va_list ap)
{
	int n = line ? snprintf(err, errlen, "%s:%d: ", name, line)
		     : snprintf(err, errlen, "%s: ", name);

	if (n >= 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
}

int config_report(char *err, size_t errlen, const char *name, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(err, errlen, name, line, fmt, ap);
	va_end(ap);
	return -1;
}

int config_fail(struct parse_ctx *ctx, int line, const char *fmt, ...)
{
	va_list ap;

	if (ctx->err_line)
		return -1;
	ctx->err_line = line ? line : -1; /* nonzero: there is an error */
	va_start(ap, fmt);
	vreport(ctx->err, ctx->errlen, ctx->name, line, fmt, ap);
	va_end(ap);
	return -1;
}
