//! The compute profile: the settings under which re-execution is bitwise exact.
//!
//! `cpu-avx2-strict` (the only profile so far): libtorch on CPU with
//! - `MKL_CBWR=AVX2,STRICT`: MKL's conditional numerical reproducibility, AVX2 code path;
//!   makes results independent of the number of threads for the MLP (FACTS.md);
//! - `ATEN_CPU_CAPABILITY=avx2`: ATen's vectorised kernels use the AVX2 variants even on
//!   AVX-512 machines (the capability changes results, even initial weights drawn by torch);
//! - `ONEDNN_MAX_CPU_ISA=AVX2`: the same for oneDNN (convolutions);
//! - `OMP_WAIT_POLICY=PASSIVE` (speed only: no busy-waiting OpenMP threads on busy machines);
//! - a fixed number of intra-op threads (recorded in every proof manifest).
//!
//! The variables must be in the environment before libtorch reads them, and libtorch is
//! loaded with the process, so the binary re-executes itself once with the profile set
//! ([`reexec_with_profile`]) instead of trusting `set_var` after start-up.

use serde::{Deserialize, Serialize};

/// The profile's name, recorded in manifests.
pub const CPU_PROFILE: &str = "cpu-avx2-strict";

/// Environment of the CPU profile.
pub const CPU_PROFILE_ENV: [(&str, &str); 4] = [
	("MKL_CBWR", "AVX2,STRICT"),
	("ATEN_CPU_CAPABILITY", "avx2"),
	("ONEDNN_MAX_CPU_ISA", "AVX2"),
	("OMP_WAIT_POLICY", "PASSIVE"),
];

/// The libtorch version `tch` 0.26 is built against.
pub const TORCH_VERSION: &str = "2.13.0";

/// What a proof records about where it was computed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComputeProfile {
	/// Profile name ([`CPU_PROFILE`]).
	pub name: String,
	/// libtorch version.
	pub torch: String,
	/// Intra-op threads.
	pub threads: u32,
}

impl ComputeProfile {
	/// The CPU profile with `threads` threads.
	pub fn cpu(threads: u32) -> Self {
		Self { name: CPU_PROFILE.into(), torch: TORCH_VERSION.into(), threads }
	}
}

impl ComputeProfile {
	/// Whatever the environment says (`--inherit-env`, for measuring distances between
	/// profiles): the name lists the profile variables' values, so no bitwise verifier takes it
	/// for [`CPU_PROFILE`].
	pub fn inherited(threads: u32) -> Self {
		let values: Vec<String> = CPU_PROFILE_ENV
			.iter()
			.map(|(k, _)| format!("{k}={}", std::env::var(k).unwrap_or_else(|_| "unset".into())))
			.collect();
		Self {
			name: format!("inherited({})", values.join(" ")),
			torch: TORCH_VERSION.into(),
			threads,
		}
	}
}

/// Whether the process environment already has every variable of the CPU profile.
pub fn env_is_set() -> bool {
	CPU_PROFILE_ENV.iter().all(|(k, v)| std::env::var(k).map(|got| got == *v).unwrap_or(false))
}

/// In the binary, before touching torch, when [`env_is_set`] is false: replaces the process with
/// a fresh copy of itself that has the profile's variables set, so libtorch starts under the
/// profile. Returns only if that fails.
pub fn reexec_with_profile() -> std::io::Error {
	use std::os::unix::process::CommandExt;
	let mut args = std::env::args_os();
	let exe = std::env::current_exe();
	let _argv0 = args.next();
	match exe {
		Ok(exe) => std::process::Command::new(exe).args(args).envs(CPU_PROFILE_ENV).exec(),
		Err(e) => e,
	}
}

/// Sets the profile's variables in this process (for tests, which cannot re-execute; the
/// test harness already loaded libtorch, so this is best effort) and the thread count.
pub fn apply_in_process(threads: u32) {
	for (key, value) in CPU_PROFILE_ENV {
		if std::env::var(key).map(|got| got != value).unwrap_or(true) {
			std::env::set_var(key, value);
		}
	}
	tch::set_num_threads(i32::try_from(threads).unwrap_or(1));
}
