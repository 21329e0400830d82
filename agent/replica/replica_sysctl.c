#include "replica/replica_sysctl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "replica/replica_plan.h"

int sysctl_read(const char *dotted, int *value)
{
	char path[PATH_MAX], buf[32], *end;
	ssize_t n;
	long v;
	int fd;

	replica_sysctl_path(dotted, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EINVAL;
	buf[n] = '\0';
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n') || v < INT_MIN || v > INT_MAX)
		return -EINVAL;
	*value = (int)v;
	return 0;
}

int sysctl_write(const char *dotted, int value)
{
	char path[PATH_MAX], buf[16];
	int fd, len = snprintf(buf, sizeof(buf), "%d\n", value);
	ssize_t n;

	replica_sysctl_path(dotted, path, sizeof(path));
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, buf, (size_t)len);
	if (n != len) {
		int e = n < 0 ? errno : EIO;

		close(fd);
		return -e;
	}
	return close(fd) ? -errno : 0;
}

void sysctl_record_name(const char *dotted, char *name, size_t len)
{
	size_t at = (size_t)snprintf(name, len, SYSCTL_RECORD_PREFIX);

	for (size_t i = 0; dotted[i] && at + 1 < len; i++)
		name[at++] = dotted[i] == '.' ? '@' : dotted[i] == '/' ? ':' : dotted[i];
	name[at < len ? at : len - 1] = '\0';
}

static void record_path(const char *pin_dir, const char *dotted, char *path, size_t len)
{
	char name[NAME_MAX + 1];

	sysctl_record_name(dotted, name, sizeof(name));
	snprintf(path, len, "%s/%s", pin_dir, name);
}

int sysctl_recorded(const char *pin_dir, const char *dotted)
{
	char path[PATH_MAX];
	struct stat st;

	record_path(pin_dir, dotted, path, sizeof(path));
	return lstat(path, &st) == 0; /* the link itself: its target is no file */
}

int sysctl_record(const char *pin_dir, const char *dotted, int value, char *err, size_t errlen)
{
	char path[PATH_MAX], target[REPLICA_SYSCTL_LEN + 16];

	record_path(pin_dir, dotted, path, sizeof(path));
	snprintf(target, sizeof(target), "%s=%d", dotted, value);
	if (symlink(target, path) && errno != EEXIST) {
		snprintf(err, errlen, "cannot record %s in %s: %s", target, path, strerror(errno));
		return -1;
	}
	return 0;
}

/* "NAME=VALUE" of a record. */
static int parse_record(char *target, char **name, int *value)
{
	char *eq = strrchr(target, '='), *end;
	long v;

	if (!eq || eq == target)
		return -1;
	*eq = '\0';
	errno = 0;
	v = strtol(eq + 1, &end, 10);
	if (errno || end == eq + 1 || *end || v < INT_MIN || v > INT_MAX)
		return -1;
	*name = target;
	*value = (int)v;
	return 0;
}

int sysctl_restore_all(const char *pin_dir, void (*report)(const char *, int, void *), void *arg,
		       char *err, size_t errlen)
{
	DIR *d = opendir(pin_dir);
	struct dirent *e;
	int restored = 0, ret = 0;

	if (!d) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot read %s: %s", pin_dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		char path[PATH_MAX], target[REPLICA_SYSCTL_LEN + 16], *name;
		ssize_t n;
		int value, werr;

		if (strncmp(e->d_name, SYSCTL_RECORD_PREFIX, strlen(SYSCTL_RECORD_PREFIX)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, e->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n < 0 || (target[n] = '\0', parse_record(target, &name, &value))) {
			snprintf(err, errlen,
				 "%s: not a record of replica-setup (remove it by hand)", path);
			ret = -1;
			continue;
		}
		werr = sysctl_write(name, value);
		if (werr) {
			snprintf(err, errlen, "cannot restore %s=%d: %s", name, value,
				 strerror(-werr));
			ret = -1;
			continue;
		}
		unlink(path);
		restored++;
		if (report)
			report(name, value, arg);
	}
	closedir(d);
	return ret ? ret : restored;
}
