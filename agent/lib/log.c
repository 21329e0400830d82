/* The agent's logger: "steer: LEVEL: message" lines, or one JSON object per
 * line, on stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bpf/libbpf.h>

#include "lib/log.h"

#define LOG_LINE_MAX 1024
/* The level an always-on event (log_event) is shown with. */
#define LOG_EVENT_NAME "notice"

static enum log_level cur_level = LOG_INFO;
static bool json_lines;
static FILE *log_stream; /* NULL: stderr */

static const char *const level_names[] = {
    [LOG_ERROR] = "error",
    [LOG_WARN] = "warn",
    [LOG_INFO] = "info",
    [LOG_DEBUG] = "debug",
};

void log_set_level(enum log_level level)
{
	if (level >= LOG_ERROR && level <= LOG_DEBUG)
		cur_level = level;
}

enum log_level log_get_level(void)
{
	return cur_level;
}

void log_set_json(bool json)
{
	json_lines = json;
}

void log_set_stream(FILE *stream)
{
	log_stream = stream;
}

int log_level_parse(const char *text)
{
	for (int i = LOG_ERROR; i <= LOG_DEBUG; i++)
		if (strcmp(text, level_names[i]) == 0)
			return i;
	return -1;
}

const char *log_level_name(enum log_level level)
{
	if (level >= LOG_ERROR && level <= LOG_DEBUG)
		return level_names[level];
	return "?";
}

/* in as the inside of a JSON string, into out (at least 6 * strlen(in) + 1
 * bytes): '"' and '\' get a backslash, bytes below 0x20 and DEL become
 * \u00XX, everything else (UTF-8 included) is copied. Returns the length. */
static size_t json_escape(const char *in, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		if (*p == '"' || *p == '\\') {
			out[n++] = '\\';
			out[n++] = (char)*p;
		} else if (*p < 0x20 || *p == 0x7f) {
			memcpy(out + n, "\\u00", 4);
			out[n + 4] = hex[*p >> 4];
			out[n + 5] = hex[*p & 0xf];
			n += 6;
		} else {
			out[n++] = (char)*p;
		}
	}
	out[n] = '\0';
	return n;
}

/* "2026-11-27T21:11:02.123Z": now, in UTC, to the millisecond. */
static void utc_timestamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* Format into one buffer and write it with a single call, so a line is not
 * interleaved with other writers; trailing newlines (libbpf adds one) are
 * dropped, an over-long message is cut and ends in "...". */
__attribute__((format(printf, 2, 0))) static void log_emit(const char *level, const char *fmt,
							   va_list ap)
{
	char msg[LOG_LINE_MAX], out[64 + 6 * LOG_LINE_MAX];
	FILE *stream = log_stream ? log_stream : stderr;
	int n;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(msg)) {
		n = sizeof(msg) - 1;
		memcpy(msg + n - 3, "...", 3);
	}
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	if (json_lines) {
		char ts[40];
		size_t len;

		utc_timestamp(ts, sizeof(ts));
		len = (size_t)snprintf(out, sizeof(out),
				       "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"", ts, level);
		len += json_escape(msg, out + len);
		memcpy(out + len, "\"}\n", 4);
		fputs(out, stream);
	} else {
		fprintf(stream, "steer: %s: %s\n", level, msg);
	}
	fflush(stream);
}

__attribute__((format(printf, 2, 0))) static void log_vmsg(enum log_level level, const char *fmt,
							   va_list ap)
{
	if (level > cur_level)
		return;
	log_emit(log_level_name(level), fmt, ap);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void log_event(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_EVENT_NAME, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	log_vmsg(level == LIBBPF_WARN ? LOG_WARN : LOG_DEBUG, fmt, ap);
	return 0;
}

void log_route_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
