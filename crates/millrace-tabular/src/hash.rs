//! The hashes and seeded generators of the library, in one place, each defined by its own
//! constants and arithmetic.
//!
//! | what | used for | why it is the one |
//! |---|---|---|
//! | FNV-1a 64 ([`fnv1a_64`], [`Fnv1a64`]) | which split an ingested row goes to ([`crate::split`], the CSV record fingerprints of [`crate::csv::parser`]); the transform ops `hash_buckets`, `cross` and the out-of-vocabulary buckets of `vocabulary` | Its values are *stored*: a row must land in the same split, and a value in the same bucket at training and in serving, next year as today. FNV-1a is two published constants and a loop that any language reimplements in a few lines (the tests compare with Python and with the published test vectors). It is not a strong hash, and need not be: bucket assignment only needs values spread evenly. |
//! | SplitMix64 ([`splitmix64_mix`], [`SplitMix64`], [`GOLDEN_GAMMA`]) | the coin flips of the quantile sketch's compactions; the final mixing of [`WordHasher`]; reproducible test data | Its output function is a bijection of 64-bit words in which every output bit depends on every input bit, from a constant state: the same input always gives the same sketch, and different data give independent draws. |
//! | the word hasher ([`WordHasher`], [`WordHashBuilder`]) | the exact value counts and the Space-Saving index of [`crate::statistics::FrequentValues`], and the HyperLogLog registers, which read its bits directly | About four times faster than FNV on the 10–30 byte values of string features (one multiply per 8 bytes), without the random seed of the standard library's hasher, so a sketch is the same run after run; the SplitMix64 finish mixes its output well enough for HyperLogLog. |
//! | Knuth's MMIX linear congruential generator ([`Lcg64`]) | which candidates a random hyper-parameter search draws from its seed (the model components' Tuner) | A user's seed must draw the same trials on every machine and in every version. |
//!
//! None of them uses a random seed or the standard library's `DefaultHasher` (which is seeded
//! per process and may change between Rust releases). All arithmetic is on `u64` with explicit
//! wrapping, and bytes are read in an explicit order (little-endian words), so every value is
//! the same on every platform and in every build. Changing any of them changes stored results:
//! split assignments, transform graphs' buckets, statistics' sketches. Do not.

use std::fmt;
use std::hash::{BuildHasher, Hasher};

/// The FNV-1a 64 offset basis: the hash of no bytes.
pub const FNV1A_64_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;

/// The FNV-1a 64 prime.
pub const FNV1A_64_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a 64 of `bytes`.
///
/// Start from [`FNV1A_64_OFFSET_BASIS`]; for each byte, xor it in, then multiply by
/// [`FNV1A_64_PRIME`] modulo 2⁶⁴. `fnv1a_64(b"a") == 0xaf63dc4c8601ec8c`.
pub fn fnv1a_64(bytes: &[u8]) -> u64 {
    let mut hasher = Fnv1a64::new();
    hasher.update(bytes);
    hasher.finish()
}

/// An FNV-1a 64 hasher fed piece by piece: bytes, whole 64-bit words, or formatted text
/// (through [`fmt::Write`], without allocating).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fnv1a64 {
    state: u64,
}

impl Default for Fnv1a64 {
    fn default() -> Self {
        Self::new()
    }
}

impl Fnv1a64 {
    /// A hasher that has seen nothing: its hash is [`FNV1A_64_OFFSET_BASIS`].
    pub const fn new() -> Self {
        Fnv1a64 {
            state: FNV1A_64_OFFSET_BASIS,
        }
    }

    /// Feeds `bytes`, one after the other.
    #[inline]
    pub fn update(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.update_byte(byte);
        }
    }

    /// Feeds one byte.
    #[inline]
    pub fn update_byte(&mut self, byte: u8) {
        self.update_word(u64::from(byte));
    }

    /// Folds a whole 64-bit word in as FNV-1a folds a byte (xor, then multiply): how a row's
    /// fingerprint combines the hashes of its values.
    #[inline]
    pub fn update_word(&mut self, word: u64) {
        self.state = (self.state ^ word).wrapping_mul(FNV1A_64_PRIME);
    }

    /// The hash of what was fed.
    #[inline]
    pub fn finish(self) -> u64 {
        self.state
    }

    /// The hash of `value`'s `{}` text form.
    #[inline]
    pub fn of_display(value: impl fmt::Display) -> u64 {
        let mut hasher = Fnv1a64::new();
        // Formatting into the hasher cannot fail: `write_str` always succeeds.
        let _ = fmt::Write::write_fmt(&mut hasher, format_args!("{value}"));
        hasher.finish()
    }
}

impl fmt::Write for Fnv1a64 {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.update(text.as_bytes());
        Ok(())
    }
}

/// The 64-bit golden ratio, `2⁶⁴ / φ` rounded to odd: SplitMix64's increment, and the constant
/// the generators here start from or mix a seed with.
pub const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 output function (Steele, Lea, Flood 2014; Stafford's "Mix13" constants): a
/// bijective hash of a 64-bit word in which every output bit depends on every input bit.
#[inline]
pub fn splitmix64_mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The SplitMix64 generator: the state advances by [`GOLDEN_GAMMA`], and each output is
/// [`splitmix64_mix`] of the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose state starts at `seed`.
    pub const fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        splitmix64_mix(self.state)
    }

    /// Uniform in `[0, 1)`, from the top 53 bits.
    #[inline]
    pub fn next_unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The word hasher's multiplier (odd, with well-spread bits: a constant of wyhash).
