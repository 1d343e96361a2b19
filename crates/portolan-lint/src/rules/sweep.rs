//! The sweep both overlap rules use: items sorted by first port, the ones still open kept in
//! a heap by last port, so expiring them costs O(log n) instead of a pass over all of them,
//! and so each rule can look up — by owner or by address — only the open items that matter.
//! When one item overlaps more than [`LIST`] others (a thousand projects on `1-65535`), the
//! rules report it once with the first few and a count, not once per pair: the work and the
//! report stay near-linear in the input.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// How many overlapping items are reported one pair at a time (and listed in a summary).
pub(crate) const LIST: usize = 3;

/// Open intervals by last port.
#[derive(Default)]
pub(crate) struct Open {
    heap: BinaryHeap<Reverse<(u16, usize)>>,
}

impl Open {
    /// Adds item `pos`, open up to port `hi`.
    pub(crate) fn push(&mut self, hi: u16, pos: usize) {
        self.heap.push(Reverse((hi, pos)));
    }

    /// Closes every item that ends before port `lo`, calling `close` for each.
    pub(crate) fn expire(&mut self, lo: u16, mut close: impl FnMut(usize)) {
        while let Some(Reverse((hi, pos))) = self.heap.peek().copied() {
            if hi >= lo {
                break;
            }
            self.heap.pop();
            close(pos);
        }
    }
}

/// The first `n` elements of several disjoint ordered sets, in order.
pub(crate) fn first_of(sets: &[&std::collections::BTreeSet<usize>], n: usize) -> Vec<usize> {
    let mut all: Vec<usize> = sets
        .iter()
        .flat_map(|s| s.iter().take(n))
        .copied()
        .collect();
    all.sort_unstable();
    all.truncate(n);
    all
}
