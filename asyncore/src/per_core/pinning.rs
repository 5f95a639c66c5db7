//! Where the loop threads of a group run.

/// Which CPUs the threads of a [`LoopGroup`](super::LoopGroup) run on.
///
/// # Examples
///
/// ```
/// use asyncore_loop::{LoopGroup, Pinning};
/// let builder = LoopGroup::builder(2).pinning(Pinning::Cpus(vec![0]));
/// # drop(builder);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pinning {
    /// No pinning: the scheduler places the threads (the default).
    #[default]
    Off,
    /// Loop `i` on the `i`-th CPU this process may run on (wrapping around
    /// when there are more loops than CPUs).
    Spread,
    /// Loop `i` on CPU `cpus[i % cpus.len()]`.
    Cpus(Vec<usize>),
}
