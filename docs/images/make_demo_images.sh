#!/usr/bin/env bash
# Regenerate the demos' example pictures in docs/images/ (demo_*): run the demos with their
# defaults, then copy a few of the files they write. Run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/../.."

python -m demos.digits --out out/digits
python -m demos.backprop_three --out out/backprop_three
python -m demos.moons --out out/moons
python -m demos.graph --out out/graph
python -m demos.microgpt --out out/microgpt
python -m demos.mnist --out out/mnist

cp out/digits/training.png docs/images/demo_digits_training.png
cp out/digits/mistakes.png docs/images/demo_digits_mistakes.png
cp out/digits/network_3.svg docs/images/demo_digits_network_3.svg
cp out/backprop_three/step2.svg docs/images/demo_backprop_three_step2.svg
cp out/moons/decision_boundary.png docs/images/demo_moons_decision_boundary.png
cp out/graph/backward/step_03.svg docs/images/demo_graph_backward_step_03.svg
cp out/microgpt/attention.png docs/images/demo_microgpt_attention.png
cp out/mnist/network_3.svg docs/images/demo_mnist_network_3.svg
cp out/mnist/mistakes.png docs/images/demo_mnist_mistakes.png
cp out/digits/weights_layer0.svg docs/images/demo_digits_weights_layer0.svg
cp out/digits/why_*_not_*.svg docs/images/demo_digits_why.svg
cp out/mnist/weights_layer0.svg docs/images/demo_mnist_weights_layer0.svg
chmod 644 docs/images/demo_*
ls -l docs/images/demo_*
