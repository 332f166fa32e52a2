#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Draws DIR/chart.png from DIR/table.csv, the table bench/run.sh writes:
#   left:  every workload with a native figure, as speed relative to native
#          (log scale, bars grow from 1 = as fast as native, higher is
#          better) for venus-server and virglrenderer, the goal marked;
#   right: what one idle client costs each server (wakeups/s, % of a core).
# Cells without a figure are marked "fails" or "n/a". Run it again on a
# table fetched from another machine (e.g. a GPU host without gnuplot).
#
# Usage: bench/chart.sh DIR    (installs gnuplot-nox with apt-get if missing)
set -euo pipefail

dir=$(cd "${1:?usage: $0 DIR}" && pwd)
csv=$dir/table.csv
[ -f "$csv" ] || { echo "chart: no $csv" >&2; exit 1; }

if ! command -v gnuplot >/dev/null; then
  echo "chart: installing gnuplot-nox" >&2
  as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox >/dev/null \
    || { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox >/dev/null; } \
    || { echo "chart: gnuplot is missing and apt-get cannot install gnuplot-nox" >&2; exit 1; }
fi

# table.csv columns (see bench/run.sh): 3 what, 5 better, 6 goal,
# 7 native median, 11/14 ours median/note, 15/18 peer median/note.
# rel.dat: "what" ours peer goal ours-mark peer-mark, relative to native.
awk -F, '
  function rel(v, better) {
    if (v == "-" || v + 0 == 0) return "NaN"
    return better == "lower" ? nat / v : v / nat
  }
  function mark(note) { return note == "" ? "-" : substr(note, 1, index(note, ":") - 1) }
  NR > 1 && $7 != "-" {
    nat = $7
    g = "NaN"
    if ($6 ~ /x$/) {
      n = $6; gsub(/[<>=x]/, "", n)
      g = $5 == "lower" ? 1 / n : n
    }
    printf "\"%s\" %s %s %s %s %s\n", $3, rel($11, $5), rel($15, $5), g, mark($14), mark($18)
  }' "$csv" >"$dir/rel.dat"
# idle.dat: "what" ours peer goal ours-mark peer-mark, absolute.
awk -F, '
  function val(v) { return v == "-" ? "NaN" : v }
  function mark(note) { return note == "" ? "-" : substr(note, 1, index(note, ":") - 1) }
  NR > 1 && ($1 == "idle_wakeups_per_s" || $1 == "idle_cpu_pct") {
    g = $6; gsub(/[<>=]/, "", g)
    printf "\"%s\" %s %s %s %s %s\n", $1 == "idle_cpu_pct" ? "CPU, % of a core" : "wakeups/s",
      val($11), val($15), g, mark($14), mark($18)
  }' "$csv" >"$dir/idle.dat"
# Under the title, run.sh's first two header lines (date, machine, host
# driver), joined by gnuplot's "\n".
subtitle=$(head -n 2 "$dir/header.txt" 2>/dev/null | awk 'NR > 1 {printf "\\n"} {printf "%s", $0}')

gnuplot <<EOF
set terminal pngcairo size 1600,800 font "sans,10" noenhanced
set output "$dir/chart.png"
set multiplot title "venus-server vs virglrenderer 1.1 vs native\n$subtitle"
set style fill solid 0.85 border -1
set grid ytics
set key top left
set logscale y
set xtics rotate by -35 left
set bmargin 14

# Left: speed relative to native.
set origin 0, 0
set size 0.78, 0.95
set ylabel "speed relative to native (native = 1, higher is better)"
set xrange [-0.6:*]
set yrange [*:*]
mark(s) = s eq "-" ? "" : s
plot "$dir/rel.dat" using (\$0 - 0.2):2:(\$0 - 0.38):(\$0 - 0.02):(1):2:xtic(1) \
       with boxxyerror lc rgb "#1f77b4" title "venus-server", \
     "" using (\$0 + 0.2):3:(\$0 + 0.02):(\$0 + 0.38):(1):3 \
       with boxxyerror lc rgb "#ff7f0e" title "virglrenderer 1.1", \
     "" using (\$0 - 0.2):4:(\$0 - 0.4):(\$0):(\$4 * 0.95):(\$4 * 1.05) \
       with boxxyerror lc rgb "black" title "goal (venus-server)", \
     "" using (\$0 - 0.2):(1):(mark(stringcolumn(5))) with labels rotate by 90 left offset 0,0.5 notitle, \
     "" using (\$0 + 0.2):(1):(mark(stringcolumn(6))) with labels rotate by 90 left offset 0,0.5 notitle, \
     1 with lines lc rgb "gray40" dt 2 notitle

# Right: the idle client's cost, absolute (lower is better).
set origin 0.78, 0
set size 0.22, 0.95
set ylabel "idle client: cost to the server (lower is better)"
set xrange [-0.6:1.6]
set yrange [0.01:*]
set key top right
# A zero (below what the sampling resolves) still gets a stub of a bar.
top(v) = v > 0.012 ? v : 0.012
plot "$dir/idle.dat" using (\$0 - 0.2):(top(\$2)):(\$0 - 0.38):(\$0 - 0.02):(0.01):(top(\$2)):xtic(1) \
       with boxxyerror lc rgb "#1f77b4" title "venus-server", \
     "" using (\$0 + 0.2):(top(\$3)):(\$0 + 0.02):(\$0 + 0.38):(0.01):(top(\$3)) \
       with boxxyerror lc rgb "#ff7f0e" title "virglrenderer 1.1", \
     "" using (\$0 - 0.2):4:(\$0 - 0.4):(\$0):(\$4 * 0.95):(\$4 * 1.05) \
       with boxxyerror lc rgb "black" title "goal", \
     "" using (\$0 - 0.2):(top(\$2)):(sprintf("%.2f", \$2)) with labels offset 0,0.8 notitle, \
     "" using (\$0 + 0.2):(top(\$3)):(sprintf("%.2f", \$3)) with labels offset 0,0.8 notitle, \
     "" using (\$0 - 0.2):(0.02):(mark(stringcolumn(5))) with labels rotate by 90 left notitle, \
     "" using (\$0 + 0.2):(0.02):(mark(stringcolumn(6))) with labels rotate by 90 left notitle
unset multiplot
EOF
