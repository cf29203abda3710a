//! What `pot-trainer order watch` reports about one order: the chain's market and PoL events
//! reduced to plain values ([`OrderEvent`]), one human line or JSON object each, and the
//! running [`Summary`] that decides when watching is over and what the order cost.

use crate::{chain_task::format_pot, curve::Series};
use serde::Serialize;
use std::collections::BTreeMap;

/// An event concerning one order (accounts as SS58, hashes as hex, balances in planck).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum OrderEvent {
	/// `Market.OrderCreated`.
	OrderCreated { budget: u128, max_price_per_unit: u128, hardware_class: u16, deadline: u32 },
	/// `Market.PublicRunOpened`: the order is a public run, minting at most `reward_per_unit`
	/// per verified work unit and `cap` in all.
	PublicRunOpened { reward_per_unit: u128, cap: u128 },
	/// `Market.OrderMatched`.
	OrderMatched { validator: String, price_per_unit: u128, work_units: u64 },
	/// `Market.OrderCancelled`.
	OrderCancelled { refunded: u128 },
	/// `Market.OrderExpired`.
	OrderExpired { refunded: u128 },
	/// `Market.ValidatorFeePaid`.
	ValidatorFeePaid { validator: String, amount: u128 },
	/// `Market.OrderCompleted`.
	OrderCompleted { refunded: u128 },
	/// `Market.OrderFailed`.
	OrderFailed { refunded: u128 },
	/// `Pol.RunStarted`.
	RunStarted { validator: String, providers: Vec<(String, u64, u32)> },
	/// `Pol.RoundStarted`.
	RoundStarted { round: u32, weights: String, commit_deadline: u32, result_deadline: u32 },
	/// `Pol.CommitmentSubmitted`.
	CommitmentSubmitted {
		round: u32,
		provider: String,
		steps_done: u32,
		loss_before: f64,
		loss_after: f64,
		checkpoint_root: String,
	},
	/// `Pol.RoundVerified`.
	RoundVerified {
		round: u32,
		accepted: u32,
		rejected: u32,
		new_weights: String,
		eval_loss: f64,
		eval_accuracy: f64,
	},
	/// `Pol.ChallengeWindowOpened`.
	ChallengeWindowOpened { round: u32, window_end: u32 },
	/// `Pol.RoundSettled`.
	RoundSettled { round: u32, paid: u32, rejected: u32 },
	/// `Pol.ChallengeOpened`.
	ChallengeOpened {
		id: u64,
		round: u32,
		claim: String,
		target: u32,
		segment: u32,
		challenger: String,
		committee: Vec<String>,
		vote_deadline: u32,
	},
	/// `Pol.VoteCast`.
	VoteCast { id: u64, voter: String, upheld: bool },
	/// `Pol.ChallengeResolved`.
	ChallengeResolved { id: u64, round: u32, claim: String, upheld: bool, ayes: u32, nays: u32 },
	/// `Pol.ChallengeOffence`.
	ChallengeOffence { id: u64, offender: String, kind: String, slashed: Option<u128> },
	/// `Pol.CompletionRefused`.
	CompletionRefused { error: String },
	/// `Pol.SubmissionRejected`.
	SubmissionRejected { round: u32, provider: String, segment: u32, slashed: Option<u128> },
	/// `Pol.CommitmentMissed`.
	CommitmentMissed { round: u32, provider: String, slashed: Option<u128> },
	/// `Pol.ProviderPaid`.
	ProviderPaid { round: u32, provider: String, work_units: u64, amount: u128 },
	/// `Pol.PayoutFailed`.
	PayoutFailed { round: u32, provider: String, work_units: u64, error: String },
	/// `Pol.RunCompleted`.
	RunCompleted { validator_fee: u128, refunded: u128 },
	/// `Pol.RunFailed`: `providers_compensated` is what the round's committed providers were
	/// paid out of the validator's slash.
	RunFailed {
		round: u32,
		reason: String,
		refunded: Option<u128>,
		validator_slashed: Option<u128>,
		providers_compensated: Option<u128>,
	},
	/// `Pol.UnstartedOrderFailed`.
	UnstartedOrderFailed { validator: String, refunded: u128 },
}

/// One event with where it happened.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Seen {
	/// Order id.
	pub order: u64,
	/// Block number.
	pub block: u64,
	/// The event.
	#[serde(flatten)]
	pub event: OrderEvent,
}

