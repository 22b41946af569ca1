#!/usr/bin/env bash
# Regenerate every screenshot in docs/screenshots from the real window (`make screenshots`).
# Each shot runs docs/screenshots/window_state.py on a virtual X screen of the shot's size (xvfb-run);
# the script captures the screen itself once the window is ready (panels built, the run finished), so
# a busy machine gives a later shot, never a half-drawn one. Xvfb and the X libraries Qt's xcb plugin
# loads come with the team's ../shared/tools/screenshot.sh (it installs them on first use).
# The templates are copied to a scratch folder first, so the runs the shots train stay out of the repo.
# usage: make_all.sh [NAME...]   (names such as train or start: retake only those; none: every shot)
set -euo pipefail
cd "$(dirname "$0")/../.."
py=${PYTHON:-.venv/bin/python}
out=docs/screenshots
if ! command -v xvfb-run >/dev/null; then
  echo "make_all.sh: xvfb-run is missing: install Debian's xvfb (../shared/tools/screenshot.sh does it on first use)" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp resources/templates/*.json "$work/"
export NETCANVAS_SETTINGS_DIR="$work/settings"  # no recent files or tour state of the user's own
export QT_QPA_PLATFORM=xcb

only=" $* "
take() {  # SIZE NAME PROJECT WORKSPACE [window_state options]
  local size=$1 name=$2 project=$3; shift 3
  [ "$only" = "  " ] || [[ "$only" == *" $name "* ]] || return 0
  [ "$project" = - ] || project="$work/$project.json"
  rm -rf "$NETCANVAS_SETTINGS_DIR"  # each shot a first start at its size: the workspace's default layout
  timeout 600 xvfb-run -a -s "-screen 0 ${size}x24 -nolisten tcp" \
    "$py" docs/screenshots/window_state.py "$project" "$@" --out "$out/$name-$size.png" \
    || echo "make_all.sh: $name-$size.png was taken before the window was ready (or not at all): look at it" >&2
}

for size in 1366x768 1920x1080; do
  take "$size" design residual_cnn_digits Design
  take "$size" data residual_cnn_digits Data
  take "$size" train residual_cnn_digits Train --train 3
  take "$size" evaluate residual_cnn_digits Evaluate --train 2
  take "$size" experiments residual_cnn_digits Experiments --study 4
  take "$size" start - Start
done
take 1920x1080 block residual_cnn_digits Design --network ResidualBlock
take 1920x1080 gan-run dcgan_digits Train --train 4
take 1920x1080 vae-run conv_vae_digits Train --train 4
