//! The compute profile: the settings under which re-execution is bitwise exact.
//!
//! `cpu-avx2-strict` (the profile of orders on chain): libtorch on CPU with
//! - `MKL_CBWR=AVX2,STRICT`: MKL's conditional numerical reproducibility, AVX2 code path;
//!   makes results independent of the number of threads for the MLP (FACTS.md);
//! - `ATEN_CPU_CAPABILITY=avx2`: ATen's vectorised kernels use the AVX2 variants even on
//!   AVX-512 machines (the capability changes results, even initial weights drawn by torch);
//! - `ONEDNN_MAX_CPU_ISA=AVX2`: the same for oneDNN (convolutions);
//! - `OMP_WAIT_POLICY=PASSIVE` (speed only: no busy-waiting OpenMP threads on busy machines);
//! - a fixed number of intra-op threads (recorded in every proof manifest).
//!
//! `cuda-strict`: libtorch on one NVIDIA GPU (`--device cuda[:N]`, a build with the `cuda`
//! feature) with cuDNN off (its convolution algorithms are chosen per machine and some are
//! non-deterministic), cuDNN's autotuner off, and `CUBLAS_WORKSPACE_CONFIG=:4096:8` (cuBLAS's
//! reproducible reduction workspaces). Its determinism and its distance to `cpu-avx2-strict`
//! have not been measured yet (no GPU machine so far), so no on-chain tolerance class admits it.
//!
//! The variables must be in the environment before libtorch reads them, and libtorch is
//! loaded with the process, so the binary re-executes itself once with the profile set
//! ([`reexec_with_profile`]) instead of trusting `set_var` after start-up.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use tch::Device;

/// The profile's name, recorded in manifests.
pub const CPU_PROFILE: &str = "cpu-avx2-strict";

/// Environment of the CPU profile.
pub const CPU_PROFILE_ENV: [(&str, &str); 4] = [
	("MKL_CBWR", "AVX2,STRICT"),
	("ATEN_CPU_CAPABILITY", "avx2"),
	("ONEDNN_MAX_CPU_ISA", "AVX2"),
	("OMP_WAIT_POLICY", "PASSIVE"),
];

/// The CUDA profile's name, recorded in manifests of work trained on a GPU.
pub const CUDA_PROFILE: &str = "cuda-strict";

/// Environment of the CUDA profile; set with the CPU profile's in every run (it changes nothing
/// on CPU), because CUDA reads it when it starts.
pub const CUDA_PROFILE_ENV: [(&str, &str); 1] = [("CUBLAS_WORKSPACE_CONFIG", ":4096:8")];

/// Every variable a run sets before libtorch starts.
fn profile_env() -> impl Iterator<Item = (&'static str, &'static str)> {
	CPU_PROFILE_ENV.into_iter().chain(CUDA_PROFILE_ENV)
}

/// The libtorch version `tch` 0.26 is built against.
pub const TORCH_VERSION: &str = "2.13.0";

/// What a proof records about where it was computed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComputeProfile {
	/// Profile name ([`CPU_PROFILE`] or [`CUDA_PROFILE`]).
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

	/// The CUDA profile; `threads` are the host's intra-op threads.
	pub fn cuda(threads: u32) -> Self {
		Self { name: CUDA_PROFILE.into(), torch: TORCH_VERSION.into(), threads }
	}

	/// The profile of work computed on `device`.
	pub fn on(device: Device, threads: u32) -> Self {
		if device.is_cuda() {
			Self::cuda(threads)
		} else {
			Self::cpu(threads)
		}
	}
}

impl ComputeProfile {
	/// Whatever the environment says (`--inherit-env`, for measuring distances between
	/// profiles): the name lists the profile variables' values, so no bitwise verifier takes it
	/// for [`CPU_PROFILE`].
	pub fn inherited(threads: u32) -> Self {
		let values: Vec<String> = profile_env()
			.map(|(k, _)| format!("{k}={}", std::env::var(k).unwrap_or_else(|_| "unset".into())))
			.collect();
		Self {
			name: format!("inherited({})", values.join(" ")),
			torch: TORCH_VERSION.into(),
			threads,
		}
	}
}

