//! Line charts as standalone SVG: the training loss of `train --curve` and the held-out
//! accuracy and loss per round of `order watch/run --curve`.
//!
//! Each series gets its own y scale (loss and accuracy differ in range), drawn on the left axis
//! for the first series and on the right for the second; further series share the first's.
//! Points that are not finite are left out.

use std::fmt::Write;

/// One line of a chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
	/// Legend text.
	pub name: String,
	/// `(x, y)` points, drawn in order.
	pub points: Vec<(f64, f64)>,
}

impl Series {
	/// A series named `name`.
	pub fn new(name: impl Into<String>, points: impl IntoIterator<Item = (f64, f64)>) -> Self {
		Self { name: name.into(), points: points.into_iter().collect() }
	}

	fn finite(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
		self.points.iter().copied().filter(|(x, y)| x.is_finite() && y.is_finite())
	}
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 400.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 70.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 60.0;
const TICKS: u32 = 5;
const COLOURS: [&str; 4] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];

/// A closed range, widened when empty so that scaling never divides by zero.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Range {
	low: f64,
	high: f64,
}

impl Range {
	fn of(values: impl Iterator<Item = f64>) -> Option<Self> {
		let mut range: Option<Self> = None;
		for v in values {
			range = Some(match range {
				None => Self { low: v, high: v },
				Some(r) => Self { low: r.low.min(v), high: r.high.max(v) },
			});
		}
		range.map(|r| {
			if r.high - r.low > f64::EPSILON * r.high.abs().max(1.0) {
				r
			} else {
				Self { low: r.low - 0.5, high: r.high + 0.5 }
			}
		})
	}

	/// `v`'s position in `[0, 1]`.
	fn fraction(&self, v: f64) -> f64 {
		(v - self.low) / (self.high - self.low)
	}

	fn tick(&self, i: u32) -> f64 {
		self.low + (self.high - self.low) * f64::from(i) / f64::from(TICKS)
	}
}

