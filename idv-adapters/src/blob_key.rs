//! The rule every blob store applies to keys, so that a key can never leave its root.

use idv_core::{Error, Result};

/// Accepts `/`-separated segments of ASCII letters, digits, `_`, `-` and `.`, with no empty,
/// `.` or `..` segment.
pub(crate) fn check(key: &str) -> Result<()> {
    let segment_ok = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
    };
    if key.len() <= 512 && key.split('/').all(segment_ok) {
        Ok(())
    } else {
        Err(Error::internal(format!("blob key {key:?} is not allowed")))
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn refuses_keys_that_could_escape_the_root() {
        assert!(check("verifications/ab12/selfie_image").is_ok());
        for bad in ["", "/abs", "a//b", "a/../b", "..", "a/./b", "a\\b", "a/b/"] {
            assert!(check(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
