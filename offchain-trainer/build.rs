//! Embeds an rpath to the libtorch that tch linked against, so `pot-trainer` runs without
//! `LD_LIBRARY_PATH`. torch-sys publishes that directory as `DEP_TCH_LIBTORCH_LIB` (its
//! `links = "tch"` key); the CUDA runtime wheels (`nvidia/cu13/lib`, needed by
//! `libtorch_cpu.so`) are found through libtorch's own `$ORIGIN`-relative rpath.

fn main() {
	println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
	match std::env::var("DEP_TCH_LIBTORCH_LIB") {
		Ok(dir) => println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}"),
		Err(_) => println!(
			"cargo:warning=DEP_TCH_LIBTORCH_LIB is unset: pot-trainer gets no rpath and needs LD_LIBRARY_PATH"
		),
	}
}