const WORD_HASH_MULTIPLIER: u64 = 0xA076_1D64_78BD_642F;

/// Builds [`WordHasher`]s, for `HashMap`s whose hashes (and so the sketches built from them)
/// must be the same every run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WordHashBuilder;

impl BuildHasher for WordHashBuilder {
    type Hasher = WordHasher;

    fn build_hasher(&self) -> WordHasher {
        WordHasher {
            state: GOLDEN_GAMMA,
        }
    }
}

/// A fast non-cryptographic hasher: each 8-byte word (little-endian) is folded into the state
/// with a 64×64→128 bit multiply (high half XOR low half), and [`finish`](Hasher::finish)
/// applies [`splitmix64_mix`] so that every output bit depends on every input bit, as
/// HyperLogLog needs. A string hashes as the standard library feeds it: its bytes, then a
/// `0xFF` byte.
#[derive(Debug, Clone)]
pub struct WordHasher {
    state: u64,
}

impl WordHasher {
    /// Folds one word into the state.
    #[inline]
    fn round(&mut self, word: u64) {
        let product = u128::from(self.state ^ word) * u128::from(WORD_HASH_MULTIPLIER);
        self.state = (product as u64) ^ ((product >> 64) as u64);
    }
}

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.round(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0; 8];
            word[..rest.len()].copy_from_slice(rest);
            // The length in the top byte tells "ab" from "ab\0".
            self.round(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 56));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.round(u64::from(byte) ^ 0xFF00);
    }

    fn finish(&self) -> u64 {
        splitmix64_mix(self.state)
    }
}

/// Knuth's MMIX linear congruential generator, seeded through [`GOLDEN_GAMMA`]: small,
/// reproducible draws (which candidates a random search tries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lcg64 {
    state: u64,
}

impl Lcg64 {
    /// The MMIX multiplier.
    const MULTIPLIER: u64 = 6_364_136_223_846_793_005;
    /// The MMIX increment.
    const INCREMENT: u64 = 1_442_695_040_888_963_407;

    /// A generator for `seed` (mixed with [`GOLDEN_GAMMA`], so that seed 0 does not start at
    /// state 0).
    pub const fn from_seed(seed: u64) -> Self {
        Lcg64 {
            state: seed ^ GOLDEN_GAMMA,
        }
    }

    /// The next state.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self
            .state
            .wrapping_mul(Self::MULTIPLIER)
            .wrapping_add(Self::INCREMENT);
        self.state
    }

    /// A draw in `0..bound` from the next state's top 31 bits (the low bits of an LCG are
    /// weak). `bound` must not be 0.
    #[inline]
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() >> 33) as usize % bound
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn fnv1a_matches_published_vectors_and_python() {
        // FNV-1a 64 reference vectors (the FNV test suite), and python3 for the rest.
        assert_eq!(fnv1a_64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a_64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a_64(b"foobar"), 0x8594_4171_f739_67e8);
        assert_eq!(fnv1a_64(b"cash"), 13_068_984_946_121_058_130);
        assert_eq!(Fnv1a64::of_display(42_i64), 571_532_774_284_038_691);
        assert_eq!(Fnv1a64::of_display(42.0_f64), Fnv1a64::of_display(42_i64));
        assert_eq!(Fnv1a64::of_display(2.5_f64), 6_956_283_617_732_284_700);
    }

    #[test]
    fn splitmix64_matches_its_reference_output() {
        // The first outputs of the reference SplitMix64 (Vigna's splitmix64.c) seeded with 0.
        let mut generator = SplitMix64::new(0);
        assert_eq!(generator.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(generator.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(splitmix64_mix(0), 0);
    }

    #[test]
    fn the_word_hasher_separates_similar_strings() {
        let hash = |value: &str| WordHashBuilder.hash_one(value);
        let hashes: HashSet<u64> = [
            "",
            "a",
            "ab",
            "ab\0",
            "ba",
            "abcdefgh",
            "abcdefgh\0",
            "abcdefghi",
        ]
        .iter()
        .map(|value| hash(value))
        .collect();
        assert_eq!(hashes.len(), 8);
        // Single-bit changes flip about half the bits.
        let base = hash("value-00000000");
        let flipped = hash("value-00000001");
        let differing = (base ^ flipped).count_ones();
        assert!((16..=48).contains(&differing), "{differing}");
    }

    #[test]
    fn the_lcg_draws_what_it_always_drew() {
        // The first states of MMIX from seed 0 mixed with GOLDEN_GAMMA, computed in python3.
        let mut generator = Lcg64::from_seed(0);
        assert_eq!(generator.next_u64(), 0x2cea_ee21_bf46_bc00);
        assert_eq!(generator.next_u64(), 0xaa80_754d_1a1a_8d4f);
        // The next state is 0xb3c4_904a_6d27_8932: its top 31 bits modulo 10.
        assert_eq!(generator.below(10), 9);
    }
}
