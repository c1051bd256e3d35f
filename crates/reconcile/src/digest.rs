//! Secret values are compared by digest: the observed state never keeps a value, and a digest is
//! never printed.

use std::fmt;

use sha2::{Digest as _, Sha256};

#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Digest([u8; 32]);

impl Digest {
    pub fn of(value: &str) -> Self {
        Digest(Sha256::digest(value.as_bytes()).into())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Digest(sensitive)")
    }
}
