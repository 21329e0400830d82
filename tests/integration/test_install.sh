#!/bin/bash
# make install into a temporary DESTDIR: the tree and its modes, a reinstall
# that keeps edited /etc files, the unit accepted by systemd-analyze verify,
# steer(8) rendered by man without warnings, and every STEER_* variable of
# `steer --help` in the man page and in /etc/default/steer. Needs no cgroup,
# netns or pin directory: lib.sh's teardown only removes $TMP here.
. "$(dirname "$0")/lib.sh"

SKIPPED=()
DEST=$TMP/root
MANPAGE=$DEST/usr/share/man/man8/steer.8
UNIT=$DEST/lib/systemd/system/steer.service
DEFAULTS=$DEST/etc/default/steer
INI=$DEST/etc/steer/steer.ini

# A missing tool skips only the checks that need it; the test then ends in
# SKIP naming it, unless something failed.
have() {
	command -v "$1" >/dev/null 2>&1 && return 0
	log "no $1: skipping $2"
	SKIPPED+=("$1 not installed ($2)")
	return 1
}

do_install() {
	make -C "$ROOT" --no-print-directory BUILD="$BUILD" "$@" install >"$TMP/install.out" 2>&1 ||
		{ fail "make install $*: $(cat "$TMP/install.out")"; return 1; }
}

# STEER_NAME DEFAULT lines from `steer --help` ("(empty)" for an empty default).
"$STEER" --help | awk '/^STEER_[A-Z_]+ /{print $1, $2}' >"$TMP/help-vars"
if [ "$(wc -l <"$TMP/help-vars")" -lt 10 ]; then
	fail "steer --help lists $(wc -l <"$TMP/help-vars") STEER_* variables"
	finish
fi

echo "--- make install DESTDIR=... PREFIX=/usr: the tree"
do_install DESTDIR="$DEST" PREFIX=/usr || finish
check_eq "installed files and modes" \
	"644 etc/default/steer 644 etc/steer/steer.ini 644 lib/systemd/system/steer.service 755 usr/sbin/steer 644 usr/share/man/man8/steer.8" \
	"$(cd "$DEST" && find . -type f -printf '%m %P\n' | LC_ALL=C sort -k2 | xargs)"
check_eq "directories are 0755" "" "$(find "$DEST" -type d ! -perm 0755 -printf '%P ')"
check_eq "installed binary runs" "$("$STEER" version)" "$("$DEST/usr/sbin/steer" version 2>&1)"
cmp -s "$ROOT/examples/steer.ini" "$INI" && log "ok: /etc/steer/steer.ini is examples/steer.ini" ||
	fail "/etc/steer/steer.ini differs from examples/steer.ini"
cmp -s "$ROOT/docs/steer.8" "$MANPAGE" && log "ok: steer.8 is docs/steer.8" ||
	fail "installed steer.8 differs from docs/steer.8"
"$STEER" env-file >"$TMP/env-file"
cmp -s "$TMP/env-file" "$DEFAULTS" && log "ok: /etc/default/steer is \`steer env-file\`" ||
	fail "/etc/default/steer differs from \`steer env-file\`"
check_eq "unit ExecStart" "ExecStart=/usr/sbin/steer run --config /etc/steer/steer.ini" \
	"$(grep '^ExecStart=' "$UNIT")"
check_eq "no @...@ left in the unit" "" "$(grep -o '@[A-Z]*@' "$UNIT")"
out=$(env -i PATH="$PATH" "$DEST/usr/sbin/steer" check-config "$INI" 2>&1 >/dev/null)
check_eq "installed steer.ini passes check-config (stderr)" "" "$out"

echo "--- a second install keeps edited /etc files, replaces the rest"
echo "; edited by the operator" >>"$INI"
echo "STEER_LOG_LEVEL=debug" >>"$DEFAULTS"
cp "$INI" "$TMP/ini.edited"
cp "$DEFAULTS" "$TMP/defaults.edited"
echo "# stale" >>"$UNIT"
do_install DESTDIR="$DEST" PREFIX=/usr || finish
cmp -s "$TMP/ini.edited" "$INI" && log "ok: edited steer.ini kept" ||
	fail "edited /etc/steer/steer.ini was replaced"
