/* Unit tests for agent/lib/log.c: text and JSON lines, JSON string escaping,
 * level filtering, always-on events, long messages, and stderr as the
 * default stream. Lines are captured with log_set_stream(open_memstream). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "lib/log.h"

struct capture {
	FILE *stream;
	char *buf;
	size_t len;
};

static int capture_setup(void **state)
{
	struct capture *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	c->stream = open_memstream(&c->buf, &c->len);
	if (!c->stream) {
		free(c);
		return -1;
	}
	log_set_stream(c->stream);
	log_set_level(LOG_INFO);
	log_set_json(false);
	*state = c;
	return 0;
}

static int capture_teardown(void **state)
{
	struct capture *c = *state;

	log_set_stream(NULL);
	log_set_json(false);
	log_set_level(LOG_INFO);
	fclose(c->stream);
	free(c->buf);
	free(c);
	return 0;
}

/* What was logged since the last call; starts a new capture. */
static const char *captured(struct capture *c)
{
	static char text[16384];

	fclose(c->stream);
	snprintf(text, sizeof(text), "%s", c->buf ? c->buf : "");
	free(c->buf);
	c->buf = NULL;
	c->stream = open_memstream(&c->buf, &c->len);
	assert_non_null(c->stream);
	log_set_stream(c->stream);
	return text;
}

/* The "msg" of one JSON line, decoded by jansson; fails the test unless the
 * line is exactly one valid JSON object with ts, level and msg (jansson's
 * decoder refuses raw control characters and bytes that are not UTF-8). */
static char *json_msg(const char *line)
{
	json_error_t error;
	json_t *obj, *msg;
	char *out;
	size_t len = strlen(line);

	assert_true(len > 0 && line[len - 1] == '\n');
	assert_ptr_equal(strchr(line, '\n'), line + len - 1);
	obj = json_loads(line, 0, &error);
	if (!obj)
		fail_msg("not JSON (%s at %d): %s", error.text, error.position, line);
	assert_int_equal(json_object_size(obj), 3);
	assert_true(json_is_string(json_object_get(obj, "ts")));
	assert_true(json_is_string(json_object_get(obj, "level")));
	msg = json_object_get(obj, "msg");
	assert_true(json_is_string(msg));
	out = strdup(json_string_value(msg));
	assert_non_null(out);
	json_decref(obj);
	return out;
}

static void test_log_text_line_is_steer_level_message(void **state)
{
	struct capture *c = *state;

	log_info("service %s replica %s: %s", "web", "127.0.0.1:9001", "up");
	assert_string_equal(captured(c), "steer: info: service web replica 127.0.0.1:9001: up\n");
	log_warn("careful");
	log_err("broken: %d", 2);
	assert_string_equal(captured(c), "steer: warn: careful\nsteer: error: broken: 2\n");
}

static void test_log_trailing_newlines_are_dropped(void **state)
{
	struct capture *c = *state;

	log_info("libbpf style\n\n");
	assert_string_equal(captured(c), "steer: info: libbpf style\n");
	log_set_json(true);
	log_info("two\n");
	assert_non_null(strstr(captured(c), "\"msg\":\"two\"}\n"));
}

static void test_log_level_filters_less_severe_messages(void **state)
{
	static const struct {
		enum log_level set;
		const char *expected; /* after one message at each level */
	} cases[] = {
	    {LOG_ERROR, "steer: error: e\n"},
	    {LOG_WARN, "steer: error: e\nsteer: warn: w\n"},
	    {LOG_INFO, "steer: error: e\nsteer: warn: w\nsteer: info: i\n"},
	    {LOG_DEBUG, "steer: error: e\nsteer: warn: w\nsteer: info: i\nsteer: debug: d\n"},
	};
	struct capture *c = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		log_set_level(cases[i].set);
		log_err("e");
		log_warn("w");
		log_info("i");
		log_debug("d");
		assert_string_equal(captured(c), cases[i].expected);
	}
}

static void test_log_event_appears_at_every_level(void **state)
{
	struct capture *c = *state;

	for (int level = LOG_ERROR; level <= LOG_DEBUG; level++) {
		log_set_level((enum log_level)level);
		log_set_json(false);
		log_event("service web replica 10.0.1.12:8080: up -> down (%s)", "refused");
		assert_string_equal(
		    captured(c),
		    "steer: notice: service web replica 10.0.1.12:8080: up -> down (refused)\n");
		log_set_json(true);
		log_event("reloaded %s", "/etc/steer/steer.ini");
		assert_non_null(
		    strstr(captured(c),
			   "\"level\":\"notice\",\"msg\":\"reloaded /etc/steer/steer.ini\"}\n"));
	}
}

