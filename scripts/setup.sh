#!/usr/bin/env bash
# Installs everything a fresh Debian machine lacks to build, run and test PoT.
# Idempotent: each step checks first and does nothing when its tool is already there.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
		echo "setup: need root (or sudo) to run: $*" >&2; exit 1
	fi
}

# C toolchain pieces the Substrate client needs: protoc (libp2p), clang/libclang (bindgen,
# and the linker driver), mold (links the large node binary quickly).
apt_packages=(protobuf-compiler clang libclang-dev mold pkg-config procps curl)
missing=()
for package in "${apt_packages[@]}"; do
	dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
	log "installing apt packages: ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Rust: the machine's toolchain plus the target the runtime's wasm build uses.
if ! command -v cargo >/dev/null; then
	echo "setup: cargo not found; install Rust with rustup (https://rustup.rs) first" >&2
	exit 1
fi
if ! rustup target list --installed | grep -qx wasm32v1-none; then
	log "adding rustup target wasm32v1-none"
	rustup target add wasm32v1-none
fi

# Zombienet (npm), pinned in zombienet/package-lock.json.
if [ -f "$repo/zombienet/package-lock.json" ]; then
	if ! command -v npm >/dev/null; then
		log "installing nodejs and npm"
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
	fi
	stamp="$repo/zombienet/node_modules/.package-lock.json"
	if [ ! -f "$stamp" ] || [ "$repo/zombienet/package-lock.json" -nt "$stamp" ]; then
		log "installing zombienet (npm ci)"
		# npm < 10 (Debian 12's) cannot apply the lockfile's `overrides`; use a newer npm then.
		npm_cmd=(npm)
		if [ "$(npm --version | cut -d. -f1)" -lt 10 ]; then npm_cmd=(npx -y npm@10.8.2); fi
		(cd "$repo/zombienet" && "${npm_cmd[@]}" ci --no-audit --no-fund --loglevel=error)
	fi
fi

# libtorch for pot-trainer (tch 0.26 needs PyTorch 2.13.0 exactly), from PyPI into a venv outside
# the work tree. PyPI's torch is the CUDA build; for CPU use we install it without its
# dependencies plus the only two CUDA runtime wheels libtorch_cpu.so loads (libcudart,
# libcupti), at the versions torch 2.13.0's `cuda-toolkit[cudart,cupti]==13.0.3` pins.
# About 540 MB download, 1.2 GB installed, instead of 2.6 GB and 4.7 GB for the full CUDA stack.
# `import torch` does not work in this venv (torch/__init__ loads libtorch_cuda.so, which needs
# cuDNN and friends); scripts/env.sh points tch at the wheel's libtorch with LIBTORCH instead.
# With POT_TORCH_CUDA=1 the full CUDA stack goes into its own venv instead (scripts/env.sh then
# points LIBTORCH and the target dir there), for `cargo build -p pot-trainer --features cuda`.
torch_version=2.13.0
if [ "${POT_TORCH_CUDA:-0}" = 1 ]; then
	torch_venv="${POT_TORCH_VENV:-$HOME/.cache/pot/torch-venv-cuda}"
	torch_pip=(install --quiet "torch==$torch_version")
	torch_what="with its CUDA stack"
else
	torch_venv="${POT_TORCH_VENV:-$HOME/.cache/pot/torch-venv}"
	torch_pip=(install --quiet --no-deps "torch==$torch_version" nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85)
	torch_what="CPU use, no CUDA stack"
fi
torch_stamp="$torch_venv/.pot-torch-${torch_version}"
if [ ! -f "$torch_stamp" ]; then
	log "installing torch $torch_version ($torch_what) into $torch_venv"
	command -v python3 >/dev/null || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
	[ -x "$torch_venv/bin/pip" ] || python3 -m venv "$torch_venv"
	"$torch_venv/bin/pip" "${torch_pip[@]}"
	installed=$(sed -n "s/^__version__ = '\([^+']*\).*/\1/p" "$torch_venv"/lib/python3*/site-packages/torch/version.py)
	if [ "$installed" != "$torch_version" ]; then
		echo "setup: expected torch $torch_version in $torch_venv, found '$installed'" >&2
		exit 1
	fi
	touch "$torch_stamp"
fi

log "ready"