/// Whether the process environment already has every variable of the profiles.
pub fn env_is_set() -> bool {
	profile_env().all(|(k, v)| std::env::var(k).map(|got| got == *v).unwrap_or(false))
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
		Ok(exe) => std::process::Command::new(exe).args(args).envs(profile_env()).exec(),
		Err(e) => e,
	}
}

/// Sets the profile's variables in this process (for tests, which cannot re-execute; the
/// test harness already loaded libtorch, so this is best effort) and the thread count.
pub fn apply_in_process(threads: u32) {
	for (key, value) in profile_env() {
		if std::env::var(key).map(|got| got != value).unwrap_or(true) {
			std::env::set_var(key, value);
		}
	}
	tch::set_num_threads(i32::try_from(threads).unwrap_or(1));
}

/// Reads a `--device` value: `cpu`, `cuda` (the first GPU) or `cuda:N`.
pub fn parse_device(text: &str) -> std::result::Result<Device, String> {
	match text {
		"cpu" => Ok(Device::Cpu),
		"cuda" => Ok(Device::Cuda(0)),
		_ => text
			.strip_prefix("cuda:")
			.and_then(|index| index.parse::<usize>().ok())
			.map(Device::Cuda)
			.ok_or_else(|| format!("{text:?} is not a device: use cpu, cuda or cuda:N")),
	}
}

/// Checks that `device` can run work here and puts libtorch under its profile's settings.
/// Asking for a GPU fails with the reason when this binary's libtorch has no CUDA linked in,
/// when no GPU is visible, or when there is no GPU of that index.
pub fn prepare_device(device: Device) -> Result<Device> {
	let Device::Cuda(index) = device else {
		return match device {
			Device::Cpu => Ok(device),
			other => Err(Error::Device(format!("{other:?} is not supported: use cpu or cuda"))),
		};
	};
	if !tch::utils::has_cudart() {
		return Err(Error::Device(
			"this pot-trainer was built without CUDA: run `POT_TORCH_CUDA=1 bash scripts/setup.sh`, \
			 then build it with `--features cuda` (offchain-trainer/README.md, \"CUDA\")"
				.into(),
		));
	}
	let visible = usize::try_from(tch::Cuda::device_count()).unwrap_or(0);
	if visible == 0 {
		return Err(Error::Device("no CUDA GPU is visible (driver or device missing)".into()));
	}
	if index >= visible {
		return Err(Error::Device(format!("there is no cuda:{index}: {visible} GPU(s) visible")));
	}
	tch::Cuda::cudnn_set_benchmark(false);
	tch::Cuda::set_user_enabled_cudnn(false);
	Ok(device)
}

#[cfg(test)]
mod tests {
	#![allow(clippy::unwrap_used)]
	use super::*;

	#[test]
	fn devices_parse_and_name_their_profile() {
		assert_eq!(parse_device("cpu"), Ok(Device::Cpu));
		assert_eq!(parse_device("cuda"), Ok(Device::Cuda(0)));
		assert_eq!(parse_device("cuda:3"), Ok(Device::Cuda(3)));
		for bad in ["gpu", "cuda:", "cuda:-1", "cuda:x", "CPU", ""] {
			assert!(parse_device(bad).unwrap_err().contains("is not a device"), "{bad}");
		}
		assert_eq!(ComputeProfile::on(Device::Cpu, 2), ComputeProfile::cpu(2));
		assert_eq!(ComputeProfile::on(Device::Cuda(1), 2).name, CUDA_PROFILE);
	}

	#[test]
	fn a_gpu_that_cannot_run_here_is_refused_with_the_reason() {
		assert_eq!(prepare_device(Device::Cpu).unwrap(), Device::Cpu);
		let refused = prepare_device(Device::Cuda(0)).map_err(|e| e.to_string());
		if !tch::utils::has_cudart() {
			assert!(refused.unwrap_err().contains("built without CUDA"));
		} else if tch::Cuda::device_count() == 0 {
			assert!(refused.unwrap_err().contains("no CUDA GPU is visible"));
		} else {
			assert_eq!(refused, Ok(Device::Cuda(0)));
		}
		let beyond = usize::try_from(tch::Cuda::device_count()).unwrap_or(0);
		assert!(prepare_device(Device::Cuda(beyond)).is_err());
		assert!(prepare_device(Device::Mps).unwrap_err().to_string().contains("not supported"));
	}
}
