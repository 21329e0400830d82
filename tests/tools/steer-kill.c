/* steer-kill: send SIGKILL to a pid and print the CLOCK_MONOTONIC time (ns)
 * taken just before, the clock bpf_ktime_get_ns() uses, so a test can
 * measure kill-to-ejection against the datapath's own timestamp.
 * Usage: steer-kill PID. Exit 0 on success, 1 if kill fails, 2 on bad usage. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
	struct timespec ts;
	char *end;
	long pid;

	if (argc != 2) {
		fprintf(stderr, "usage: steer-kill PID\n");
		return 2;
	}
	errno = 0;
	pid = strtol(argv[1], &end, 10);
	if (errno || *end || pid <= 1) {
		fprintf(stderr, "steer-kill: bad pid '%s' (accepted: a number > 1)\n", argv[1]);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (kill((pid_t)pid, SIGKILL)) {
		fprintf(stderr, "steer-kill: kill %ld: %s\n", pid, strerror(errno));
		return 1;
	}
	printf("%lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	return 0;
}
