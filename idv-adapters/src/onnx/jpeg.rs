//! A structural completeness check for JPEG files.
//!
//! The JPEG decoder behind the `image` crate is lenient: a file cut off mid-scan decodes
//! "successfully" with the missing part filled with grey. A half-grey selfie must never reach
//! face matching, so before decoding we walk the marker segments and require the scan data to
//! be followed by an end-of-image marker.

const MARKER: u8 = 0xFF;
const START_OF_IMAGE: u8 = 0xD8;
const END_OF_IMAGE: u8 = 0xD9;
const START_OF_SCAN: u8 = 0xDA;
/// Marker bytes that carry no length field: TEM and the restart markers RST0–RST7.
const STANDALONE: [u8; 9] = [0x01, 0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7];

/// True when `bytes` is a JPEG whose segments are all complete and which reaches its
/// end-of-image marker after at least one scan. Bytes after that marker are ignored.
pub(crate) fn is_complete(bytes: &[u8]) -> bool {
    if !bytes.starts_with(&[MARKER, START_OF_IMAGE]) {
        return false;
    }
    let mut pos = 2;
    let mut seen_scan = false;
    while let Some((marker, after)) = next_marker(bytes, pos) {
        pos = match marker {
            END_OF_IMAGE => return seen_scan,
            m if STANDALONE.contains(&m) => after,
            START_OF_SCAN => {
                seen_scan = true;
                match skip_segment(bytes, after).and_then(|p| skip_entropy_data(bytes, p)) {
                    Some(p) => p,
                    None => return false,
                }
            }
            _ => match skip_segment(bytes, after) {
                Some(p) => p,
                None => return false,
            },
        };
    }
    false
}

/// Reads the marker starting at `pos` (an 0xFF, possibly followed by 0xFF fill bytes); returns
/// the marker code and the position after it. Stray bytes before a marker are tolerated, as
/// every mainstream decoder does.
fn next_marker(bytes: &[u8], pos: usize) -> Option<(u8, usize)> {
    let start = pos + bytes.get(pos..)?.iter().position(|&b| b == MARKER)?;
    let code_at = start + bytes[start..].iter().position(|&b| b != MARKER)?;
    Some((bytes[code_at], code_at + 1))
}

/// Skips a segment with a big-endian length field (which counts itself) starting at `pos`.
fn skip_segment(bytes: &[u8], pos: usize) -> Option<usize> {
    let length = usize::from(u16::from_be_bytes([*bytes.get(pos)?, *bytes.get(pos + 1)?]));
    let end = pos.checked_add(length)?;
    (length >= 2 && end <= bytes.len()).then_some(end)
}

/// Skips entropy-coded scan data, in which 0xFF is followed by 0x00 (a stuffed byte), a restart
/// marker or more 0xFF fill; returns the position of the first real marker after the scan.
fn skip_entropy_data(bytes: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        pos += bytes.get(pos..)?.iter().position(|&b| b == MARKER)?;
        let next = *bytes.get(pos + 1)?;
        match next {
            0x00 | MARKER => pos += 1,
            0xD0..=0xD7 => pos += 2,
            _ => return Some(pos),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SOI, an APP0 segment, SOS with a one-byte header body, scan data with a stuffed 0xFF and a
    /// restart marker, EOI.
    fn minimal() -> Vec<u8> {
        let mut jpeg = vec![0xFF, 0xD8];
        jpeg.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x04, b'J', b'F']);
        jpeg.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x03, 0x01]);
        jpeg.extend_from_slice(&[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56]);
        jpeg.extend_from_slice(&[0xFF, 0xD9]);
        jpeg
    }

    #[test]
    fn complete_file_passes() {
        assert!(is_complete(&minimal()));
        let mut trailing = minimal();
        trailing.extend_from_slice(b"trailer");
        assert!(is_complete(&trailing));
    }

    #[test]
    fn every_truncation_fails() {
        let jpeg = minimal();
        for cut in 0..jpeg.len() {
            assert!(!is_complete(&jpeg[..cut]), "cut at {cut}");
        }
    }

    #[test]
    fn end_marker_inside_a_segment_does_not_count() {
        // An EXIF thumbnail carries its own EOI inside APP1; the file is still cut off.
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x04, 0xFF, 0xD9];
        jpeg.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x03, 0x01, 0x12, 0x34]);
        assert!(!is_complete(&jpeg));
    }

    #[test]
    fn end_without_scan_fails() {
        assert!(!is_complete(&[0xFF, 0xD8, 0xFF, 0xD9]));
    }
}
