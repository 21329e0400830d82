/* The agent's logger: "steer: LEVEL: message" lines, or one JSON object per
 * line, on stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bpf/libbpf.h>
#include <jansson.h>

#include "lib/log.h"

#define LOG_LINE_MAX 1024
/* The level an always-on event (log_event) is shown with. */
#define LOG_EVENT_NAME "notice"
/* U+FFFD, what a byte that is not UTF-8 shows as in a JSON line. */
#define UTF8_REPLACEMENT "\xef\xbf\xbd"

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

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 if s[0] does
 * not start one: overlong forms, surrogates and code points past U+10FFFF are
 * invalid, as jansson's own check has them. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* A message may hold any bytes (a replica's reply, a path, a cut that split a
 * character), but JSON text is UTF-8 and jansson refuses anything else:
 * json_stringn() returns NULL, and json_stringn_nocheck() only moves the
 * failure to json_dumpb(), which would drop the whole line. So every byte
 * that does not start a valid UTF-8 sequence becomes U+FFFD, as Go's
 * encoding/json does; valid UTF-8 is copied as it is. out holds at least
 * 3 * len bytes. Returns the length written. */
static size_t utf8_sanitise(const char *in, size_t len, char *out)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t n = 0;

	for (size_t i = 0; i < len;) {
		size_t seq = utf8_seq_len(p + i, len - i);

		if (seq == 0) {
			memcpy(out + n, UTF8_REPLACEMENT, sizeof(UTF8_REPLACEMENT) - 1);
			n += sizeof(UTF8_REPLACEMENT) - 1;
			i++;
			continue;
		}
		memcpy(out + n, p + i, seq);
		n += seq;
		i += seq;
	}
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

/* One JSON object, {"ts":...,"level":...,"msg":...} in that order and with
 * no blanks around ',' and ':' (the line's shape since the first JSON
 * format, which shippers may match on), and a newline, into out. Returns the length,
 * or 0 if jansson could not build it (out of memory) or it does not fit. */
static size_t json_line(const char *level, const char *msg, size_t msg_len, char *out,
			size_t outlen)
{
	char ts[40], clean[3 * LOG_LINE_MAX];
	size_t clean_len = utf8_sanitise(msg, msg_len, clean);
	json_t *line;
	size_t n;

	utc_timestamp(ts, sizeof(ts));
	line = json_pack("{s:s, s:s, s:s%}", "ts", ts, "level", level, "msg", clean, clean_len);
	if (!line)
		return 0;
	n = json_dumpb(line, out, outlen, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(line);
	if (n == 0 || n >= outlen) /* json_dumpb() returns the size it needed */
		return 0;
	out[n++] = '\n';
	return n;
}

/* Format into one buffer and write it with a single call, so a line is not
 * interleaved with other writers; trailing newlines (libbpf adds one) are
 * dropped, an over-long message is cut and ends in "...". A JSON line that
 * cannot be built is written as a text line rather than lost. */
__attribute__((format(printf, 2, 0))) static void log_emit(const char *level, const char *fmt,
							   va_list ap)
{
	/* Each message byte is at most 6 bytes of JSON ("\u001F"). */
	char msg[LOG_LINE_MAX], out[64 + 6 * LOG_LINE_MAX];
	FILE *stream = log_stream ? log_stream : stderr;
	size_t len = 0;
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
	if (json_lines)
		len = json_line(level, msg, strlen(msg), out,
				sizeof(out)); /* up to a %c NUL, as text */
	if (len > 0)
		fwrite(out, 1, len, stream);
	else
		fprintf(stream, "steer: %s: %s\n", level, msg);
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
