//! Where checkpoints fall: a run of `steps` optimizer steps with checkpoint interval `k` keeps
//! checkpoints after steps `0, k, 2k, …` and always after the last step, so segment `i` runs
//! from checkpoint `i` to checkpoint `i + 1` and the last segment may be shorter than `k`.

/// Why a schedule is not well formed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ScheduleError {
	/// `steps` or `k` is zero.
	Zero,
	/// More checkpoints than fit a `u32`.
	TooLong,
}

/// Number of segments (`ceil(steps / k)`).
pub fn segment_count(steps: u64, k: u64) -> Result<u32, ScheduleError> {
	if steps == 0 || k == 0 {
		return Err(ScheduleError::Zero);
	}
	u32::try_from(steps.div_ceil(k)).map_err(|_| ScheduleError::TooLong)
}

/// Number of checkpoints, the initial one included (`segment_count + 1`).
pub fn checkpoint_count(steps: u64, k: u64) -> Result<u32, ScheduleError> {
	segment_count(steps, k)?.checked_add(1).ok_or(ScheduleError::TooLong)
}

/// The step after which checkpoint `index` is taken (`min(index · k, steps)`); `None` past the
/// last checkpoint.
pub fn checkpoint_step(steps: u64, k: u64, index: u32) -> Option<u64> {
	let count = checkpoint_count(steps, k).ok()?;
	if index >= count {
		return None;
	}
	Some(u64::from(index).saturating_mul(k).min(steps))
}

/// The steps `[start, end)` that segment `index` runs.
pub fn segment_steps(steps: u64, k: u64, index: u32) -> Option<(u64, u64)> {
	let start = checkpoint_step(steps, k, index)?;
	let end = checkpoint_step(steps, k, index.checked_add(1)?)?;
	Some((start, end))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn exact_and_ragged_schedules() {
		assert_eq!(segment_count(40, 10), Ok(4));
		assert_eq!(checkpoint_count(40, 10), Ok(5));
		assert_eq!(segment_steps(40, 10, 3), Some((30, 40)));
		assert_eq!(segment_steps(40, 10, 4), None);
		assert_eq!(segment_count(45, 10), Ok(5));
		assert_eq!(segment_steps(45, 10, 4), Some((40, 45)));
		assert_eq!(checkpoint_step(45, 10, 5), Some(45));
		assert_eq!(checkpoint_step(45, 10, 6), None);
		assert_eq!(segment_count(0, 10), Err(ScheduleError::Zero));
		assert_eq!(segment_count(10, 0), Err(ScheduleError::Zero));
	}
}