fn short(s: &str) -> String {
	match (s.get(..8), s.len() > 12) {
		(Some(head), true) => format!("{head}…"),
		_ => s.to_owned(),
	}
}

/// One human line for an event.
pub fn describe(seen: &Seen) -> String {
	use OrderEvent::*;
	let text = match &seen.event {
		OrderCreated { budget, max_price_per_unit, hardware_class, deadline } => format!(
			"order created: budget {}, max {} per unit, hardware class {hardware_class}, deadline block {deadline}",
			format_pot(*budget),
			format_pot(*max_price_per_unit)
		),
		PublicRunOpened { reward_per_unit, cap } => format!(
			"a public run: rewards minted at {} per verified unit, weighted by loss improvement, {} at most",
			format_pot(*reward_per_unit),
			format_pot(*cap)
		),
		OrderMatched { validator, price_per_unit, work_units } => format!(
			"matched to validator {validator} at {} per unit ({work_units} units reserved)",
			format_pot(*price_per_unit)
		),
		OrderCancelled { refunded } => format!("order cancelled, refunded {}", format_pot(*refunded)),
		OrderExpired { refunded } => format!("order expired unmatched, refunded {}", format_pot(*refunded)),
		ValidatorFeePaid { validator, amount } => {
			format!("validator {} paid its fee {}", short(validator), format_pot(*amount))
		}
		OrderCompleted { refunded } => {
			format!("order completed, unspent budget released: {}", format_pot(*refunded))
		}
		OrderFailed { refunded } => format!("order failed, refunded {}", format_pot(*refunded)),
		RunStarted { validator, providers } => format!(
			"run started by {} with {} provider(s): {}",
			short(validator),
			providers.len(),
			providers
				.iter()
				.map(|(p, capacity, samples)| format!("{} (capacity {capacity}/h, {samples} samples)", short(p)))
				.collect::<Vec<_>>()
				.join(", ")
		),
		RoundStarted { round, weights, commit_deadline, result_deadline } => format!(
			"round {round} started from weights {}; commits by block {commit_deadline}, result by {result_deadline}",
			short(weights)
		),
		CommitmentSubmitted { round, provider, steps_done, loss_before, loss_after, .. } => format!(
			"round {round}: {} committed {steps_done} steps, loss {loss_before:.4} -> {loss_after:.4}",
			short(provider)
		),
		RoundVerified { round, accepted, rejected, new_weights, eval_loss, eval_accuracy } => format!(
			"round {round} verified: {accepted} accepted, {rejected} rejected; held-out accuracy {:.2}%, loss {eval_loss:.4}; new weights {new_weights}",
			eval_accuracy * 100.0
		),
		ChallengeWindowOpened { round, window_end } => {
			format!("round {round}: result open to challenges until block {window_end}")
		},
		RoundSettled { round, paid, rejected } => {
			format!("round {round} settled: {paid} paid, {rejected} rejected")
		},
		ChallengeOpened { id, round, claim, target, segment, challenger, committee, vote_deadline } => format!(
			"round {round}: challenge {id} by {}: {claim} at position {target}, segment {segment}; committee {} votes by block {vote_deadline}",
			short(challenger),
			committee.iter().map(|m| short(m)).collect::<Vec<_>>().join(", ")
		),
		VoteCast { id, voter, upheld } => format!(
			"challenge {id}: {} voted {}",
			short(voter),
			if *upheld { "for the claim" } else { "against the claim" }
		),
		ChallengeResolved { id, round, claim, upheld, ayes, nays } => format!(
			"round {round}: challenge {id} ({claim}) {} ({ayes} for, {nays} against)",
			if *upheld { "UPHELD" } else { "dismissed" }
		),
		ChallengeOffence { id, offender, kind, slashed } => format!(
			"challenge {id}: {} reported for {kind}{}",
			short(offender),
			slashed.map(|s| format!(", slashed {}", format_pot(s))).unwrap_or_default()
		),
		CompletionRefused { error } => format!("the market refused to complete the order: {error}"),
		SubmissionRejected { round, provider, segment, slashed } => format!(
			"round {round}: {} REJECTED at segment {segment}{}",
			short(provider),
			slashed.map(|s| format!(", slashed {}", format_pot(s))).unwrap_or_default()
		),
		CommitmentMissed { round, provider, slashed } => format!(
			"round {round}: {} committed nothing by the deadline{}",
			short(provider),
			slashed.map(|s| format!(", slashed {}", format_pot(s))).unwrap_or_default()
		),
		ProviderPaid { round, provider, work_units, amount } => format!(
			"round {round}: {} paid {} for {work_units} units",
			short(provider),
			format_pot(*amount)
		),
		PayoutFailed { round, provider, work_units, error } => format!(
			"round {round}: payment of {work_units} units to {} failed: {error}",
			short(provider)
		),
		RunCompleted { validator_fee, refunded } => format!(
			"run completed: validator fee {}, refund {}",
			format_pot(*validator_fee),
			format_pot(*refunded)
		),
		RunFailed { round, reason, refunded, validator_slashed, providers_compensated } => {
			let amount = |a: Option<u128>| a.map(format_pot).unwrap_or_else(|| "nothing".into());
			match reason.as_str() {
				// The run stopped after the round open when round `round` was refuted; nobody
				// is compensated (every round whose result is in was paid).
				"WrongAggregate" => format!(
					"run FAILED: the validator's aggregate of round {round} was refuted \
					 ({reason}), refunded {}; validator slashed {}",
					amount(*refunded),
					amount(*validator_slashed),
				),
				_ => format!(
					"run FAILED in round {round} ({reason}), refunded {}; validator slashed {}, \
					 of which {} compensated the round's committed providers",
					amount(*refunded),
					amount(*validator_slashed),
					amount(*providers_compensated),
				),
			}
		},
		UnstartedOrderFailed { validator, refunded } => format!(
			"order FAILED: validator {} did not start it; refunded {}",
			short(validator),
			format_pot(*refunded)
		),
	};
	format!("#{} order {}: {text}", seen.block, seen.order)
}

