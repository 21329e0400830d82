/*
 * Unit tests for agent/control/: the command line parser and formatter
 * (control_proto.c), and the control socket (control_server.c,
 * control_client.c) against a real libev loop, in a private mkdtemp()
 * directory under /tmp that teardown removes.
 *
 * Server and clients share this process: control_request() runs on a second
 * thread that wakes the loop with ev_async when it has its answer; raw
 * clients are non-blocking sockets stepped with ev_run(EVRUN_NOWAIT). Every
 * wait has a deadline, so every test ends by itself. The server answers uid 0
 * only: the socket tests SKIP when not run as root.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "control/control.h"
#include "lib/log.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define EXPECTED     "expected: replica VERB SERVICE ADDR:PORT"
#define UNKNOWN_CMD  "' (accepted: replica add|remove|drain|undrain SERVICE ADDR:PORT)"
#define UNKNOWN_VERB "' (accepted: add, remove, drain, undrain)"
#define BAD_NAME     "' (accepted: 1-63 characters of A-Z a-z 0-9 _ . -)"
#define BAD_ADDR     "' (accepted: A.B.C.D:PORT or [IPV6]:PORT)"
#define NAME63	     "a123456789b123456789c123456789d123456789e123456789f123456789abc"

/* s with control characters as C escapes, for the test log. */
static const char *show(const char *s)
{
	static char buf[512];
	size_t o = 0;

	for (; *s && o < sizeof(buf) - 5; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\n' || c == '\r' || c == '\t')
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\\%c",
					      c == '\n'	  ? 'n'
					      : c == '\r' ? 'r'
							  : 't');
		else if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return buf;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ control_parse */

static const struct {
	const char *line;
	enum control_verb verb;
	const char *service;
	const char *replica;   /* as endpoint_parse() takes it */
	const char *formatted; /* control_format() of the result */
} good[] = {
    {"replica add web 10.0.0.1:80", CONTROL_ADD, "web", "10.0.0.1:80",
     "replica add web 10.0.0.1:80"},
    {"replica remove web 10.0.0.1:80\n", CONTROL_REMOVE, "web", "10.0.0.1:80",
     "replica remove web 10.0.0.1:80"},
    {"replica drain api.v2 [fd00:0::7]:8080\r\n", CONTROL_DRAIN, "api.v2", "[fd00::7]:8080",
     "replica drain api.v2 [fd00::7]:8080"},
    {"replica undrain A_b-9 1.2.3.4:0001", CONTROL_UNDRAIN, "A_b-9", "1.2.3.4:1",
     "replica undrain A_b-9 1.2.3.4:1"},
    {"replica\tadd \t web  \t10.0.0.1:80", CONTROL_ADD, "web", "10.0.0.1:80",
     "replica add web 10.0.0.1:80"},
    {" \treplica add web 10.0.0.1:80 \t\r\n", CONTROL_ADD, "web", "10.0.0.1:80",
     "replica add web 10.0.0.1:80"},
    {"replica add " NAME63 " [::1]:65535", CONTROL_ADD, NAME63, "[::1]:65535",
     "replica add " NAME63 " [::1]:65535"},
};

static void test_control_parse_accepts_each_verb_with_any_blanks_and_line_end(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		struct control_cmd cmd;
		struct endpoint want;
		char err[256] = "", buf[CONTROL_LINE_MAX];

		print_message("  '%s'\n", show(good[i].line));
		assert_int_equal(endpoint_parse(good[i].replica, &want, err, sizeof(err)), 0);
		assert_int_equal(control_parse(good[i].line, &cmd, err, sizeof(err)), 0);
		assert_string_equal(err, "");
		assert_int_equal(cmd.verb, good[i].verb);
		assert_string_equal(cmd.service, good[i].service);
		assert_true(endpoint_equal(&cmd.replica, &want));
		control_format(&cmd, buf, sizeof(buf));
		assert_string_equal(buf, good[i].formatted);
	}
}

