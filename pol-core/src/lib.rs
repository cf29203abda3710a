//! PoT Proof-of-Learning core: the pure, deterministic logic that the chain (runtime, pallets)
//! and the off-chain trainer/verifier must compute identically (PROTOCOL.md, steps 3–5).
//!
//! - [`merkle`]: Merkle root and inclusion proofs over checkpoint hashes.
//! - [`assign`]: who trains which data in a round, from `(order, round, seed)`, and the minibatch
//!   order inside a provider's chunk.
//! - [`select`]: which checkpoint segments a verifier re-executes.
//! - [`schedule`]: where checkpoints fall in a run of `steps` steps with interval `k`.
//! - [`reward`]: how a public run weighs each verified update's reward by its loss improvement.
//!
//! Everything is integer-only (no floats), allocation goes through `alloc`, and no function
//! panics: arithmetic is checked and errors are returned. Randomness is never drawn from the
//! environment; every random choice is a function of a seed passed in ([`rng`]).

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod assign;
pub mod hash;
pub mod merkle;
pub mod reward;
pub mod rng;
pub mod schedule;
pub mod select;

pub use hash::{blake2_256, Hash, Hasher};