/// How an order ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
	/// Trained and settled.
	Completed,
	/// Failed, cancelled or expired.
	Failed,
}

/// What was seen of an order so far.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
	/// The matched validator.
	pub validator: Option<String>,
	/// Every provider's payments, summed.
	pub paid: BTreeMap<String, u128>,
	/// Work units paid per provider.
	pub units: BTreeMap<String, u64>,
	/// Rejected submissions.
	pub rejections: u32,
	/// The last verified weights and their held-out (loss, accuracy).
	pub last_weights: Option<String>,
	/// Held-out loss and accuracy the validator reported for the last weights.
	pub last_eval: Option<(f64, f64)>,
	/// The validator's fee (on completion).
	pub validator_fee: Option<u128>,
	/// The consumer's refund (on completion or failure).
	pub refunded: Option<u128>,
	/// Challenges opened on the order's rounds.
	pub challenges: u32,
	/// Challenges upheld by their committee.
	pub upheld: u32,
	/// Every party slashed through a challenge (offender, offence, amount), in order.
	pub challenge_slashes: Vec<(String, String, u128)>,
	/// Ids of the order's challenges (votes and challenge offences name only the id).
	#[serde(skip)]
	pub challenge_ids: std::collections::BTreeSet<u64>,
	/// How it ended, once it did.
	pub outcome: Option<Outcome>,
	/// Each verified round's held-out evaluation: (round, loss, accuracy), in order.
	pub rounds: Vec<(u32, f64, f64)>,
}

impl Summary {
	/// The held-out accuracy and loss of each verified round's weights, as an SVG chart.
	pub fn curve_svg(&self, order: u64) -> String {
		let accuracy = self.rounds.iter().map(|(r, _, a)| (f64::from(*r), a * 100.0));
		let loss = self.rounds.iter().map(|(r, l, _)| (f64::from(*r), *l));
		crate::curve::svg(
			&format!("order {order}: held-out evaluation of each round's weights"),
			"round",
			&[Series::new("accuracy (%)", accuracy), Series::new("loss", loss)],
		)
	}

