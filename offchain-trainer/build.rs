//! Embeds an rpath to the libtorch that tch linked against, so `pot-trainer` runs without
//! `LD_LIBRARY_PATH`. torch-sys publishes that directory as `DEP_TCH_LIBTORCH_LIB` (its
//! `links = "tch"` key); the CUDA runtime wheels (`nvidia/cu13/lib`, needed by
//! `libtorch_cpu.so`) are found through libtorch's own `$ORIGIN`-relative rpath.
//!
//! With the `cuda` feature it also links `libtorch_cuda.so`. Nothing in the binary calls into
//! it directly (its kernels register themselves when it loads), so the linker's `--as-needed`
//! would drop it and every GPU would look absent.

use std::path::Path;

fn main() {
	println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
	println!("cargo:rerun-if-env-changed=CARGO_FEATURE_CUDA");
	let dir = std::env::var("DEP_TCH_LIBTORCH_LIB").ok();
	match &dir {
		Some(dir) => println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}"),
		None => println!(
			"cargo:warning=DEP_TCH_LIBTORCH_LIB is unset: pot-trainer gets no rpath and needs LD_LIBRARY_PATH"
		),
	}
	if std::env::var_os("CARGO_FEATURE_CUDA").is_some() {
		let cuda = dir.as_deref().map(|d| Path::new(d).join("libtorch_cuda.so"));
		if !cuda.as_deref().is_some_and(Path::is_file) {
			eprintln!(
				"the `cuda` feature needs libtorch_cuda.so beside libtorch_cpu.so (in {dir:?}): \
				 install the CUDA stack with `POT_TORCH_CUDA=1 bash scripts/setup.sh`"
			);
			std::process::exit(1);
		}
		// torch-sys already names `-ltorch_cuda`, under `--as-needed`, and the linker keeps that
		// first mention whatever flags a later one has; an undefined reference to one of its
		// symbols (`at::cuda::getDeviceProperties(int8_t)`) makes it needed instead.
		println!("cargo:rustc-link-arg=-Wl,--undefined=_ZN2at4cuda19getDevicePropertiesEa");
	}
}
