# Sourced by the scripts: one persistent cargo target dir shared by builds, tests and CI.
# POT_TORCH_CUDA=1 selects the CUDA libtorch (scripts/setup.sh installs it) and a target dir of
# its own, so switching never rebuilds the other's artifacts.
if [ "${POT_TORCH_CUDA:-0}" = 1 ]; then
	export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pot/target-cuda}"
	export POT_TORCH_VENV="${POT_TORCH_VENV:-$HOME/.cache/pot/torch-venv-cuda}"
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pot/target}"
export POT_NODE_BIN="${POT_NODE_BIN:-$CARGO_TARGET_DIR/debug/pot-node}"
# On a busy 2-core machine, spinning OpenMP/rayon threads starve the other processes.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
# libtorch for tch (pot-trainer), installed by scripts/setup.sh from the PyPI torch wheel.
export POT_TORCH_VENV="${POT_TORCH_VENV:-$HOME/.cache/pot/torch-venv}"
if [ -z "${LIBTORCH:-}" ]; then
	for pot_torch_dir in "$POT_TORCH_VENV"/lib/python3*/site-packages/torch; do
		[ -f "$pot_torch_dir/lib/libtorch_cpu.so" ] && export LIBTORCH="$pot_torch_dir"
	done
	unset pot_torch_dir
fi
