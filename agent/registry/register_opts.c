#include "registry/register_opts.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "config/env.h"

#define USAGE                                                                                      \
	"steer register --service NAME --replica ADDR:PORT [--ttl-ms N] [--weight N] "             \
	"[--zone Z]"

static int bad(char *err, size_t errlen, const char *opt, const char *value, const char *accepted)
{
	snprintf(err, errlen, "%s '%s': expected %s", opt, value, accepted);
	return -1;
}

int register_opts_parse(int argc, char **argv, struct register_opts *o, char *err, size_t errlen)
{
	static const struct option longopts[] = {
	    {"service", required_argument, NULL, 's'}, {"replica", required_argument, NULL, 'r'},
	    {"ttl-ms", required_argument, NULL, 't'},  {"weight", required_argument, NULL, 'w'},
	    {"zone", required_argument, NULL, 'z'},    {NULL, 0, NULL, 0},
	};
	char *args[64], msg[160];
	bool have_replica = false;
	long long n;
	int c;

	memset(o, 0, sizeof(*o));
	o->ttl_ms = REGISTER_TTL_MS_DEFAULT;
	if (argc + 1 > (int)(sizeof(args) / sizeof(args[0]))) {
		snprintf(err, errlen, "too many arguments (usage: " USAGE ")");
		return -1;
	}
	/* getopt_long wants argv[0] and may permute: a copy of ours. */
	args[0] = "register";
	for (int i = 0; i < argc; i++)
		args[i + 1] = argv[i];
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc + 1, args, "+", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!svc_name_valid(optarg, strlen(optarg)))
				return bad(err, errlen, "--service", optarg, SVC_NAME_ACCEPTED);
			snprintf(o->service, sizeof(o->service), "%s", optarg);
			break;
		case 'r':
			if (endpoint_parse(optarg, &o->replica, msg, sizeof(msg)) < 0 ||
			    o->replica.port == 0)
				return bad(err, errlen, "--replica", optarg,
					   "A.B.C.D:PORT or [IPV6]:PORT, PORT 1-65535");
			have_replica = true;
			break;
		case 't':
			if (env_parse_int(optarg, REGISTER_TTL_MS_MIN, REGISTER_TTL_MS_MAX, &n) < 0)
				return bad(err, errlen, "--ttl-ms", optarg, "1000-3600000");
			o->ttl_ms = (uint32_t)n;
			break;
		case 'w':
			if (env_parse_int(optarg, 1, WEIGHT_MAX, &n) < 0)
				return bad(err, errlen, "--weight", optarg, "1-100");
			o->weight = (uint32_t)n;
			break;
		case 'z':
			if (!zone_name_valid(optarg, strlen(optarg)))
				return bad(err, errlen, "--zone", optarg, ZONE_ACCEPTED);
			snprintf(o->zone, sizeof(o->zone), "%s", optarg);
			break;
		default:
			snprintf(err, errlen,
				 "unknown or incomplete option '%s' (usage: " USAGE ")",
				 args[optind - 1]);
			return -1;
		}
	}
	if (optind < argc + 1) {
		snprintf(err, errlen, "unexpected argument '%s' (usage: " USAGE ")", args[optind]);
		return -1;
	}
	if (!o->service[0] || !have_replica) {
		snprintf(err, errlen, "missing %s (usage: " USAGE ")",
			 !o->service[0] ? "--service" : "--replica");
		return -1;
	}
	return 0;
}

int64_t register_ttl_s(const struct register_opts *o)
{
	return ((int64_t)o->ttl_ms + 999) / 1000;
}

int register_key(const struct register_opts *o, const char *prefix, char *key, size_t len)
{
	char addr[ADDR_STRLEN];
	int n = snprintf(key, len, "%sreplicas/%s/%s", prefix, o->service,
			 endpoint_format(&o->replica, addr, sizeof(addr)));

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int register_value(const struct register_opts *o, char *value, size_t len)
{
	char weight[32] = "";
	int n;

	if (o->weight)
		snprintf(weight, sizeof(weight), "\"weight\": %u", (unsigned)o->weight);
	n = snprintf(value, len, "{%s%s%s%s%s}", weight, o->weight && o->zone[0] ? ", " : "",
		     o->zone[0] ? "\"zone\": \"" : "", o->zone, o->zone[0] ? "\"" : "");
	return n < 0 || (size_t)n >= len ? -1 : 0;
}
