//! `pot-trainer`: the provider's trainer and the validator's verifier (PROTOCOL.md steps 4–5).
//!
//! libtorch through `tch` 0.26 (PyTorch 2.13.0). One training loop ([`train::Session`]) serves
//! training and re-execution; data assignment, minibatch order, Merkle commitments and segment
//! selection come from `pot-pol-core`, so they match what the chain computes.

pub mod aggregate;
pub mod bench;
pub mod bundle;
pub mod checkpoint;
pub mod chunk;
pub mod compress;
pub mod curve;
pub mod data;
pub mod error;
pub mod forge;
pub mod model;
pub mod optim;
pub mod profile;
pub mod progress;
pub mod proof;
pub mod score;
pub mod task;
pub mod train;
pub mod verify;

// `pot-trainer serve`: the validator's artifact store and round verifier service.
pub mod challenge_verifier;
pub mod round_verifier;
pub mod serve;
pub mod serve_auth;
pub mod store;
// Chain-facing: provider (`work`), consumer (`order`, `asks`) and the artifact client.
pub mod chain_allow;
pub mod chain_task;
pub mod consumer;
pub mod order_events;
pub mod provider_state;
pub mod remote;
pub mod validator_cli;
pub mod watch;
pub mod work;

pub use error::{Error, Result};