cmp -s "$TMP/defaults.edited" "$DEFAULTS" && log "ok: edited /etc/default/steer kept" ||
	fail "edited /etc/default/steer was replaced"
check_eq "reinstalled unit has no stale line" "0" "$(grep -c '^# stale' "$UNIT")"
check_eq "KEEP lines" "2" "$(grep -c 'KEEP' "$TMP/install.out")"
check_eq "no temporary files left" "" "$(find "$DEST" -name '*.tmp' -printf '%P ')"

echo "--- default PREFIX is /usr/local"
do_install DESTDIR="$TMP/root-local" || finish
[ -x "$TMP/root-local/usr/local/sbin/steer" ] && log "ok: /usr/local/sbin/steer" ||
	fail "no /usr/local/sbin/steer"
[ -f "$TMP/root-local/usr/local/share/man/man8/steer.8" ] &&
	log "ok: /usr/local/share/man/man8/steer.8" || fail "no /usr/local/share/man/man8/steer.8"
check_eq "unit ExecStart with the default PREFIX" \
	"ExecStart=/usr/local/sbin/steer run --config /etc/steer/steer.ini" \
	"$(grep '^ExecStart=' "$TMP/root-local/lib/systemd/system/steer.service")"

echo "--- /etc/default/steer: every variable, commented out, with its default"
while read -r name def; do
	[ "$def" = "(empty)" ] && def=""
	grep -qxF "#$name=$def" "$TMP/env-file" || fail "no '#$name=$def' line in /etc/default/steer"
done <"$TMP/help-vars"
HELP_NAMES=$(cut -d' ' -f1 "$TMP/help-vars" | xargs)
check_eq "assignment lines are the variables of --help" "$HELP_NAMES" \
	"$(grep -o '^#\?STEER_[A-Z_]*=' "$TMP/env-file" | tr -d '#=' | xargs)"
# Every line is a comment or blank, so the file as installed sets nothing.
check_eq "lines that are neither comments nor blank" "" "$(grep -v '^#' "$TMP/env-file" | grep -v '^$')"
# Uncommented, the file is the defaults: the agent accepts every value.
mapfile -t assignments < <(sed -n 's/^#\(STEER_[A-Z_]*=.*\)$/\1/p' "$TMP/env-file")
out=$(env -i PATH="$PATH" "${assignments[@]}" "$STEER" check-config "$ROOT/examples/steer.ini" 2>&1 >"$TMP/effective")
check_eq "check-config with every default uncommented (stderr)" "" "$out"
check_eq "STEER_HOLD_MAX effective" "STEER_HOLD_MAX=4096" "$(grep '^STEER_HOLD_MAX=' "$TMP/effective")"
check_eq "env-file is not in the usage text" "0" "$("$STEER" --help | grep -c 'env-file')"

echo "--- steer(8): every STEER_* variable of --help, with its default"
# The entries of the ENVIRONMENT section: ".TP" then ".B STEER_NAME".
man_vars=$(sed -n '/^\.SH ENVIRONMENT/,/^\.SH /p' "$ROOT/docs/steer.8" |
	awk 'prev == ".TP" && $1 == ".B" && $2 ~ /^STEER_/ {print $2} {prev = $0}' | xargs)
check_eq "ENVIRONMENT entries are the variables of --help" "$HELP_NAMES" "$man_vars"
check_eq "STEER_* names in the page that --help does not know" "" \
	"$(grep -o 'STEER_[A-Z][A-Z_]*' "$ROOT/docs/steer.8" | sort -u | grep -vxF -f <(cut -d' ' -f1 "$TMP/help-vars") | xargs)"
