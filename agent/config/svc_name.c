/* The service and zone name rules, shared by the config parser, the control
 * protocol and STEER_ZONE. */
#include "config/config.h"

/* Spelled out rather than isalnum(): a name must not depend on the locale. */
static bool is_name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

bool svc_name_valid(const char *name, size_t len)
{
	if (len < 1 || len >= SVC_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_name_char(name[i]))
			return false;
	return true;
}

bool zone_name_valid(const char *name, size_t len)
{
	if (len < 1 || len >= ZONE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_name_char(name[i]))
			return false;
	return true;
}
