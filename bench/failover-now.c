/* bench-failover-now: print CLOCK_MONOTONIC in ns, the clock of steer-kill,
 * bpf_ktime_get_ns() and the agent's timelines, so a bench script can place
 * its own events on the same time line (bash only reads the wall clock).
 *
 * Usage: bench-failover-now             print the time now
 *        bench-failover-now --until NS  sleep until CLOCK_MONOTONIC NS (at
 *                                       most 60 s ahead), then print the time
 * Exit 0, or 2 on bad usage. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define UNTIL_MAX_NS (60LL * 1000000000LL) /* a bench never waits longer */

static long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--until") == 0) {
		char *end;
		long long until;
		struct timespec ts;

		errno = 0;
		until = strtoll(argv[2], &end, 10);
		if (errno || *end || until <= 0 || until - mono_ns() > UNTIL_MAX_NS) {
			fprintf(stderr,
				"bench-failover-now: bad --until '%s' (accepted: CLOCK_MONOTONIC "
				"ns, at most 60 s ahead)\n",
				argv[2]);
			return 2;
		}
		ts.tv_sec = until / 1000000000LL;
		ts.tv_nsec = until % 1000000000LL;
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
	} else if (argc != 1) {
		fprintf(stderr, "usage: bench-failover-now [--until NS]\n");
		return 2;
	}
	printf("%lld\n", mono_ns());
	return 0;
}
