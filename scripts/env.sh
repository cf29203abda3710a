# Sourced by the scripts: one persistent cargo target dir shared by builds, tests and CI.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pot/target}"
export POT_NODE_BIN="${POT_NODE_BIN:-$CARGO_TARGET_DIR/debug/pot-node}"
# On a busy 2-core machine, spinning OpenMP/rayon threads starve the other processes.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
