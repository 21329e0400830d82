/* The control socket: a unix stream socket (mode 0600) that takes one
 * command line per connection and answers one line. Used by
 * `steer replica add|remove|drain|undrain SERVICE ADDR:PORT`.
 *
 * control_proto.c holds the line protocol (pure), control_server.c the
 * agent's side on its libev loop (control_path.c readies the socket file),
 * control_client.c control_request(). */
#ifndef STEER_CONTROL_H
#define STEER_CONTROL_H

#include <stddef.h>
#include <sys/types.h>

#include <ev.h>

#include "lib/addr.h"
#include "config/config.h"

#define CONTROL_LINE_MAX	  4096 /* longer lines are refused */
#define CONTROL_CLIENTS_MAX	  64   /* more concurrent clients are refused */
#define CONTROL_CLIENT_TIMEOUT_MS 5000

enum control_verb {
	CONTROL_ADD = 1,
	CONTROL_REMOVE,
	CONTROL_DRAIN,
	CONTROL_UNDRAIN,
};

struct control_cmd {
	enum control_verb verb;
	char service[SVC_NAME_MAX];
	struct endpoint replica;
};

/* Parse "replica VERB SERVICE ADDR:PORT" (pure). Returns 0, or -1 with err
 * naming the bad word and what is accepted. */
int control_parse(const char *line, struct control_cmd *cmd, char *err, size_t errlen);

/* Format a command as control_parse() accepts it (no newline). */
void control_format(const struct control_cmd *cmd, char *buf, size_t len);

struct control_handler {
	void *arg;
	/* Apply a parsed command. Returns 0 with reply set to a short success
	 * text, or -1 with reply set to the error; nothing changes on error. */
	int (*apply)(void *arg, const struct control_cmd *cmd, char *reply, size_t len);
};

struct control_server;

/* Listen on path (a stale socket file is replaced; parent dirs created,
 * mode 0700 for a directory steer creates), mode 0600, root peers only.
 * Returns NULL with err set. */
struct control_server *control_listen(struct ev_loop *loop, const char *path,
				      const struct control_handler *handler, char *err,
				      size_t errlen);

/* How long an accepted client may take to send its line (and then to read
 * the reply); ms <= 0 restores CONTROL_CLIENT_TIMEOUT_MS. Process-wide, read
 * when a client is accepted; for tests. */
void control_set_client_timeout_ms(int ms);

/* Also admit members of group gid (STEER_CONTROL_GROUP): the socket becomes
 * root:gid mode 0660, and a peer whose primary or supplementary groups
 * include gid is served. Returns 0, or -1 with err set. */
int control_admit_group(struct control_server *srv, gid_t gid, char *err, size_t errlen);

/* Stop listening, drop clients, remove the socket file. NULL-safe. */
void control_close(struct control_server *srv);

/* Client side: send line, read the one-line reply into reply (no newline).
 * Returns 0 if the agent answered "ok ...", 1 if it answered "error: ...",
 * -1 (errno set) if the agent could not be reached. */
int control_request(const char *path, const char *line, char *reply, size_t len, int timeout_ms);

#endif
