//! A progress bar on standard error for long CLI work (`pot-trainer train`), drawn only when
//! standard error is a terminal, so logs and pipes stay clean.

use std::{
	io::{IsTerminal, Write},
	time::Instant,
};

/// Width of the bar in characters.
const WIDTH: u64 = 30;

/// One line such as `training [#########.....]  300/1000  loss 0.3120  1.2 s`.
pub fn line(what: &str, done: u64, total: u64, note: &str, seconds: f64) -> String {
	let filled = done.min(total).saturating_mul(WIDTH).checked_div(total).unwrap_or(WIDTH);
	let bar: String = (0..WIDTH).map(|i| if i < filled { '#' } else { '.' }).collect();
	format!("{what} [{bar}] {done:>width$}/{total}  {note}  {seconds:.1} s", width = digits(total))
}

fn digits(n: u64) -> usize {
	n.to_string().len()
}

/// A bar that redraws itself in place.
pub struct Bar {
	what: String,
	total: u64,
	started: Instant,
	visible: bool,
}

impl Bar {
	/// A bar for `total` units of `what`; hidden unless standard error is a terminal.
	pub fn new(what: &str, total: u64) -> Self {
		let visible = std::io::stderr().is_terminal();
		Self { what: what.into(), total, started: Instant::now(), visible }
	}

	/// Shows `done` units with `note`.
	pub fn set(&self, done: u64, note: &str) {
		if self.visible {
			let text = line(&self.what, done, self.total, note, self.started.elapsed().as_secs_f64());
			let mut err = std::io::stderr().lock();
			let _ = write!(err, "\r{text}\x1b[K");
			let _ = err.flush();
		}
	}

	/// Ends the bar's line.
	pub fn finish(&self) {
		if self.visible {
			let _ = writeln!(std::io::stderr());
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_bar_fills_in_proportion_and_clamps() {
		let half = line("training", 500, 1000, "loss 0.5", 1.31);
		let bar = format!("{}{}", "#".repeat(15), ".".repeat(15));
		assert_eq!(half, format!("training [{bar}]  500/1000  loss 0.5  1.3 s"));
		assert!(line("x", 2000, 1000, "", 0.0).contains(&format!("[{}]", "#".repeat(30))));
		assert!(line("x", 0, 0, "", 0.0).contains(&format!("[{}] 0/0", "#".repeat(30))));
		assert!(line("x", 3, 7, "", 0.0).contains(" 3/7 "));
	}
}
