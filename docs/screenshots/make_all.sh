#!/usr/bin/env bash
# Regenerate every screenshot in docs/screenshots from the real window (`make screenshots`).
# Each shot runs docs/screenshots/window_state.py in a virtual X screen under the screenshot tool
# (SCREENSHOT, by default the team's ../shared/tools/screenshot.sh: Xvfb + ImageMagick's import).
# The templates are copied to a scratch folder first, so the runs the shots train stay out of the repo.
set -euo pipefail
cd "$(dirname "$0")/../.."
shot=${SCREENSHOT:-../shared/tools/screenshot.sh}
py=${PYTHON:-.venv/bin/python}
out=docs/screenshots
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp resources/templates/*.json "$work/"
export NETCANVAS_SETTINGS_DIR="$work/settings"  # no recent files or tour state of the user's own

take() {  # SIZE NAME SECONDS PROJECT WORKSPACE [window_state options]
  local size=$1 name=$2 wait=$3 project=$4; shift 4
  [ "$project" = - ] || project="$work/$project.json"
  SCREEN=$size "$shot" "$out/$name-$size.png" "$wait" "$py" docs/screenshots/window_state.py "$project" "$@"
}

for size in 1366x768 1920x1080; do
  take "$size" design 10 residual_cnn_digits Design
  take "$size" data 12 residual_cnn_digits Data
  take "$size" train 40 residual_cnn_digits Train --train 3
  take "$size" evaluate 45 residual_cnn_digits Evaluate --train 2
  take "$size" experiments 12 residual_cnn_digits Experiments
  take "$size" start 10 - Start
done
take 1920x1080 block 10 residual_cnn_digits Design --network ResidualBlock
take 1920x1080 gan-run 60 dcgan_digits Train --train 4
take 1920x1080 vae-run 50 conv_vae_digits Train --train 4
