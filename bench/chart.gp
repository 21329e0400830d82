# docs/benchmark.png from the files the bench scripts write:
#   benchmark-crr.dat       "target p50_us p90_us p99_us conns_per_s" (throughput.sh)
#   benchmark-failover.dat  "target kill_ms", one line per kill (failover.sh);
#                           without it, only the first panel is drawn.
# Usage: gnuplot -e "dir='docs'" bench/chart.gp   (dir defaults to docs)

if (!exists("dir")) dir = "docs"
crr = dir . "/benchmark-crr.dat"
fo = dir . "/benchmark-failover.dat"
have_fo = system("[ -s '" . fo . "' ] && echo 1 || echo 0") + 0

width = have_fo ? 1400 : 760
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	set terminal pngcairo size width, 560 font "Sans,11" noenhanced
} else {
	set terminal png size width, 560 noenhanced
}
set output dir . "/benchmark.png"
if (have_fo) { set multiplot layout 1, 2 }

# --- CRR latency percentiles per target -------------------------------------
set title "CRR latency at concurrency 16 (median of the rounds)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set ylabel "connect + request + reply (µs), lower is better"
set yrange [0:*]
set offsets 0, 0, graph 0.08, 0
set grid ytics
set key top left
set xtics nomirror
nrows = system("grep -vc '^#' '" . crr . "'") + 0
set xrange [-0.6 : nrows - 0.4]
# Clustered bars of 3 series with gap 1 sit at x-0.25, x, x+0.25.
plot crr using 2:xtic(1) title "p50" lc rgb "#4c72b0", \
     "" using 3 title "p90" lc rgb "#dd8452", \
     "" using 4 title "p99" lc rgb "#c44e52", \
     "" using ($0 - 0.25):2:(sprintf("%.0f", $2)) with labels offset 0, 0.6 font ",8" notitle, \
     "" using ($0):3:(sprintf("%.0f", $3)) with labels offset 0, 0.6 font ",8" notitle, \
     "" using ($0 + 0.25):4:(sprintf("%.0f", $4)) with labels offset 0, 0.6 font ",8" notitle

if (!have_fo) { exit }

# --- kill -9 to ejection, one point per kill -----------------------------------
reset
targets = system("awk '!/^#/ && NF >= 2 && !s[$1]++ {printf \"%s \", $1}' '" . fo . "'")
n = words(targets)
set title "kill -9 of a replica to ejection, one point per kill"
set logscale y
set ylabel "ms (log scale), lower is better"
set xrange [0.5 : n + 0.8]
set xtics nomirror ()
set grid ytics
set key off
floor_ms = 0.001
do for [i = 1 : n] {
	set xtics add (word(targets, i) i)
	med = system(sprintf("awk '$1 == \"%s\" {print $2}' '%s' | sort -g | awk '{x[NR] = $1} END {if (NR) print (NR %% 2 ? x[(NR + 1) / 2] : (x[NR / 2] + x[NR / 2 + 1]) / 2)}'", word(targets, i), fo)) + 0
	set label i sprintf(med >= 10 ? "median %.0f ms" : "median %.3g ms", med) at i + 0.18, (med > floor_ms ? med : floor_ms) left font ",10"
}
set samples 1000
plot for [i = 1 : n] fo using (i + 0.3 * (rand(0) - 0.5)):(strcol(1) eq word(targets, i) ? ($2 > floor_ms ? $2 : floor_ms) : NaN) \
     with points pt 7 ps 1.3 lc i
unset multiplot