	/// Takes one event into account.
	pub fn apply(&mut self, event: &OrderEvent) {
		use OrderEvent::*;
		match event {
			OrderMatched { validator, .. } | RunStarted { validator, .. } => {
				self.validator = Some(validator.clone())
			},
			RoundVerified { round, new_weights, eval_loss, eval_accuracy, .. } => {
				self.last_weights = Some(new_weights.clone());
				self.last_eval = Some((*eval_loss, *eval_accuracy));
				self.rounds.push((*round, *eval_loss, *eval_accuracy));
			},
			SubmissionRejected { .. } => self.rejections = self.rejections.saturating_add(1),
			ChallengeOpened { .. } => self.challenges = self.challenges.saturating_add(1),
			ChallengeResolved { upheld: true, .. } => self.upheld = self.upheld.saturating_add(1),
			ChallengeOffence { offender, kind, slashed: Some(amount), .. } => {
				self.challenge_slashes.push((offender.clone(), kind.clone(), *amount))
			},
			CompletionRefused { .. } => self.outcome = Some(Outcome::Failed),
			ProviderPaid { provider, work_units, amount, .. } => {
				let paid = self.paid.entry(provider.clone()).or_default();
				*paid = paid.saturating_add(*amount);
				let units = self.units.entry(provider.clone()).or_default();
				*units = units.saturating_add(*work_units);
			},
			RunCompleted { validator_fee, refunded } => {
				self.validator_fee = Some(*validator_fee);
				self.refunded = Some(*refunded);
				self.outcome = Some(Outcome::Completed);
			},
			RunFailed { refunded, .. } => {
				self.refunded = *refunded;
				self.outcome = Some(Outcome::Failed);
			},
			OrderCancelled { refunded }
			| OrderExpired { refunded }
			| UnstartedOrderFailed { refunded, .. } => {
				self.refunded = Some(*refunded);
				self.outcome = Some(Outcome::Failed);
			},
			_ => {},
		}
	}

