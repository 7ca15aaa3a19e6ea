//! TETRA ids as rcload numbers them: a generated population's terminals (ISSIs) and
//! talkgroups (GSSIs) count up from these; a fleet map brings its own.

/// The first ISSI of a generated population.
pub const FIRST_ISSI: u32 = 1_000_001;
/// The first GSSI of a generated population.
pub const FIRST_GSSI: u32 = 100_001;