static const struct {
	const char *line;
	const char *err;
} bad[] = {
    {"", EXPECTED},
    {"\n", EXPECTED},
    {" \t \r\n", EXPECTED},
    {"replica", EXPECTED},
    {"replica add", EXPECTED},
    {"replica add web", EXPECTED},
    {"replica add web 10.0.0.1:80 now", EXPECTED},
    {"foo", "unknown command 'foo" UNKNOWN_CMD},
    {"foo add web 10.0.0.1:80", "unknown command 'foo" UNKNOWN_CMD},
    {"Replica add web 10.0.0.1:80", "unknown command 'Replica" UNKNOWN_CMD},
    {"replicas add web 10.0.0.1:80", "unknown command 'replicas" UNKNOWN_CMD},
    {"replica frob web 10.0.0.1:80", "unknown verb 'frob" UNKNOWN_VERB},
    {"replica frob", "unknown verb 'frob" UNKNOWN_VERB},
    {"replica ADD web 10.0.0.1:80", "unknown verb 'ADD" UNKNOWN_VERB},
    {"replica add a/b 10.0.0.1:80", "bad service name 'a/b" BAD_NAME},
    {"replica add " NAME63 "x 10.0.0.1:80", "bad service name '" NAME63 "x" BAD_NAME},
    {"replica add w\xc3\xa9 10.0.0.1:80", "bad service name 'w\xc3\xa9" BAD_NAME},
    {"replica add web 10.0.0.1", "bad address '10.0.0.1" BAD_ADDR},
    {"replica add web localhost:80", "bad address 'localhost:80" BAD_ADDR},
    {"replica add web ::1:80", "bad address '::1:80" BAD_ADDR},
    {"replica add web 10.0.0.1:0", "bad port '0' in '10.0.0.1:0' (accepted: 1-65535)"},
    /* only "\r\n" and "\n" end a line: a lone '\r' is part of the word */
    {"replica add web 10.0.0.1:80\r", "bad port '80\r' in '10.0.0.1:80\r' (accepted: 1-65535)"},
};

static void test_control_parse_rejects_naming_the_word_and_what_is_accepted(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct control_cmd cmd, untouched;
		char err[256] = "";

		print_message("  '%s'\n", show(bad[i].line));
		memset(&cmd, 0xab, sizeof(cmd));
		untouched = cmd;
		assert_int_equal(control_parse(bad[i].line, &cmd, err, sizeof(err)), -1);
		assert_string_equal(err, bad[i].err);
		assert_memory_equal(&cmd, &untouched, sizeof(cmd));
	}
}

static void test_control_parse_refuses_lines_longer_than_4096_bytes(void **state)
{
	static char line[CONTROL_LINE_MAX + 3];
	char err[CONTROL_LINE_MAX + 128];
	struct control_cmd cmd;

	(void)state;
	/* 4096 bytes and "\r\n": long, but not too long; the word is named */
	memset(line, 'a', CONTROL_LINE_MAX);
	memcpy(line + CONTROL_LINE_MAX, "\r\n", 3);
	assert_int_equal(control_parse(line, &cmd, err, sizeof(err)), -1);
	assert_int_equal(strncmp(err, "unknown command 'aaaa", 21), 0);
	assert_int_equal(strlen(err), strlen("unknown command '" UNKNOWN_CMD) + CONTROL_LINE_MAX);

	memset(line, 'a', CONTROL_LINE_MAX + 1);
	memcpy(line + CONTROL_LINE_MAX + 1, "\n", 2);
	assert_int_equal(control_parse(line, &cmd, err, sizeof(err)), -1);
	assert_string_equal(err, "line longer than 4096 bytes");
}

static void test_control_format_round_trips_every_verb_and_family(void **state)
{
	static const char *const services[] = {"web", "a.b_c-d", NAME63};
	static const char *const replicas[] = {"1.2.3.4:1", "[::]:65535", "[fe80::1:2]:22"};

	(void)state;
	for (int v = CONTROL_ADD; v <= CONTROL_UNDRAIN; v++) {
		for (size_t i = 0; i < ARRAY_SIZE(services); i++) {
			struct control_cmd a = {.verb = (enum control_verb)v}, b;
			char err[256], buf[CONTROL_LINE_MAX];

			snprintf(a.service, sizeof(a.service), "%s", services[i]);
			assert_int_equal(endpoint_parse(replicas[i], &a.replica, err, sizeof(err)),
					 0);
			control_format(&a, buf, sizeof(buf));
			assert_int_equal(control_parse(buf, &b, err, sizeof(err)), 0);
			assert_int_equal(b.verb, a.verb);
			assert_string_equal(b.service, a.service);
			assert_true(endpoint_equal(&b.replica, &a.replica));
		}
	}
}

static void test_control_format_of_an_unknown_verb_does_not_parse(void **state)
{
	struct control_cmd cmd = {.verb = (enum control_verb)99, .service = "web"}, out;
	char err[256], buf[CONTROL_LINE_MAX];

	(void)state;
	assert_int_equal(endpoint_parse("1.2.3.4:80", &cmd.replica, err, sizeof(err)), 0);
	control_format(&cmd, buf, sizeof(buf));
	assert_int_equal(control_parse(buf, &out, err, sizeof(err)), -1);
}