	/// Total paid to providers.
	pub fn providers_total(&self) -> u128 {
		self.paid.values().fold(0u128, |a, b| a.saturating_add(*b))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn seen(event: OrderEvent) -> Seen {
		Seen { order: 4, block: 17, event }
	}

	#[test]
	fn a_completed_run_sums_payments_and_ends_the_watch() {
		let events = vec![
			OrderEvent::OrderMatched {
				validator: "alice".into(),
				price_per_unit: 10,
				work_units: 300,
			},
			OrderEvent::ProviderPaid {
				round: 0,
				provider: "ferdie".into(),
				work_units: 50,
				amount: 450,
			},
			OrderEvent::SubmissionRejected {
				round: 0,
				provider: "eve".into(),
				segment: 2,
				slashed: Some(1),
			},
			OrderEvent::RoundVerified {
				round: 0,
				accepted: 1,
				rejected: 1,
				new_weights: "ab".repeat(32),
				eval_loss: 0.5,
				eval_accuracy: 0.9,
			},
			OrderEvent::ProviderPaid {
				round: 1,
				provider: "ferdie".into(),
				work_units: 50,
				amount: 450,
			},
		];
		let mut s = Summary::default();
		for e in &events {
			s.apply(e);
			assert_eq!(s.outcome, None);
		}
		s.apply(&OrderEvent::RunCompleted { validator_fee: 100, refunded: 2_000 });
		assert_eq!(s.outcome, Some(Outcome::Completed));
		assert_eq!(s.paid.get("ferdie"), Some(&900));
		assert_eq!(s.units.get("ferdie"), Some(&100));
		assert_eq!(
			(s.providers_total(), s.validator_fee, s.refunded),
			(900, Some(100), Some(2_000))
		);
		assert_eq!(s.rejections, 1);
		assert_eq!(s.last_weights, Some("ab".repeat(32)));
		assert_eq!(s.validator.as_deref(), Some("alice"));
		assert_eq!(s.rounds, vec![(0, 0.5, 0.9)]);
		let chart = s.curve_svg(4);
		assert!(chart.contains("order 4") && chart.contains("accuracy (%)"));
		assert_eq!(chart.matches("<polyline").count(), 2, "accuracy and loss");
	}

	#[test]
	fn challenges_are_counted_with_their_slashes() {
		let mut s = Summary::default();
		for e in [
			OrderEvent::ChallengeOpened {
				id: 0,
				round: 1,
				claim: "ValidWorkRejected".into(),
				target: 2,
				segment: 3,
				challenger: "eve".into(),
				committee: vec!["bob".into(), "charlie".into(), "dave".into()],
				vote_deadline: 40,
			},
			OrderEvent::VoteCast { id: 0, voter: "bob".into(), upheld: true },
			OrderEvent::ChallengeResolved {
				id: 0,
				round: 1,
				claim: "ValidWorkRejected".into(),
				upheld: true,
				ayes: 2,
				nays: 0,
			},
			OrderEvent::ChallengeOffence {
				id: 0,
				offender: "alice".into(),
				kind: "Censorship".into(),
				slashed: Some(50),
			},
			OrderEvent::ChallengeOffence {
				id: 0,
				offender: "dave".into(),
				kind: "MissedVote".into(),
				slashed: None,
			},
		] {
			s.apply(&e);
		}
		assert_eq!((s.challenges, s.upheld, s.outcome), (1, 1, None));
		assert_eq!(s.challenge_slashes, vec![("alice".into(), "Censorship".into(), 50)]);
		let line = describe(&seen(OrderEvent::ChallengeResolved {
			id: 0,
			round: 1,
			claim: "ValidWorkRejected".into(),
			upheld: false,
			ayes: 1,
			nays: 2,
		}));
		assert!(line.ends_with("challenge 0 (ValidWorkRejected) dismissed (1 for, 2 against)"), "{line}");
	}

	#[test]
	fn failures_end_the_watch_as_failed() {
		for e in [
			OrderEvent::RunFailed {
				round: 1,
				reason: "MissedResultDeadline".into(),
				refunded: Some(5),
				validator_slashed: Some(7),
				providers_compensated: Some(3),
			},
			OrderEvent::OrderExpired { refunded: 5 },
			OrderEvent::OrderCancelled { refunded: 5 },
			OrderEvent::UnstartedOrderFailed { validator: "v".into(), refunded: 5 },
		] {
			let mut s = Summary::default();
			s.apply(&e);
			assert_eq!((s.outcome, s.refunded), (Some(Outcome::Failed), Some(5)), "{e:?}");
		}
	}

	#[test]
	fn lines_and_json_name_the_event() {
		let s = seen(OrderEvent::RunCompleted { validator_fee: 1_500_000_000_000, refunded: 0 });
		assert_eq!(describe(&s), "#17 order 4: run completed: validator fee 1.5 POT, refund 0 POT");
		let json = serde_json::to_value(&s).unwrap_or_default();
		assert_eq!(json.get("event").and_then(|v| v.as_str()), Some("run_completed"));
		assert_eq!(json.get("block").and_then(|v| v.as_u64()), Some(17));
		assert_eq!(json.get("validator_fee").and_then(|v| v.as_u64()), Some(1_500_000_000_000));
		let missed = seen(OrderEvent::CommitmentMissed {
			round: 2,
			provider: "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty".into(),
			slashed: Some(2_000_000_000_000),
		});
		assert_eq!(
			describe(&missed),
			"#17 order 4: round 2: 5FHneW46… committed nothing by the deadline, slashed 2 POT"
		);
			let public = seen(OrderEvent::PublicRunOpened {
			reward_per_unit: 20_000_000_000,
			cap: 50_000_000_000_000,
		});
		assert_eq!(
			describe(&public),
			"#17 order 4: a public run: rewards minted at 0.02 POT per verified unit, weighted by loss improvement, 50 POT at most"
		);
		let json = serde_json::to_value(&public).unwrap_or_default();
		assert_eq!(json.get("event").and_then(|v| v.as_str()), Some("public_run_opened"));
	}

	#[test]
	fn a_failure_names_its_reason() {
		let missed = seen(OrderEvent::RunFailed {
			round: 1,
			reason: "MissedResultDeadline".into(),
			refunded: Some(3_000_000_000_000),
			validator_slashed: Some(1_000_000_000_000),
			providers_compensated: None,
		});
		assert_eq!(
			describe(&missed),
			"#17 order 4: run FAILED in round 1 (MissedResultDeadline), refunded 3 POT; validator \
			 slashed 1 POT, of which nothing compensated the round's committed providers"
		);
		let refuted = seen(OrderEvent::RunFailed {
			round: 0,
			reason: "WrongAggregate".into(),
			refunded: Some(3_000_000_000_000),
			validator_slashed: Some(1_000_000_000_000),
			providers_compensated: None,
		});
		assert_eq!(
			describe(&refuted),
			"#17 order 4: run FAILED: the validator's aggregate of round 0 was refuted \
			 (WrongAggregate), refunded 3 POT; validator slashed 1 POT"
		);
	}
}
