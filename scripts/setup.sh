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

log "ready"
