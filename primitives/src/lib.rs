//! # PoT primitives
//!
//! Types and traits shared by the PoT pallets, the runtime, its runtime APIs and off-chain
//! clients: ids and units ([`OrderId`], [`AskId`], [`WorkUnits`], ...), the task of a training
//! order ([`TaskSpec`]), market records ([`OrderConditions`], [`Assignment`], views), and the
//! traits through which pallets meet ([`ValidatorInspect`], [`OrderSettlement`],
//! [`ReportOffence`], [`ClusterInspect`], [`OpenWorkInspect`]).
//!
//! Pallets never take another pallet's `Config` as a supertrait: each names the trait it needs
//! here, and the runtime plugs in the pallet that implements it.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

#[cfg(any(feature = "fixtures", feature = "runtime-benchmarks"))]
pub mod fixtures;
mod ids;
mod market;
mod staking;
mod task;
mod traits;

pub use ids::*;
pub use market::*;
pub use staking::*;
pub use task::*;
pub use traits::*;
