//! Seeded generators of synthetic test material: identity documents with machine-readable
//! zones ([`cards`]) and presentation attacks on selfies. idv measures its MRZ read rate and its
//! liveness error rates on them; the same seed always gives the same images, so the published
//! figures can be reproduced.

pub mod attacks;
pub mod cards;
