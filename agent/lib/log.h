/* The agent's logger: one line per event on stderr, filtered by level, as
 * text ("steer: LEVEL: message") or as one JSON object per line. */
#ifndef STEER_LOG_H
#define STEER_LOG_H

#include <stdbool.h>
#include <stdio.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parse "error|warn|info|debug"; returns -1 if unknown. */
int log_level_parse(const char *text);
const char *log_level_name(enum log_level level);

/* false: "steer: LEVEL: message" (the default); true: one JSON object per
 * line, {"ts":"2026-11-27T21:11:02.123Z","level":"info","msg":"..."}, ts in
 * UTC with milliseconds, msg a JSON string as jansson writes it (quotes,
 * backslash and control characters escaped, UTF-8 as it is, each byte that
 * is not UTF-8 as U+FFFD). */
void log_set_json(bool json);
/* Where lines go; NULL (the default) means stderr. For tests. */
void log_set_stream(FILE *stream);

__attribute__((format(printf, 2, 3))) void log_msg(enum log_level level, const char *fmt, ...);

/* An event an operator must always see, whatever STEER_LOG_LEVEL says: a
 * replica state transition, a config reload. Logged at level "notice"
 * ("steer: notice: ..." or "level":"notice"). */
__attribute__((format(printf, 1, 2))) void log_event(const char *fmt, ...);

#define log_err(...)   log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Route libbpf's own messages through log_msg(). */
void log_route_libbpf(void);

#endif
