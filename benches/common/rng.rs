//! SplitMix64 (Steele, Lea, Flood 2014): tiny, seedable, good enough for
//! benchmark inputs, and no dependency. Shared by every bench (each uses a
//! subset); `benches/gen_batch_input.py` implements the same generator.
#![allow(dead_code)]

pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, n)` (modulo bias is negligible for these ranges).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Uniform in `[lo, hi)`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo) as u64) as i64
    }

    /// Log-uniform-ish in `[min, max]`: a doubling bucket `[min * 2^e,
    /// min * 2^(e+1))` chosen uniformly among those starting at or below
    /// `max`, then uniform within it (clipped to `max`).
    pub fn log_uniform(&mut self, min: i64, max: i64) -> i64 {
        let buckets = (0..63).take_while(|&e| min << e <= max).count() as u64;
        let e = self.next() % buckets;
        let lo = min << e;
        let hi = (min << (e + 1)).min(max + 1);
        self.range(lo, hi)
    }
}
