#!/usr/bin/env bash
# Load time and memory of a fleet map (docs/fleet.md) against a generated population of the
# same size: 13 rooms, about 2,200 consoles, 100,000 terminals, about 11,000 talkgroups.
# `rcload validate --quiet` reads and checks the profile and, for the fleet, its four files:
# 5 runs of each kind, alternating, give the median (min-max) wall time and peak RSS. One
# `validate` without --quiet per kind also builds the population and counts the schedule.
# Needs a release build first (`cargo build --release`); this script does not build.
# RCLOAD_BIN picks another binary (a path from the repository's root, or absolute).
# Prints the figures and exits 0; nothing is judged.
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C
bin=${RCLOAD_BIN:-target/release/rcload}
[ -x "$bin" ] || { echo "no $bin: run cargo build --release first" >&2; exit 2; }
bin=$(realpath "$bin")
runs=5
tmp=$(mktemp -d /tmp/rcload-bench-fleet.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

"$bin" fleet generate --rooms 13 --consoles 2200 --terminals 100000 --talkgroups 11000 \
  --out "$tmp/fleet" > /dev/null

profile() { # $1 = kind, $2 = the population's YAML (one flow mapping)
  cat > "$tmp/$1.yaml" <<EOF
name: bench-fleet-$1
duration: 10m
population: $2
setup: { over: 60s }
traffic:
  - action: status
    rate: 10/s
slo: { error_rate: 1% }
EOF
}
profile fleet '{ fleet: fleet/fleet.yaml }'
# 13 x 170 = 2,210 consoles; 13 x 846 = 10,998 talkgroups; 7 monitored = the fleet's 6 + 1 shared.
profile generated '{ control_rooms: 13, consoles_per_room: 170, terminals: 100000, talkgroups_per_room: 846, monitored_per_console: 7 }'

timed() { # $1 = kind, then validate's flags: appends "wall_s max_rss_kb" to $tmp/$1.times
  local kind=$1; shift
  /usr/bin/time -f '%e %M' -o "$tmp/time" "$bin" validate "$tmp/$kind.yaml" "$@" > "$tmp/$kind.out"
  tail -n 1 "$tmp/time" >> "$tmp/$kind.times"
}

for _ in $(seq "$runs"); do
  for kind in fleet generated; do timed "$kind" --quiet; done
done

stat() { # $1 = file, $2 = column, $3 = divisor: "median min max" of the column
  awk -v c="$2" -v d="$3" '{ print $c / d }' "$1" | sort -g |
    awk '{ v[NR] = $1 } END { printf "%.2f %.2f %.2f\n", v[int((NR + 1) / 2)], v[1], v[NR] }'
}

declare -A wall rss # the medians, by kind
echo "rcload validate --quiet (load and check), $runs runs each: median (min-max)"
printf '%-10s  %-22s  %s\n' population 'wall s' 'max RSS MB'
for kind in fleet generated; do
  read -r w wl wh < <(stat "$tmp/$kind.times" 1 1)
  read -r m ml mh < <(stat "$tmp/$kind.times" 2 1024)
  printf '%-10s  %-22s  %s\n' "$kind" "$w ($wl-$wh)" "$m ($ml-$mh)"
  wall[$kind]=$w rss[$kind]=$m
done
minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.2f", a - b }'; }
printf '%-10s  %-22s  %s\n' difference "$(minus "${wall[fleet]}" "${wall[generated]}")" \
  "$(minus "${rss[fleet]}" "${rss[generated]}")"
echo "(difference: fleet minus generated, of the medians)"

echo
echo "rcload validate (also builds the population and counts the schedule), 1 run each"
for kind in fleet generated; do
  : > "$tmp/$kind.times"
  timed "$kind"
  read -r w m < "$tmp/$kind.times"
  printf '%-10s  %6.2f s  %8.1f MB  %s\n' "$kind" "$w" "$(awk -v k="$m" 'BEGIN { print k / 1024 }')" \
    "$(sed -n 's/^population: \([^(]*\) (.*/\1/p' "$tmp/$kind.out")"
done
