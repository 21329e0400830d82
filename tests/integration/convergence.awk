# How long each registry change took to reach one agent's maps.
#   TZ=UTC gawk -f convergence.awk CHANGES AGENT_LOG
# CHANGES: "REVISION REALTIME_NS ..." lines (bench-registry-load), sorted by
# revision. AGENT_LOG: the agent's JSON log. A change is applied at the
# first "registry revision R applied" line with R >= its revision.
# Prints "samples lost p50 p90 p99 max applies gap_p50": the delays in ms,
# changes never applied, the applies from the first change on and the
# median ms between two of them.
FNR == NR { rev[++n] = $1; t[n] = $2 / 1e6; next }
/registry revision [0-9]+ applied/ {
	match($0, /"ts":"[^"]*"/); ts = substr($0, RSTART + 6, RLENGTH - 7)
	split(ts, d, /[-T:.Z]/)
	ms = mktime(d[1] " " d[2] " " d[3] " " d[4] " " d[5] " " d[6]) * 1000 + d[7]
	match($0, /registry revision [0-9]+/); r = substr($0, RSTART + 18, RLENGTH - 18) + 0
	if (r < rev[1]) next
	ar[++m] = r; at[m] = ms
}
function pct(a, k, p) { return a[k < 1 ? 1 : int(k * p + 0.999999)] }
END {
	k = 1
	for (c = 1; c <= n; c++) {
		while (k <= m && ar[k] < rev[c]) k++
		if (k > m) { lost++; continue }
		dl[++nd] = at[k] - t[c]
	}
	for (j = 2; j <= m; j++) gap[j - 1] = at[j] - at[j - 1]
	asort(dl); asort(gap)
	printf "%d %d %.0f %.0f %.0f %.0f %d %.0f\n", nd, lost, pct(dl, nd, 0.5),
		pct(dl, nd, 0.9), pct(dl, nd, 0.99), dl[nd], m, (m > 1 ? pct(gap, m - 1, 0.5) : 0)
}
