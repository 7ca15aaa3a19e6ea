//! A portable 64-bit mixing function, the same on every machine.

/// SplitMix64: a fast bijective mix of a 64-bit value. Used to derive stable, well-spread
/// numbers (seeds, ids, tokens) from counters, so that the same input gives the same output
/// on any platform.
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
