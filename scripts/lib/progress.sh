# Phase reporting for scripts/demo.sh and scripts/test.sh (sourced): one line
# per phase with what it does and how long it usually takes, a compact build
# progress, and the time each phase took at the end. On a terminal the build
# counter redraws one line; with CI=true, or when the output is not a
# terminal, every line is plain (no carriage returns, no colours).

progress_started=$(date +%s)
progress_phases=()
progress_phase_name=""
progress_phase_start=0

if [ "${CI:-}" != "true" ] && [ -t 1 ]; then
  progress_live=1
  progress_bold=$'\033[1m'
  progress_reset=$'\033[0m'
else
  progress_live=0
  progress_bold=""
  progress_reset=""
fi

progress_elapsed() {  # seconds -> "1 min 05 s" or "7 s"
  local s=$1
  if [ "$s" -ge 60 ]; then printf '%d min %02d s' $((s / 60)) $((s % 60)); else printf '%d s' "$s"; fi
}

progress_close_phase() {
  [ -n "$progress_phase_name" ] || return 0
  local took=$(($(date +%s) - progress_phase_start))
  progress_phases+=("$(printf '  %-48s %s' "$progress_phase_name" "$(progress_elapsed "$took")")")
  progress_phase_name=""
}

# phase NAME [HINT]: starts a phase; HINT says how long it usually takes.
phase() {
  progress_close_phase
  progress_phase_name=$1
  progress_phase_start=$(date +%s)
  printf '%s==> %s%s%s\n' "$progress_bold" "$1" "${2:+ ($2)}" "$progress_reset"
}

# phase_summary [TITLE]: the time of every phase and the total.
phase_summary() {
  progress_close_phase
  printf '%s==> %s%s\n' "$progress_bold" "${1:-done}" "$progress_reset"
  printf '%s\n' "${progress_phases[@]}"
  printf '  %-48s %s\n' "total" "$(progress_elapsed $(($(date +%s) - progress_started)))"
}

# install_and_configure: the two phases before every build, each skipped in
# seconds when done (setup.sh finds every package; the build tree exists and
# cmake reruns itself when needed).
install_and_configure() {
  phase "checking the Debian packages" "seconds; 3-10 minutes when it installs them"
  bash scripts/setup.sh
  if [ -f build/default/build.ninja ]; then
    phase "configuring" "already configured: cmake reruns itself if needed"
  else
    phase "configuring (cmake --preset default)" "about 10 s"
    cmake --preset default >/dev/null
  fi
}

# build_with_progress ARGS...: `cmake --build ARGS` with ninja's "[n/m] ..."
# lines turned into a counter ("building: 120/242 (49%)"): redrawn in place on
# a terminal, a line per 10% otherwise. Everything else ninja or the compiler
# prints (warnings, errors) passes through whole. Fails as the build fails.
build_with_progress() {
  # No status line read means the build's shell died: a failure.
  local status=1 line done total pct last_pct=-10 drawn=0
  while IFS= read -r line; do
    if [[ $line =~ ^__build_status=([0-9]+)$ ]]; then
      status=${BASH_REMATCH[1]}
    elif [[ $line =~ ^\[([0-9]+)/([0-9]+)\]\  ]]; then
      done=${BASH_REMATCH[1]}
      total=${BASH_REMATCH[2]}
      pct=$((done * 100 / total))
      # ninja's "[0/N] Re-checking globbed directories..." is not a build step.
      if [ "$done" = 0 ]; then
        continue
      elif [ "$progress_live" = 1 ]; then
        printf '\r    building: %d/%d (%d%%)' "$done" "$total" "$pct"
        drawn=1
      elif [ $((pct - last_pct)) -ge 10 ] || [ "$done" = "$total" ]; then
        printf '    building: %d/%d (%d%%)\n' "$done" "$total" "$pct"
        last_pct=$pct
      fi
    elif [ "$line" = "ninja: no work to do." ]; then
      echo "    up to date"
    else
      [ "$drawn" = 1 ] && printf '\n' && drawn=0
      printf '%s\n' "$line"
    fi
  # `|| rc=$?`: the subshell inherits the caller's errexit, which would end it
  # on a failed build before it reports the status (and the caller would go
  # on as if the build had passed).
  done < <(rc=0; cmake --build "$@" 2>&1 || rc=$?; echo "__build_status=$rc")
  [ "$drawn" = 1 ] && printf '\n'
  return "$status"
}
