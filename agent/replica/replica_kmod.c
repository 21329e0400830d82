#include "replica/replica_kmod.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bpf/steer_abi.h"

const char *kmod_tunnel_name(int family)
{
	return family == STEER_FAMILY_V6 ? "ip6_tunnel" : "ipip";
}

const char *kmod_state_name(enum kmod_state s)
{
	switch (s) {
	case KMOD_LOADED:
		return "loaded";
	case KMOD_AVAILABLE:
		return "installed, not loaded";
	default:
		return "absent";
	}
}

/* Is line (of modules.builtin or modules.dep) the path of module name:
 * ".../NAME.ko", possibly compressed, then the end or a ':'? */
static bool names_module(const char *line, const char *name)
{
	size_t end = strcspn(line, ":\n"), n = strlen(name);
	const char *base;

	for (base = line + end; base > line && base[-1] != '/'; base--)
		;
	return (size_t)(line + end - base) >= n + 3 && !strncmp(base, name, n) &&
	       !strncmp(base + n, ".ko", 3) && (base[n + 3] == '.' || base + n + 3 == line + end);
}

/* Does a line of file satisfy match(line, name)? */
static bool file_has(const char *path, const char *name,
		     bool (*match)(const char *line, const char *name))
{
	char line[512];
	bool found = false;
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = match(line, name);
	fclose(f);
	return found;
}

/* A line of /proc/modules: "NAME SIZE REFS ...". */
static bool lists_module(const char *line, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(line, name, n) && line[n] == ' ';
}

enum kmod_state kmod_state(const char *root, const char *release, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/sys/module/%s", root, name);
	if (access(path, F_OK) == 0)
		return KMOD_LOADED;
	snprintf(path, sizeof(path), "%s/proc/modules", root);
	if (file_has(path, name, lists_module))
		return KMOD_LOADED;
	snprintf(path, sizeof(path), "%s/lib/modules/%s/modules.builtin", root, release);
	if (file_has(path, name, names_module))
		return KMOD_LOADED;
	snprintf(path, sizeof(path), "%s/lib/modules/%s/modules.dep", root, release);
	if (file_has(path, name, names_module))
		return KMOD_AVAILABLE;
	return KMOD_ABSENT;
}
