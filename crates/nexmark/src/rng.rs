//! The random numbers behind each event, and the random strings built from them.
//!
//! As in the reference generator, every event draws from its own generator seeded by its
//! event id, so event `n` can be made without making events `0..n` (a source can start at
//! any offset, or several sources can share the stream). The seed of the whole run is
//! mixed in, and the stream is wyrand: one multiply per 64 random bits.

/// Mixes 64 bits into 64 well-spread bits (the SplitMix64 finalizer), a bijection.
const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A run's seed, spread over 64 bits, with one key per kind of stream so that an event's
/// stream never shares a state with a channel URL's.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SeedKey(u64);

impl SeedKey {
    /// The key of `seed` for streams of kind `domain`.
    pub(crate) const fn new(seed: u64, domain: u64) -> Self {
        SeedKey(mix(seed ^ mix(domain.wrapping_add(0x9e37_79b9_7f4a_7c15))))
    }
}

/// The random stream of one event (or one channel).
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    /// The stream of item `id` (an event id, a channel number) under `key`.
    pub(crate) const fn new(key: SeedKey, id: u64) -> Self {
        Rng { state: mix(key.0 ^ mix(id)) }
    }

    /// 64 random bits (wyrand).
    #[inline]
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0xa076_1d64_78bd_642f);
        let product = u128::from(self.state) * u128::from(self.state ^ 0xe703_7ed1_a0b4_28db);
        ((product >> 64) as u64) ^ (product as u64)
    }

    /// A uniform integer in `0..bound` (`0` when `bound` is 0), by multiply-shift.
    #[inline]
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// A uniform float in `[0, 1)`.
    #[inline]
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// An index into a slice of `len` items (`len` > 0).
    #[inline]
    pub(crate) fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// A price in cents, log-uniform between $1 and $1,000,000 as in the reference:
    /// `round(10^(6u) * 100)`.
    #[inline]
    pub(crate) fn price(&mut self) -> u64 {
        ((self.unit() * 6.0 * std::f64::consts::LN_10).exp() * 100.0).round() as u64
    }

    /// Appends `len` lowercase letters to `out` (the reference's `nextExactString`), eight
    /// from each 64 random bits: each byte `b` becomes letter `b × 26 / 256`, so letters are
    /// near-uniform (9 or 10 byte values each), which padding does not need better.
    pub(crate) fn push_letters(&mut self, out: &mut String, len: usize) {
        const EVEN_BYTES: u64 = 0x00ff_00ff_00ff_00ff;
        let mut letters = [0u8; 256];
        let mut left = len;
        while left > 0 {
            let take = left.min(letters.len());
            for chunk in letters[..take.next_multiple_of(8)].chunks_exact_mut(8) {
                // All eight bytes at once: each 16-bit lane holds one byte times 26, whose
                // high byte is the letter's index.
                let bits = self.next_u64();
                let even = (((bits & EVEN_BYTES) * 26) >> 8) & EVEN_BYTES;
                let odd = (((bits >> 8) & EVEN_BYTES) * 26) & !EVEN_BYTES;
                chunk.copy_from_slice(&((even | odd) + 0x6161_6161_6161_6161).to_le_bytes());
            }
            // Always ASCII letters, so always valid UTF-8.
            out.push_str(std::str::from_utf8(&letters[..take]).unwrap_or_default());
            left -= take;
        }
    }

    /// Appends a string of 3 to `max_len - 1` characters, each a lowercase letter or, one
    /// time in 13, `special`, then drops leading and trailing spaces (the reference's
    /// `nextString`).
    pub(crate) fn push_string(&mut self, out: &mut String, max_len: u64, special: char) {
        const MIN_LEN: u64 = 3;
        let len = MIN_LEN + self.below(max_len.saturating_sub(MIN_LEN));
        let start = out.len();
        for _ in 0..len {
            let bits = self.next_u64();
            if ((bits & 0xffff_ffff) * 13) >> 32 == 0 {
                out.push(special);
            } else {
                out.push(char::from(b'a' + (((bits >> 32) * 26) >> 32) as u8));
            }
        }
        let kept = out[start..].trim_end_matches(' ').len();
        out.truncate(start + kept);
        let leading = out[start..].len() - out[start..].trim_start_matches(' ').len();
        if leading > 0 {
            out.drain(start..start + leading);
        }
    }

    /// Appends the `extra` padding that brings an event of `current_size` bytes to
    /// `average_size` on average: `average - current ± 20%` letters, none when the event is
    /// already larger (the reference's `nextExtra`).
    pub(crate) fn push_extra(&mut self, out: &mut String, current_size: usize, average_size: u32) {
        let Some(wanted) = (average_size as usize).checked_sub(current_size) else {
            return;
        };
        let delta = (wanted as f64 * 0.2).round() as usize;
        let len = wanted - delta + if delta == 0 { 0 } else { self.below(2 * delta as u64) as usize };
        self.push_letters(out, len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_key_and_id_give_the_same_stream_and_neighbours_differ() {
        let key = SeedKey::new(7, 0);
        let draw = |id| {
            let mut rng = Rng::new(key, id);
            [rng.next_u64(), rng.next_u64()]
        };
        assert_eq!(draw(5), draw(5));
        assert_ne!(draw(5), draw(6));
        let mut other = Rng::new(SeedKey::new(8, 0), 5);
        assert_ne!(draw(5)[0], other.next_u64());
    }

    #[test]
    fn below_stays_in_range_and_hits_every_value() {
        let mut rng = Rng::new(SeedKey::new(1, 0), 1);
        let mut seen = [0u32; 13];
        for _ in 0..13_000 {
            seen[rng.below(13) as usize] += 1;
        }
        assert!(seen.iter().all(|&n| (800..1200).contains(&n)), "{seen:?}");
        assert_eq!(rng.below(0), 0);
    }

    #[test]
    fn prices_span_one_dollar_to_a_million() {
        let mut rng = Rng::new(SeedKey::new(1, 0), 2);
        let prices: Vec<u64> = (0..10_000).map(|_| rng.price()).collect();
        assert!(prices.iter().all(|p| (100..=100_000_000).contains(p)));
        assert!(prices.iter().any(|&p| p < 1_000) && prices.iter().any(|&p| p > 10_000_000));
    }

    #[test]
    fn strings_have_the_reference_lengths_and_alphabet() {
        let mut rng = Rng::new(SeedKey::new(1, 0), 3);
        for _ in 0..1000 {
            let mut s = String::from("x");
            rng.push_string(&mut s, 20, ' ');
            let body = &s[1..];
            assert!(body.len() <= 19, "{body:?}");
            assert_eq!(body, body.trim());
            assert!(body.bytes().all(|b| b == b' ' || b.is_ascii_lowercase()));
            let mut letters = String::new();
            rng.push_letters(&mut letters, 37);
            assert_eq!(letters.len(), 37);
            assert!(letters.bytes().all(|b| b.is_ascii_lowercase()));
        }
        let mut all = String::new();
        rng.push_letters(&mut all, 26 * 1000);
        assert!((b'a'..=b'z').all(|c| all.as_bytes().contains(&c)));
    }

    #[test]
    fn extra_pads_to_the_average_within_twenty_percent() {
        let mut rng = Rng::new(SeedKey::new(1, 0), 4);
        let mut total = 0;
        for _ in 0..10_000 {
            let mut s = String::new();
            rng.push_extra(&mut s, 32, 100);
            assert!((54..82).contains(&s.len()), "{}", s.len());
            total += s.len();
        }
        let average = total as f64 / 10_000.0;
        assert!((66.0..70.0).contains(&average), "{average}");
        let mut none = String::new();
        rng.push_extra(&mut none, 300, 100);
        assert!(none.is_empty());
    }
}
