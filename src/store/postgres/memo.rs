//! What a [`PgStore`](super::PgStore) remembers having committed for each
//! source under one lease token, so a later write need not read it back.
//!
//! The guarantee it rests on: while a store writes a source under a lease
//! token, nobody else writes that source (another instance would have
//! taken the lease, and the token with it). So what the store committed
//! under the token it still holds is what the database holds. A memo is
//! therefore only ever read under the token it was learned under; a write
//! under another token starts it afresh, a write without a token (an
//! unfenced store) forgets it, and the store forgets every memo when a
//! write fails or its outcome is unknown.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// What one store remembers of each source, with the lease token it was
/// committed under; at most `max` entries a source.
#[derive(Debug)]
pub(super) struct LeaseMemo<M> {
    by_source: Mutex<HashMap<String, (i64, M)>>,
    max: usize,
}

/// A memo's size, which [`LeaseMemo`] bounds.
pub(super) trait Entries {
    fn entries(&self) -> usize;
}

impl<K> Entries for HashSet<K> {
    fn entries(&self) -> usize {
        self.len()
    }
}

impl<K, V> Entries for HashMap<K, V> {
    fn entries(&self) -> usize {
        self.len()
    }
}

impl<M: Default + Entries> LeaseMemo<M> {
    /// An empty memo of at most `max` entries a source.
    pub(super) fn new(max: usize) -> LeaseMemo<M> {
        LeaseMemo {
            by_source: Mutex::default(),
            max,
        }
    }

    /// `f` of what is remembered of `source` under `token`; None without a
    /// token (an unfenced store cannot know nobody else wrote), when
    /// nothing is, or when it was learned under another token.
    pub(super) fn read<T>(
        &self,
        source: &str,
        token: Option<i64>,
        f: impl FnOnce(&M) -> T,
    ) -> Option<T> {
        let token = token?;
        let memo = self.by_source.lock().ok()?;
        match memo.get(source) {
            Some((t, m)) if *t == token => Some(f(m)),
            _ => None,
        }
    }

    /// `f` of what is remembered of `source` under whichever token: for
    /// what no other writer can change (a ticket's key).
    pub(super) fn read_any<T>(&self, source: &str, f: impl FnOnce(&M) -> T) -> Option<T> {
        let memo = self.by_source.lock().ok()?;
        memo.get(source).map(|(_, m)| f(m))
    }

    /// Learns what a transaction committed for `source` under `token`:
    /// `f` adds about `adding` entries to the memo, which starts afresh when
    /// it was learned under another token or would grow beyond its bound.
    /// Without a token the source is forgotten.
    pub(super) fn learn(
        &self,
        source: &str,
        token: Option<i64>,
        adding: usize,
        f: impl FnOnce(&mut M),
    ) {
        let Ok(mut memo) = self.by_source.lock() else {
            return;
        };
        let Some(token) = token else {
            memo.remove(source);
            return;
        };
        let entry = memo
            .entry(source.to_string())
            .or_insert_with(|| (token, M::default()));
        if entry.0 != token || entry.1.entries() + adding > self.max {
            *entry = (token, M::default());
        }
        f(&mut entry.1);
    }

    /// Changes what is remembered of `source` under `token` with `f`, if
    /// anything is (learning nothing new otherwise).
    pub(super) fn amend(&self, source: &str, token: Option<i64>, f: impl FnOnce(&mut M)) {
        let (Some(token), Ok(mut memo)) = (token, self.by_source.lock()) else {
            return;
        };
        if let Some((t, m)) = memo.get_mut(source) {
            if *t == token {
                f(m);
            }
        }
    }

    /// Forgets every source's memo (after a failed write, or one whose
    /// outcome is not known).
    pub(super) fn forget(&self) {
        if let Ok(mut memo) = self.by_source.lock() {
            memo.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Marks = LeaseMemo<HashSet<i64>>;

    fn read(memo: &Marks, source: &str, token: Option<i64>) -> Option<Vec<i64>> {
        memo.read(source, token, |m| {
            let mut keys: Vec<i64> = m.iter().copied().collect();
            keys.sort_unstable();
            keys
        })
    }

    #[test]
    fn what_is_learned_under_a_token_is_read_under_that_token_only() {
        let memo = Marks::new(10);
        memo.learn("a", Some(7), 2, |m| m.extend([1, 2]));
        assert_eq!(read(&memo, "a", Some(7)), Some(vec![1, 2]));
        assert_eq!(read(&memo, "a", Some(8)), None);
        assert_eq!(read(&memo, "a", None), None);
        assert_eq!(read(&memo, "b", Some(7)), None);
        // Whatever the token, for what nobody else can change.
        assert_eq!(memo.read_any("a", |m| m.len()), Some(2));
    }

    #[test]
    fn learning_under_another_token_or_beyond_the_bound_starts_afresh() {
        let memo = Marks::new(3);
        memo.learn("a", Some(7), 2, |m| m.extend([1, 2]));
        memo.learn("a", Some(8), 1, |m| m.extend([3]));
        assert_eq!(read(&memo, "a", Some(8)), Some(vec![3]));
        memo.learn("a", Some(8), 1, |m| m.extend([4]));
        assert_eq!(read(&memo, "a", Some(8)), Some(vec![3, 4]));
        memo.learn("a", Some(8), 2, |m| m.extend([5, 6]));
        assert_eq!(read(&memo, "a", Some(8)), Some(vec![5, 6]));
    }

    #[test]
    fn learning_without_a_token_and_forgetting_leave_nothing() {
        let memo = Marks::new(10);
        memo.learn("a", Some(7), 1, |m| m.extend([1]));
        memo.learn("b", Some(7), 1, |m| m.extend([2]));
        memo.learn("a", None, 1, |m| m.extend([3]));
        assert_eq!(memo.read_any("a", |m| m.len()), None);
        assert_eq!(read(&memo, "b", Some(7)), Some(vec![2]));
        memo.forget();
        assert_eq!(memo.read_any("b", |m| m.len()), None);
    }

    #[test]
    fn amending_changes_only_what_was_learned_under_the_token() {
        let memo = Marks::new(10);
        memo.amend("a", Some(7), |m| m.extend([1]));
        assert_eq!(memo.read_any("a", |m| m.len()), None);
        memo.learn("a", Some(7), 1, |m| m.extend([1]));
        memo.amend("a", Some(8), |m| m.extend([2]));
        memo.amend("a", None, |m| m.extend([2]));
        assert_eq!(read(&memo, "a", Some(7)), Some(vec![1]));
        memo.amend("a", Some(7), |m| m.extend([3]));
        assert_eq!(read(&memo, "a", Some(7)), Some(vec![1, 3]));
    }
}