static void test_log_json_line_has_ts_level_and_msg(void **state)
{
	struct capture *c = *state;
	const char *line;
	struct tm tm = {0};
	char *rest;
	int ms = -1;
	time_t now = time(NULL), ts;

	log_set_json(true);
	log_info("ready: %d services", 3);
	line = captured(c);
	/* {"ts":"2026-11-27T21:11:02.123Z","level":"info","msg":"ready: 3 services"} */
	assert_int_equal(strncmp(line, "{\"ts\":\"", 7), 0);
	rest = strptime(line + 7, "%Y-%m-%dT%H:%M:%S", &tm);
	assert_non_null(rest);
	assert_int_equal(sscanf(rest, ".%3dZ\"", &ms), 1);
	assert_true(ms >= 0 && ms <= 999);
	assert_int_equal(strncmp(rest, ".", 1), 0);
	assert_string_equal(rest + 4, "Z\",\"level\":\"info\",\"msg\":\"ready: 3 services\"}\n");
	assert_int_equal(rest - line, (ptrdiff_t)strlen("{\"ts\":\"2026-11-27T21:11:02"));
	/* UTC, now */
	ts = timegm(&tm);
	assert_true(ts >= now - 5 && ts <= now + 5);
}

/* JSON equality, not bytes: jansson writes \t \n \r \b \f for those
 * controls, \u00XX (upper-case hex) for the others, and DEL as it is. */
static void test_log_json_msg_decodes_to_the_message_whatever_it_holds(void **state)
{
	static const char *const msgs[] = {
	    "plain",
	    "bad value '\"x' in \"web\"",
	    "C:\\path\\",
	    "tab\there",
	    "line1\nline2",
	    "cr\r",
	    "\x01\x1f\x7f\b\f",
	    "esc \x1b[31m",
	    "caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf",
	    "slash / stays",
	};
	struct capture *c = *state;

	log_set_json(true);
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		char *decoded;

		log_info("%s", msgs[i]);
		decoded = json_msg(captured(c));
		assert_string_equal(decoded, msgs[i]);
		free(decoded);
	}
}

static void test_log_json_quotes_and_controls_are_escaped(void **state)
{
	struct capture *c = *state;

	log_set_json(true);
	log_info("say \"hi\"\\\t\n\x01");
	assert_non_null(strstr(captured(c), "\"msg\":\"say \\\"hi\\\"\\\\\\t\\n\\u0001\"}\n"));
}

static void test_log_json_every_ascii_byte_round_trips(void **state)
{
	struct capture *c = *state;
	char msg[200];
	size_t n = 0;
	char *decoded;

	for (int b = 1; b < 0x80; b++)
		if (b != '\n') /* a trailing newline is dropped, an inner one kept */
			msg[n++] = (char)b;
	msg[n++] = '\n';
	msg[n++] = 'x';
	msg[n] = '\0';
	log_set_json(true);
	log_info("%s", msg);
	decoded = json_msg(captured(c));
	assert_string_equal(decoded, msg);
	free(decoded);
}

/* A line is never lost to bytes that are not UTF-8: each becomes U+FFFD. */
static void test_log_json_bytes_that_are_not_utf8_become_u_fffd(void **state)
{
#define R "\xef\xbf\xbd"
	static const struct {
		const char *desc, *msg, *decoded;
	} cases[] = {
	    {"lone byte", "a\xff b", "a" R " b"},
	    {"continuation without a lead", "\x80\xbf", R R},
	    {"overlong '/'", "\xc0\xaf", R R},
	    {"overlong NUL in 3 bytes", "\xe0\x80\x80", R R R},
	    {"surrogate U+D800", "\xed\xa0\x80", R R R},
	    {"past U+10FFFF", "\xf4\x90\x80\x80", R R R R},
	    {"lead cut by the end", "caf\xc3", "caf" R},
	    {"lead cut by ASCII", "\xe2\x86x", R R "x"},
	    {"valid around invalid", "\xc3\xa9\xfe\xc3\xa9", "\xc3\xa9" R "\xc3\xa9"},
	};
#undef R
	struct capture *c = *state;
	char msg[300];
	size_t n = 0;
	char *decoded;

	log_set_json(true);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		log_info("%s", cases[i].msg);
		decoded = json_msg(captured(c));
		if (strcmp(decoded, cases[i].decoded))
			fail_msg("%s: expected '%s', got '%s'", cases[i].desc, cases[i].decoded,
				 decoded);
		free(decoded);
	}

	/* every byte from 0x80 up, alone: 128 U+FFFD */
	for (int b = 0x80; b < 0x100; b++)
		msg[n++] = (char)b;
	msg[n] = '\0';
	log_info("%s", msg);
	decoded = json_msg(captured(c));
	assert_int_equal(strlen(decoded), 128 * 3);
	for (size_t i = 0; i < 128; i++)
		assert_memory_equal(decoded + 3 * i, "\xef\xbf\xbd", 3);
	free(decoded);
}