/* ----------------------------------------------------------- the test world */

struct fake_handler {
	int calls;
	struct control_cmd last;
	int rc;		   /* what apply returns */
	const char *reply; /* and writes to reply */
};

static int fake_apply(void *arg, const struct control_cmd *cmd, char *reply, size_t len)
{
	struct fake_handler *f = arg;

	f->calls++;
	f->last = *cmd;
	snprintf(reply, len, "%s", f->reply);
	return f->rc;
}

struct world {
	char dir[64];
	char path[128];
	struct ev_loop *loop;
	struct fake_handler fake;
	struct control_handler handler;
	struct control_server *srv;
};

static int world_setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));

	if (!w)
		return -1;
	snprintf(w->dir, sizeof(w->dir), "/tmp/steer-control-XXXXXX");
	if (!mkdtemp(w->dir)) {
		free(w);
		return -1;
	}
	snprintf(w->path, sizeof(w->path), "%s/ctl.sock", w->dir);
	w->loop = ev_loop_new(EVFLAG_AUTO);
	w->fake.reply = "";
	w->handler.arg = &w->fake;
	w->handler.apply = fake_apply;
	*state = w;
	return w->loop ? 0 : -1;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static int world_teardown(void **state)
{
	struct world *w = *state;

	control_close(w->srv);
	ev_loop_destroy(w->loop);
	control_set_client_timeout_ms(0);
	nftw(w->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(w);
	return 0;
}

#define NEEDS_ROOT()                                                                               \
	do {                                                                                       \
		if (geteuid() != 0) {                                                              \
			print_message(                                                             \
			    "SKIP: the control socket serves uid 0 only; run as root\n");          \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

static void world_listen(struct world *w)
{
	char err[512] = "";

	w->srv = control_listen(w->loop, w->path, &w->handler, err, sizeof(err));
	if (!w->srv)
		print_message("control_listen: %s\n", err);
	assert_non_null(w->srv);
}

/* control_request() on a thread while this one runs the loop. */
struct request {
	const char *path, *line;
	int timeout_ms;
	int rc, err;
	char reply[CONTROL_LINE_MAX + 1];
	struct ev_loop *loop;
	ev_async done;
};

static void *request_thread(void *arg)
{
	struct request *r = arg;

	r->rc = control_request(r->path, r->line, r->reply, sizeof(r->reply), r->timeout_ms);
	r->err = errno;
	ev_async_send(r->loop, &r->done);
	return NULL;
}

static void on_break(struct ev_loop *loop, ev_watcher *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static void on_break_async(struct ev_loop *loop, ev_async *w, int revents)
{
	on_break(loop, (ev_watcher *)w, revents);
}

static void on_break_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	on_break(loop, (ev_watcher *)w, revents);
}

static void on_break_io(struct ev_loop *loop, ev_io *w, int revents)
{
	on_break(loop, (ev_watcher *)w, revents);
}

/* Send line through control_request(); returns its result, reply copied. */
static int request(struct world *w, const char *line, char *reply, size_t len)
{
	struct request *r = calloc(1, sizeof(*r));
	ev_timer guard;
	pthread_t t;
	int rc;

	assert_non_null(r);
	r->path = w->path;
	r->line = line;
	r->timeout_ms = 2000;
	r->loop = w->loop;
	ev_async_init(&r->done, on_break_async);
	ev_async_start(w->loop, &r->done);
	ev_timer_init(&guard, on_break_timer, 3., 0.); /* > the request's own timeout */
	ev_timer_start(w->loop, &guard);
	assert_int_equal(pthread_create(&t, NULL, request_thread, r), 0);
	ev_run(w->loop, 0);
	pthread_join(t, NULL);
	ev_async_stop(w->loop, &r->done);
	ev_timer_stop(w->loop, &guard);

	snprintf(reply, len, "%s", r->reply);
	rc = r->rc;
	errno = r->err;
	free(r);
	return rc;
}

static int raw_connect(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void raw_send(int fd, const char *data, size_t len)
{
	assert_int_equal(send(fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Step the loop and read fd until the server closes it or ms pass. Returns
 * the bytes read (buf NUL-terminated), or -1 if the connection is still open. */
static ssize_t raw_reply(struct ev_loop *loop, int fd, char *buf, size_t size, int ms)
{
	long long deadline = now_ms() + ms;
	size_t got = 0;

	buf[0] = '\0';
	while (now_ms() < deadline) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;

		ev_run(loop, EVRUN_NOWAIT);
		n = recv(fd, buf + got, size - 1 - got, MSG_DONTWAIT);
		if (n > 0) {
			got += (size_t)n;
			buf[got] = '\0';
			continue;
		}
		/* ECONNRESET: the server closed with part of our line unread */
		if (n == 0 || errno == ECONNRESET)
			return (ssize_t)got;
		poll(&pfd, 1, 5);
	}
	return -1;
}

static void pump(struct ev_loop *loop, int times)
{
	for (int i = 0; i < times; i++)
		ev_run(loop, EVRUN_NOWAIT);
}

/* ------------------------------------------------------ the control socket */

static const struct {
	const char *line;
	enum control_verb verb;
	const char *service, *replica;
} applied[] = {
    {"replica add web 10.0.0.1:80", CONTROL_ADD, "web", "10.0.0.1:80"},
    {"replica remove web [fd00::1]:443", CONTROL_REMOVE, "web", "[fd00::1]:443"},
    {"replica drain api.v2 10.0.0.2:8080", CONTROL_DRAIN, "api.v2", "10.0.0.2:8080"},
    {"replica undrain api.v2   10.0.0.2:8080\r", CONTROL_UNDRAIN, "api.v2", "10.0.0.2:8080"},
};

static void test_control_apply_gets_the_parsed_command(void **state)
{
	struct world *w = *state;

	NEEDS_ROOT();
	world_listen(w);
	w->fake.reply = "done";
	for (size_t i = 0; i < ARRAY_SIZE(applied); i++) {
		char reply[CONTROL_LINE_MAX + 1], err[256];
		struct endpoint want;

		print_message("  '%s'\n", show(applied[i].line));
		assert_int_equal(endpoint_parse(applied[i].replica, &want, err, sizeof(err)), 0);
		assert_int_equal(request(w, applied[i].line, reply, sizeof(reply)), 0);
		assert_string_equal(reply, "ok done");
		assert_int_equal(w->fake.calls, (int)i + 1);
		assert_int_equal(w->fake.last.verb, applied[i].verb);
		assert_string_equal(w->fake.last.service, applied[i].service);
		assert_true(endpoint_equal(&w->fake.last.replica, &want));
	}
}

static const struct {
	int apply_rc;
	const char *apply_reply;
	int rc;
	const char *reply;
} relayed[] = {
    {0, "added 10.0.0.1:80 to web (3 replicas)", 0, "ok added 10.0.0.1:80 to web (3 replicas)"},
    {0, "", 0, "ok"},
    {-1, "service 'web' has no replica 10.0.0.1:80", 1,
     "error: service 'web' has no replica 10.0.0.1:80"},
    {-1, "", 1, "error: command failed"},
    {-1, "two\nlines", 1, "error: two lines"}, /* the reply stays one line */
};

static void test_control_relays_apply_result_as_ok_or_error(void **state)
{
	struct world *w = *state;

	NEEDS_ROOT();
	world_listen(w);
	for (size_t i = 0; i < ARRAY_SIZE(relayed); i++) {
		char reply[CONTROL_LINE_MAX + 1];

		print_message("  apply %d '%s'\n", relayed[i].apply_rc,
			      show(relayed[i].apply_reply));
		w->fake.rc = relayed[i].apply_rc;
		w->fake.reply = relayed[i].apply_reply;
		assert_int_equal(request(w, "replica remove web 10.0.0.1:80", reply, sizeof(reply)),
				 relayed[i].rc);
		assert_string_equal(reply, relayed[i].reply);
	}
	assert_int_equal(w->fake.calls, (int)ARRAY_SIZE(relayed));
}

static const struct {
	const char *line;
	const char *reply;
} refused[] = {
    {"replica frob web 10.0.0.1:80", "error: unknown verb 'frob" UNKNOWN_VERB},
    {"foo", "error: unknown command 'foo" UNKNOWN_CMD},
    {"replica add a/b 10.0.0.1:80", "error: bad service name 'a/b" BAD_NAME},
    {"replica add web 10.0.0.1", "error: bad address '10.0.0.1" BAD_ADDR},
    {"replica add web", "error: " EXPECTED},
    {"", "error: " EXPECTED},
};

static void test_control_parse_error_is_relayed_and_never_calls_apply(void **state)
{
	struct world *w = *state;

	NEEDS_ROOT();
	world_listen(w);
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		char reply[CONTROL_LINE_MAX + 1];

		print_message("  '%s'\n", refused[i].line);
		assert_int_equal(request(w, refused[i].line, reply, sizeof(reply)), 1);
		assert_string_equal(reply, refused[i].reply);
	}
	assert_int_equal(w->fake.calls, 0);
}

static const struct {
	const char *name;
	const char *parts[3]; /* sent one after the other, the loop stepped between */
	size_t len0;	      /* length of parts[0] if it holds a NUL byte, else 0 */
	bool shut_wr;	      /* then shutdown(SHUT_WR) */
	const char *reply;
	int calls;
} raw_lines[] = {
    {"crlf", {"replica add web 10.0.0.1:80\r\n"}, 0, false, "ok done\n", 1},
    {"in pieces", {"repl", "ica add web 10.0", ".0.1:80\n"}, 0, false, "ok done\n", 1},
    {"bytes after the newline are ignored",
     {"replica add web 10.0.0.1:80\nreplica remove web 10.0.0.1:80\n"},
     0,
     false,
     "ok done\n",
     1},
    {"eof before the newline is not applied",
     {"replica add web 10.0.0.1:80"},
     0,
     true,
     "error: incomplete line (connection closed before a newline)\n",
     0},
    {"nul byte",
     {"replica add\0web 10.0.0.1:80\n"},
     28,
     false,
     "error: line contains a NUL byte\n",
     0},
    {"empty line", {"\n"}, 0, false, "error: " EXPECTED "\n", 0},
};

static void test_control_answers_raw_lines_once_and_closes(void **state)
{
	struct world *w = *state;

	NEEDS_ROOT();
	world_listen(w);
	w->fake.reply = "done";
	for (size_t i = 0; i < ARRAY_SIZE(raw_lines); i++) {
		char buf[CONTROL_LINE_MAX + 1];
		int fd = raw_connect(w->path);

		print_message("  %s\n", raw_lines[i].name);
		w->fake.calls = 0;
		assert_true(fd >= 0);
		for (int p = 0; p < 3 && raw_lines[i].parts[p]; p++) {
			const char *s = raw_lines[i].parts[p];

			raw_send(fd, s,
				 p == 0 && raw_lines[i].len0 ? raw_lines[i].len0 : strlen(s));
			pump(w->loop, 3);
		}
		if (raw_lines[i].shut_wr)
			shutdown(fd, SHUT_WR);
		assert_int_equal(raw_reply(w->loop, fd, buf, sizeof(buf), 2000),
				 (ssize_t)strlen(raw_lines[i].reply));
		assert_string_equal(buf, raw_lines[i].reply);
		assert_int_equal(w->fake.calls, raw_lines[i].calls);
		close(fd);
	}
}

static const struct {
	size_t len; /* bytes before the newline */
	bool refused;
} long_lines[] = {
    {5000, true},
    {CONTROL_LINE_MAX + 1, true},
    {CONTROL_LINE_MAX, false}, /* parsed: an unknown command, not a long line */
};

static void test_control_refuses_a_line_longer_than_4096_bytes(void **state)
{
	static char line[5002], buf[2 * CONTROL_LINE_MAX];
	struct world *w = *state;
	char reply[CONTROL_LINE_MAX + 1];

	NEEDS_ROOT();
	world_listen(w);
	for (size_t i = 0; i < ARRAY_SIZE(long_lines); i++) {
		int fd = raw_connect(w->path);
		ssize_t n;

		print_message("  %zu bytes\n", long_lines[i].len);
		assert_true(fd >= 0);
		memset(line, 'a', long_lines[i].len);
		line[long_lines[i].len] = '\n';
		raw_send(fd, line, long_lines[i].len + 1);
		n = raw_reply(w->loop, fd, buf, sizeof(buf), 2000);
		close(fd);
		if (long_lines[i].refused) {
			assert_string_equal(buf, "error: line longer than 4096 bytes\n");
			continue;
		}
		/* the reply names the word, cut so the reply line is 4096 bytes */
		assert_int_equal(n, CONTROL_LINE_MAX);
		assert_int_equal(strncmp(buf, "error: unknown command 'aaaa", 28), 0);
		assert_int_equal(buf[n - 1], '\n');
	}

	/* through control_request(): the reply is read although the agent
	 * closed before taking the whole line */
	memset(line, 'a', 5000);
	line[5000] = '\0';
	assert_int_equal(request(w, line, reply, sizeof(reply)), 1);
	assert_string_equal(reply, "error: line longer than 4096 bytes");
	assert_int_equal(w->fake.calls, 0);
}

static void test_control_slow_client_gets_timeout(void **state)
{
	static const char *const sent[] = {"", "replica add web 10.0"};
	struct world *w = *state;

	NEEDS_ROOT();
	control_set_client_timeout_ms(300);
	world_listen(w);
	for (size_t i = 0; i < ARRAY_SIZE(sent); i++) {
		int fd = raw_connect(w->path);
		long long t0 = now_ms(), took;
		char buf[256];

		print_message("  sent '%s'\n", sent[i]);
		assert_true(fd >= 0);
		raw_send(fd, sent[i], strlen(sent[i]));
		assert_int_equal(raw_reply(w->loop, fd, buf, sizeof(buf), 2000),
				 (ssize_t)strlen("error: timeout\n"));
		took = now_ms() - t0;
		assert_string_equal(buf, "error: timeout\n");
		assert_true(took >= 250 && took < 2000);
		close(fd);
	}
	assert_int_equal(w->fake.calls, 0);
}

static void test_control_refuses_the_65th_concurrent_client(void **state)
{
	struct world *w = *state;
	int fds[CONTROL_CLIENTS_MAX], extra;
	char buf[256];

	NEEDS_ROOT();
	world_listen(w);
	for (int i = 0; i < CONTROL_CLIENTS_MAX; i++) {
		fds[i] = raw_connect(w->path);
		assert_true(fds[i] >= 0);
		raw_send(fds[i], "replica", 7);
		pump(w->loop, 1);
	}
	extra = raw_connect(w->path);
	assert_true(extra >= 0);
	assert_int_equal(raw_reply(w->loop, extra, buf, sizeof(buf), 2000),
			 (ssize_t)strlen("error: too many clients\n"));
	assert_string_equal(buf, "error: too many clients\n");
	close(extra);

	/* the 64 are still being served */
	for (int i = 0; i < CONTROL_CLIENTS_MAX; i++) {
		assert_int_equal(recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT), -1);
		assert_int_equal(errno, EAGAIN);
	}
	/* one leaves: its place is free again */
	close(fds[0]);
	pump(w->loop, 5);
	w->fake.reply = "done";
	assert_int_equal(request(w, "replica add web 10.0.0.1:80", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "ok done");
	for (int i = 1; i < CONTROL_CLIENTS_MAX; i++)
		close(fds[i]);
	pump(w->loop, 5);
}

static void test_control_refuses_non_root_peers(void **state)
{
	struct world *w = *state;
	struct {
		int rc;
		char reply[256];
	} res = {0};
	ev_io readable;
	ev_timer guard;
	int pfd[2], status;
	pid_t pid;

	NEEDS_ROOT();
	world_listen(w);
	/* let uid 65534 reach the socket, so the refusal is ours, not the file's */
	assert_int_equal(chmod(w->dir, 0711), 0);
	assert_int_equal(chmod(w->path, 0666), 0);
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		res.rc = control_request(w->path, "replica add web 10.0.0.1:80", res.reply,
					 sizeof(res.reply), 2000);
		_exit(write(pfd[1], &res, sizeof(res)) == (ssize_t)sizeof(res) ? 0 : 3);
	}
	close(pfd[1]);
	ev_io_init(&readable, on_break_io, pfd[0], EV_READ);
	ev_io_start(w->loop, &readable);
	ev_timer_init(&guard, on_break_timer, 3., 0.);
	ev_timer_start(w->loop, &guard);
	ev_run(w->loop, 0);
	ev_io_stop(w->loop, &readable);
	ev_timer_stop(w->loop, &guard);
	assert_int_equal(read(pfd[0], &res, sizeof(res)), (ssize_t)sizeof(res));
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(res.rc, 1);
	assert_string_equal(res.reply, "error: permission denied (root only)");
	assert_int_equal(w->fake.calls, 0);
}

static void test_control_socket_is_0600_and_new_parents_0700(void **state)
{
	struct world *w = *state;
	char sub[160];
	struct stat st;
	mode_t old = umask(022);

	snprintf(w->path, sizeof(w->path), "%s/run/steer/ctl.sock", w->dir);
	assert_int_equal(chmod(w->dir, 0755), 0);
	world_listen(w);
	assert_int_equal(umask(old), 022); /* put back as it was */

	assert_int_equal(lstat(w->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(sub, sizeof(sub), "%s/run", w->dir);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	snprintf(sub, sizeof(sub), "%s/run/steer", w->dir);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	/* an existing directory keeps its mode */
	assert_int_equal(stat(w->dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
}

static void make_stale_socket(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd); /* the file stays, nobody listens */
}

static void test_control_replaces_a_stale_socket_file(void **state)
{
	struct world *w = *state;
	char reply[256];
	struct stat st;

	NEEDS_ROOT();
	make_stale_socket(w->path);
	world_listen(w);
	assert_int_equal(lstat(w->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(request(w, "replica drain web 10.0.0.1:80", reply, sizeof(reply)), 0);
	assert_string_equal(reply, "ok");
}

static void test_control_does_not_take_over_a_live_agents_socket(void **state)
{
	struct world *w = *state;
	struct control_server *second;
	char err[512], want[512], reply[256];

	NEEDS_ROOT();
	world_listen(w);
	second = control_listen(w->loop, w->path, &w->handler, err, sizeof(err));
	assert_null(second);
	snprintf(want, sizeof(want), "another agent is listening on %s", w->path);
	assert_string_equal(err, want);
	/* the first still serves (and took the probe connection in its stride) */
	assert_int_equal(request(w, "replica add web 10.0.0.1:80", reply, sizeof(reply)), 0);
	assert_string_equal(reply, "ok");
	assert_int_equal(w->fake.calls, 1);
}

static void test_control_refuses_and_keeps_a_path_that_is_not_a_socket(void **state)
{
	struct world *w = *state;
	char err[512], want[512], content[64] = "";
	struct stat st;
	FILE *f;

	/* a regular file */
	f = fopen(w->path, "w");
	assert_non_null(f);
	fputs("keep me\n", f);
	fclose(f);
	assert_null(control_listen(w->loop, w->path, &w->handler, err, sizeof(err)));
	snprintf(want, sizeof(want),
		 "control socket %s: exists and is not a socket (accepted: a socket file or "
		 "nothing; remove it or choose another path)",
		 w->path);
	assert_string_equal(err, want);
	f = fopen(w->path, "r");
	assert_non_null(f);
	assert_non_null(fgets(content, sizeof(content), f));
	fclose(f);
	assert_string_equal(content, "keep me\n");
	assert_int_equal(unlink(w->path), 0);

	/* a directory */
	assert_int_equal(mkdir(w->path, 0700), 0);
	assert_null(control_listen(w->loop, w->path, &w->handler, err, sizeof(err)));
	assert_string_equal(err, want);
	assert_int_equal(lstat(w->path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
}

static void test_control_close_removes_its_socket_file_only(void **state)
{
	struct world *w = *state;
	struct stat st;
	FILE *f;

	world_listen(w);
	control_close(w->srv);
	w->srv = NULL;
	assert_int_equal(lstat(w->path, &st), -1);
	assert_int_equal(errno, ENOENT);

	/* a file that replaced ours is not ours to remove */
	world_listen(w);
	assert_int_equal(unlink(w->path), 0);
	f = fopen(w->path, "w");
	assert_non_null(f);
	fclose(f);
	control_close(w->srv);
	w->srv = NULL;
	assert_int_equal(lstat(w->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));

	control_close(NULL);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void test_control_leaks_no_fds(void **state)
{
	static char line[5001];
	struct world *w = *state;
	struct ev_loop *fixture_loop = w->loop;
	char reply[CONTROL_LINE_MAX + 1];
	int before, fds[CONTROL_CLIENTS_MAX + 1];

	NEEDS_ROOT();
	before = count_fds();
	w->loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(w->loop);
	control_set_client_timeout_ms(200);
	make_stale_socket(w->path);
	world_listen(w);

	assert_int_equal(request(w, "replica add web 10.0.0.1:80", reply, sizeof(reply)), 0);
	assert_int_equal(request(w, "replica frob web 10.0.0.1:80", reply, sizeof(reply)), 1);
	memset(line, 'a', 5000);
	assert_int_equal(request(w, line, reply, sizeof(reply)), 1);
	for (int i = 0; i < CONTROL_CLIENTS_MAX + 1; i++) { /* one refused */
		fds[i] = raw_connect(w->path);
		assert_true(fds[i] >= 0);
		pump(w->loop, 1);
	}
	for (int i = 0; i < CONTROL_CLIENTS_MAX / 2; i++) /* half leave, half time out */
		close(fds[i]);
	assert_true(raw_reply(w->loop, fds[CONTROL_CLIENTS_MAX - 1], reply, sizeof(reply), 2000) >
		    0);
	for (int i = CONTROL_CLIENTS_MAX / 2; i < CONTROL_CLIENTS_MAX + 1; i++)
		close(fds[i]);
	/* and some still connected when the server closes */
	for (int i = 0; i < 3; i++) {
		fds[i] = raw_connect(w->path);
		pump(w->loop, 1);
	}
	control_close(w->srv);
	w->srv = NULL;
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	ev_loop_destroy(w->loop);
	w->loop = fixture_loop;
	assert_int_equal(count_fds(), before);
}

static void test_control_request_without_agent_fails_with_errno(void **state)
{
	struct world *w = *state;
	char reply[64] = "x";

	assert_int_equal(
	    control_request(w->path, "replica add web 10.0.0.1:80", reply, sizeof(reply), 500), -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(reply, "");

	make_stale_socket(w->path);
	assert_int_equal(
	    control_request(w->path, "replica add web 10.0.0.1:80", reply, sizeof(reply), 500), -1);
	assert_int_equal(errno, ECONNREFUSED);
	assert_string_equal(reply, "");

	assert_int_equal(
	    control_request(w->path, "replica add web\n10.0.0.1:80", reply, sizeof(reply), 500),
	    -1);
	assert_int_equal(errno, EINVAL);
}

static int silent_listener(const char *path, int backlog)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fd, backlog), 0);
	return fd;
}

static void test_control_request_times_out_on_an_agent_that_does_not_answer(void **state)
{
	struct world *w = *state;
	int lfd, queued[16], nqueued = 0;
	char reply[64];

	/* connected, never answered */
	lfd = silent_listener(w->path, 16);
	long long t0 = now_ms();
	assert_int_equal(
	    control_request(w->path, "replica add web 10.0.0.1:80", reply, sizeof(reply), 200), -1);
	assert_int_equal(errno, ETIMEDOUT);
	assert_true(now_ms() - t0 >= 150 && now_ms() - t0 < 1500);
	close(lfd);
	unlink(w->path);

	/* never accepted: the backlog is full */
	lfd = silent_listener(w->path, 0);
	while (nqueued < (int)ARRAY_SIZE(queued)) {
		int fd = raw_connect(w->path);

		if (fd < 0)
			break;
		queued[nqueued++] = fd;
	}
	assert_true(nqueued < (int)ARRAY_SIZE(queued));
	t0 = now_ms();
	assert_int_equal(
	    control_request(w->path, "replica add web 10.0.0.1:80", reply, sizeof(reply), 200), -1);
	assert_int_equal(errno, ETIMEDOUT);
	assert_true(now_ms() - t0 >= 150 && now_ms() - t0 < 1500);
	while (nqueued > 0)
		close(queued[--nqueued]);
	close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_control_parse_accepts_each_verb_with_any_blanks_and_line_end),
	    cmocka_unit_test(test_control_parse_rejects_naming_the_word_and_what_is_accepted),
	    cmocka_unit_test(test_control_parse_refuses_lines_longer_than_4096_bytes),
	    cmocka_unit_test(test_control_format_round_trips_every_verb_and_family),
	    cmocka_unit_test(test_control_format_of_an_unknown_verb_does_not_parse),
#define WORLD_TEST(f) cmocka_unit_test_setup_teardown(f, world_setup, world_teardown)
	    WORLD_TEST(test_control_apply_gets_the_parsed_command),
	    WORLD_TEST(test_control_relays_apply_result_as_ok_or_error),
	    WORLD_TEST(test_control_parse_error_is_relayed_and_never_calls_apply),
	    WORLD_TEST(test_control_answers_raw_lines_once_and_closes),
	    WORLD_TEST(test_control_refuses_a_line_longer_than_4096_bytes),
	    WORLD_TEST(test_control_slow_client_gets_timeout),
	    WORLD_TEST(test_control_refuses_the_65th_concurrent_client),
	    WORLD_TEST(test_control_refuses_non_root_peers),
	    WORLD_TEST(test_control_socket_is_0600_and_new_parents_0700),
	    WORLD_TEST(test_control_replaces_a_stale_socket_file),
	    WORLD_TEST(test_control_does_not_take_over_a_live_agents_socket),
	    WORLD_TEST(test_control_refuses_and_keeps_a_path_that_is_not_a_socket),
	    WORLD_TEST(test_control_close_removes_its_socket_file_only),
	    WORLD_TEST(test_control_leaks_no_fds),
	    WORLD_TEST(test_control_request_without_agent_fails_with_errno),
	    WORLD_TEST(test_control_request_times_out_on_an_agent_that_does_not_answer),
#undef WORLD_TEST
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests_name("control", tests, NULL, NULL);
}