while read -r name def; do
	[ "$def" = "(empty)" ] && continue
	entry=$(sed -n '/^\.SH ENVIRONMENT/,/^\.SH /p' "$ROOT/docs/steer.8" |
		awk -v n="$name" '$1 == ".B" && $2 == n {on = 1; next} on && /^\.(TP|SH)/ {exit} on' |
		sed -E 's/^\.[A-Z]+ //' | xargs -0)
	grep -qF -- "Default $def" <<<"${entry//$'\n'/ }" ||
		fail "steer(8): $name's entry does not say 'Default $def': $entry"
done <"$TMP/help-vars"
# The entries of the COMMANDS section: ".TP" then the command's first word.
check_eq "COMMANDS entries" "run down status check-config replica replica-setup register version help env-file" \
	"$(sed -n '/^\.SH COMMANDS/,/^\.SH /p' "$ROOT/docs/steer.8" | awk 'prev == ".TP" {print} {prev = $0}' |
		sed -E 's/^\.[A-Z]+ "?//; s/\\-/-/g; s/[ "].*//' | xargs)"
for section in SYNOPSIS DESCRIPTION COMMANDS CONFIGURATION ENVIRONMENT FILES "EXIT STATUS" SIGNALS EXAMPLES "SEE ALSO"; do
	grep -qx "\.SH \"\?$section\"\?" "$ROOT/docs/steer.8" || fail "steer(8) has no $section section"
done
for key in $(grep -o '^    {"[a-z_]*"\|^    [A-Z]*_KEY("[a-z_]*"' "$ROOT/agent/config/config_keys.c" | grep -o '"[a-z_]*"' | tr -d '"'); do
	grep -q "^\.BR $key " "$ROOT/docs/steer.8" || fail "steer(8) does not describe config key '$key'"
done
log "checked the sections and config keys of steer(8)"

echo "--- steer(8) renders without warnings"
if have man "man -l --warnings"; then
	out=$(MANWIDTH=80 man --warnings -l "$MANPAGE" 2>&1 >"$TMP/man.txt")
	check_eq "man --warnings -l steer.8 (stderr)" "" "$out"
	check_eq "rendered page starts with" "STEER(8)" "$(awk 'NF {print $1; exit}' "$TMP/man.txt")"
	check_eq "man -M finds the installed page" "$MANPAGE" \
		"$(man -M "$DEST/usr/share/man" -w 8 steer 2>&1)"
fi
if have groff "groff -man -ww -z"; then
	check_eq "groff -man -ww -z steer.8" "" "$(groff -man -ww -z "$MANPAGE" 2>&1)"
fi

echo "--- systemd-analyze verify accepts the unit"
if have systemd-analyze "systemd-analyze verify"; then
	# verify wants ExecStart's binary and the man: page of Documentation= to
	# exist: check the installed unit with ExecStart pointing into DESTDIR
	# (the only difference) and man looking in DESTDIR.
	mkdir -p "$TMP/verify"
	sed "s|^ExecStart=/usr/sbin/steer |ExecStart=$DEST/usr/sbin/steer |" "$UNIT" >"$TMP/verify/steer.service"
	check_eq "lines changed for verify" "1" \
		"$(diff "$UNIT" "$TMP/verify/steer.service" | grep -c '^>')"
	out=$(MANPATH=$DEST/usr/share/man systemd-analyze verify "$TMP/verify/steer.service" 2>&1)
	rc=$?
	check_eq "systemd-analyze verify (exit status, output)" "0:" "$rc:$out"
	# And verify does complain about a bad key, so silence means something.
	printf '[Service]\nProtectSytem=strict\n' >>"$TMP/verify/steer.service"
	out=$(MANPATH=$DEST/usr/share/man systemd-analyze verify "$TMP/verify/steer.service" 2>&1)
	grep -q "Unknown key 'ProtectSytem'" <<<"$out" && log "ok: verify reports a misspelt key" ||
		fail "verify did not report a misspelt key: $out"
fi

if [ "$FAILED" -eq 0 ] && [ ${#SKIPPED[@]} -gt 0 ]; then
	printf '    SKIP: %s\n' "$(IFS=';'; echo "${SKIPPED[*]}")"
	exit 77
fi
finish