static void test_log_long_message_is_cut_with_an_ellipsis(void **state)
{
	struct capture *c = *state;
	char big[3000], *decoded;
	const char *line;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_info("%s", big);
	line = captured(c);
	/* "steer: info: " + 1020 'a' + "..." + "\n" */
	assert_int_equal(strlen(line), strlen("steer: info: ") + 1023 + 1);
	assert_int_equal(strncmp(line + strlen(line) - 5, "a...\n", 5), 0);

	/* Every character escaped: the JSON line still carries the whole cut message. */
	memset(big, '"', sizeof(big) - 1);
	log_set_json(true);
	log_info("%s", big);
	decoded = json_msg(captured(c));
	assert_int_equal(strlen(decoded), 1023);
	assert_int_equal(strcmp(decoded + 1020, "..."), 0);
	assert_int_equal(strspn(decoded, "\""), 1020);
	free(decoded);

	/* The longest escape (\u0001, 6 bytes a byte) still fits the line. */
	memset(big, '\x01', sizeof(big) - 1);
	log_info("%s", big);
	decoded = json_msg(captured(c));
	assert_int_equal(strlen(decoded), 1023);
	assert_int_equal(strspn(decoded, "\x01"), 1020);
	free(decoded);
}

/* The cut at 1020 bytes may split a character; its first bytes become U+FFFD
 * and the line is still JSON. */
static void test_log_json_cut_inside_a_character_stays_valid(void **state)
{
	struct capture *c = *state;
	char big[3000], *decoded;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big + 1019, "\xe2\x86\x92", 3); /* only its lead byte survives the cut */
	log_set_json(true);
	log_info("%s", big);
	decoded = json_msg(captured(c));
	assert_int_equal(strlen(decoded), 1019 + 3 + 3);
	assert_int_equal(strcmp(decoded + 1019, "\xef\xbf\xbd..."), 0);
	free(decoded);
}

static void *no_memory(size_t size)
{
	(void)size;
	return NULL;
}

/* Out of memory, jansson builds nothing: the line is written as text rather
 * than lost. */
static void test_log_json_falls_back_to_a_text_line_without_memory(void **state)
{
	struct capture *c = *state;

	log_set_json(true);
	json_set_alloc_funcs(no_memory, free);
	log_warn("replica %s: down", "10.0.0.1:80");
	json_set_alloc_funcs(malloc, free);
	assert_string_equal(captured(c), "steer: warn: replica 10.0.0.1:80: down\n");
	log_info("back");
	assert_non_null(strstr(captured(c), "\"level\":\"info\",\"msg\":\"back\"}\n"));
}

static void test_log_json_lines_hold_one_object_each(void **state)
{
	struct capture *c = *state;

	log_set_json(true);
	log_info("one");
	log_event("two");
	log_debug("dropped");
	log_warn("three");
	{
		const char *out = captured(c);
		int lines = 0;

		for (const char *p = out; *p; p++)
			lines += *p == '\n';
		assert_int_equal(lines, 3);
		assert_int_equal(strncmp(out, "{\"ts\":", 6), 0);
		assert_non_null(strstr(out, "}\n{\"ts\":"));
	}
}

/* With no stream set, lines go to file descriptor 2. */
static void test_log_default_stream_is_stderr(void **state)
{
	char buf[256] = "";
	int fds[2], saved;
	ssize_t n;

	(void)state;
	log_set_stream(NULL);
	assert_int_equal(pipe(fds), 0);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fds[1], 2), 2);
	log_warn("to stderr");
	log_set_json(true);
	log_event("json to stderr");
	log_set_json(false);
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_int_equal(strncmp(buf, "steer: warn: to stderr\n{\"ts\":\"", 30), 0);
	assert_non_null(strstr(buf, "\"level\":\"notice\",\"msg\":\"json to stderr\"}\n"));
}

int main(void)
{
#define CAPTURE_TEST(f) cmocka_unit_test_setup_teardown(f, capture_setup, capture_teardown)
	const struct CMUnitTest tests[] = {
	    CAPTURE_TEST(test_log_text_line_is_steer_level_message),
	    CAPTURE_TEST(test_log_trailing_newlines_are_dropped),
	    CAPTURE_TEST(test_log_level_filters_less_severe_messages),
	    CAPTURE_TEST(test_log_event_appears_at_every_level),
	    CAPTURE_TEST(test_log_json_line_has_ts_level_and_msg),
	    CAPTURE_TEST(test_log_json_msg_decodes_to_the_message_whatever_it_holds),
	    CAPTURE_TEST(test_log_json_quotes_and_controls_are_escaped),
	    CAPTURE_TEST(test_log_json_every_ascii_byte_round_trips),
	    CAPTURE_TEST(test_log_json_bytes_that_are_not_utf8_become_u_fffd),
	    CAPTURE_TEST(test_log_json_cut_inside_a_character_stays_valid),
	    CAPTURE_TEST(test_log_json_falls_back_to_a_text_line_without_memory),
	    CAPTURE_TEST(test_log_long_message_is_cut_with_an_ellipsis),
	    CAPTURE_TEST(test_log_json_lines_hold_one_object_each),
	    CAPTURE_TEST(test_log_default_stream_is_stderr),
#undef CAPTURE_TEST
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
