//! The benchmark kit of asyncore for Rust (issue 6): a load generator
//! (`loadgen`), peer echo servers (`peer_mio`, `peer_tokio`, and the C and
//! CPython ones under `peers/`), and the matrix runner (`matrix`) that writes
//! BENCHMARKS.md. Linux only.

#![deny(rust_2018_idioms, unsafe_op_in_unsafe_fn)]

pub mod net;
