/*
 * The sysctls of a replica host, and the record of the values they had
 * before replica-setup changed them, kept in the pin directory so that the
 * last --remove puts them back. bpffs holds no regular files, so each
 * record is a symbolic link: `ls -l DIR` shows
 *   sysctl_was@net@ipv4@conf@all@arp_ignore -> net.ipv4.conf.all.arp_ignore=0
 * Sysctls are dotted names as sysctl(8) writes them ('/' for a dot inside
 * a name); they are those of the caller's network namespace.
 */
#ifndef STEER_REPLICA_SYSCTL_H
#define STEER_REPLICA_SYSCTL_H

#include <stddef.h>

#define SYSCTL_RECORD_PREFIX "sysctl_was@"

/* Returns 0, or a negative errno. */
int sysctl_read(const char *dotted, int *value);
int sysctl_write(const char *dotted, int value);

/* The record's name in the pin directory: the prefix, then the dotted
 * name with '.' as '@' and '/' as ':' (bpffs refuses dots). */
void sysctl_record_name(const char *dotted, char *name, size_t len);

/* Record that dotted was value, unless a record of it is there already:
 * the first value, from before any change, is the one to restore. Returns
 * 0, or -1 with err set. */
int sysctl_record(const char *pin_dir, const char *dotted, int value, char *err, size_t errlen);

/* Does pin_dir hold a record of dotted? */
int sysctl_recorded(const char *pin_dir, const char *dotted);

/* Write each recorded value back and remove its record; report(name,
 * value, arg) for each. Returns how many, or -1 with err set (the records
 * not restored stay). */
int sysctl_restore_all(const char *pin_dir, void (*report)(const char *, int, void *), void *arg,
		       char *err, size_t errlen);

#endif