fn escape(text: &str) -> String {
	text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A number short enough for a tick label.
fn label(v: f64) -> String {
	if v == v.trunc() && v.abs() < 1e6 {
		format!("{v:.0}")
	} else if v.abs() >= 0.01 && v.abs() < 1e4 {
		format!("{v:.3}").trim_end_matches('0').trim_end_matches('.').to_owned()
	} else {
		format!("{v:.2e}")
	}
}

/// The chart as an SVG document: `title` on top, `x_label` under the x axis, one line per
/// series with its legend.
pub fn svg(title: &str, x_label: &str, series: &[Series]) -> String {
	let plot_w = WIDTH - LEFT - RIGHT;
	let plot_h = HEIGHT - TOP - BOTTOM;
	let mut out = String::new();
	let _ = writeln!(
		out,
		r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
	);
	let _ = writeln!(out, r#"<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#);
	let _ = writeln!(
		out,
		r#"<text x="{}" y="24" text-anchor="middle" font-size="15">{}</text>"#,
		WIDTH / 2.0,
		escape(title)
	);
	let _ = writeln!(
		out,
		r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#444"/>"##
	);
	let _ = writeln!(
		out,
		r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
		LEFT + plot_w / 2.0,
		HEIGHT - 15.0,
		escape(x_label)
	);
	let xs = Range::of(series.iter().flat_map(|s| s.finite().map(|(x, _)| x)));
	let Some(xs) = xs else {
		let _ = writeln!(
			out,
			r#"<text x="{}" y="{}" text-anchor="middle">no data</text>"#,
			LEFT + plot_w / 2.0,
			TOP + plot_h / 2.0
		);
		out.push_str("</svg>\n");
		return out;
	};
	for i in 0..=TICKS {
		let v = xs.tick(i);
		let x = LEFT + plot_w * xs.fraction(v);
		let _ = writeln!(
			out,
			r#"<text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"#,
			TOP + plot_h + 18.0,
			label(v)
		);
	}
	for (index, s) in series.iter().enumerate() {
		let colour = COLOURS.iter().cycle().nth(index).copied().unwrap_or("black");
		let Some(ys) = Range::of(s.finite().map(|(_, y)| y)) else { continue };
		// Axis labels for the first two series: left, then right.
		let axis = match index {
			0 => Some((LEFT - 6.0, "end")),
			1 => Some((LEFT + plot_w + 6.0, "start")),
			_ => None,
		};
		if let Some((x, anchor)) = axis {
			for i in 0..=TICKS {
				let v = ys.tick(i);
				let y = TOP + plot_h * (1.0 - ys.fraction(v));
				let _ = writeln!(
					out,
					r#"<text x="{x}" y="{:.1}" text-anchor="{anchor}" fill="{colour}">{}</text>"#,
					y + 4.0,
					label(v)
				);
			}
		}
		let points: Vec<String> = s
			.finite()
			.map(|(x, y)| {
				format!(
					"{:.1},{:.1}",
					LEFT + plot_w * xs.fraction(x),
					TOP + plot_h * (1.0 - ys.fraction(y))
				)
			})
			.collect();
		let _ = writeln!(
			out,
			r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
			points.join(" ")
		);
		if points.len() < 50 {
			for p in &points {
				let (x, y) = p.split_once(',').unwrap_or(("0", "0"));
				let _ = writeln!(out, r#"<circle cx="{x}" cy="{y}" r="3" fill="{colour}"/>"#);
			}
		}
		let legend_y = TOP + 16.0 + 16.0 * index as f64;
		let _ = writeln!(
			out,
			r#"<text x="{}" y="{legend_y}" fill="{colour}">{}</text>"#,
			LEFT + 8.0,
			escape(&s.name)
		);
	}
	out.push_str("</svg>\n");
	out
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
	use super::*;

	fn polylines(svg: &str) -> Vec<Vec<(f64, f64)>> {
		svg.lines()
			.filter_map(|l| l.split_once(r#"points=""#))
			.map(|(_, rest)| {
				rest.split('"')
					.next()
					.unwrap_or_default()
					.split(' ')
					.map(|p| {
						let (x, y) = p.split_once(',').unwrap_or_else(|| panic!("{p}"));
						(x.parse().unwrap_or(f64::NAN), y.parse().unwrap_or(f64::NAN))
					})
					.collect()
			})
			.collect()
	}

	#[test]
	fn each_series_fills_the_plot_on_its_own_scale() {
		let loss = Series::new("loss", [(0.0, 2.3), (1.0, 0.5), (2.0, 0.1)]);
		let accuracy = Series::new("accuracy <%>", [(0.0, 10.0), (1.0, 90.0), (2.0, 97.0)]);
		let svg = svg("order 0", "round", &[loss, accuracy]);
		assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
		assert!(svg.contains("accuracy &lt;%&gt;"), "legend text is escaped");
		let lines = polylines(&svg);
		assert_eq!(lines.len(), 2);
		let (left, right, top, bottom) = (LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM);
		for line in &lines {
			assert_eq!(line.len(), 3);
			assert_eq!((line[0].0, line[2].0), (left, right));
		}
		// Loss falls from the top edge to the bottom edge; accuracy rises from bottom to top.
		assert_eq!((lines[0][0].1, lines[0][2].1), (top, bottom));
		assert_eq!((lines[1][0].1, lines[1][2].1), (bottom, top));
	}

	#[test]
	fn non_finite_points_are_left_out_and_no_data_says_so() {
		let s = Series::new("loss", [(0.0, 1.0), (1.0, f64::NAN), (2.0, f64::INFINITY), (3.0, 1.0)]);
		let lines = polylines(&svg("t", "step", &[s]));
		assert_eq!(lines.len(), 1);
		assert_eq!(lines[0].len(), 2);
		// A flat series is drawn in the middle, not divided by zero.
		assert!(lines[0].iter().all(|(x, y)| x.is_finite() && (y - (TOP + HEIGHT - BOTTOM) / 2.0).abs() < 0.1));
		let empty = svg("t", "step", &[Series::new("loss", [(0.0, f64::NAN)])]);
		assert!(empty.contains("no data") && polylines(&empty).is_empty());
	}

	#[test]
	fn tick_labels_are_short() {
		assert_eq!(label(3.0), "3");
		assert_eq!(label(0.25), "0.25");
		assert_eq!(label(97.333_333), "97.333");
		assert_eq!(label(0.000_123), "1.23e-4");
	}
}
