/* The agent's logger: one line per event on stderr, filtered by level. */
#ifndef STEER_LOG_H
#define STEER_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parse "error|warn|info|debug"; returns -1 if unknown. */
int log_level_parse(const char *text);
const char *log_level_name(enum log_level level);

__attribute__((format(printf, 2, 3))) void log_msg(enum log_level level, const char *fmt, ...);

#define log_err(...)   log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Route libbpf's own messages through log_msg(). */
void log_route_libbpf(void);

#endif
