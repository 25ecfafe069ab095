//! Seeded random streams. Every random choice in regimebench draws from a stream named by what it
//! is for and the integers that identify it, so adding a new use never shifts an existing one.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The generator for one purpose: `stream("order", &[o])`, `stream("subset", &[seed, class])`, ...
/// The seed is a fixed FNV-1a hash of the name and the integers (little-endian), so a stream is the
/// same on every platform and in every version of this program.
pub fn stream(name: &str, ids: &[u64]) -> ChaCha8Rng {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    eat(name.as_bytes());
    for id in ids {
        eat(&id.to_le_bytes());
    }
    ChaCha8Rng::seed_from_u64(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: u64 = stream("order", &[3]).gen();
        assert_eq!(a, stream("order", &[3]).gen::<u64>());
        assert_ne!(a, stream("order", &[4]).gen::<u64>());
        assert_ne!(a, stream("subset", &[3]).gen::<u64>());
        // Pinned: a change of generator, hash or byte order would silently move every stream.
        assert_eq!(a, 1_827_301_863_327_552_433);
        assert_eq!(stream("init", &[0, 1]).gen::<u32>(), 2_512_169_431);
    }
}
