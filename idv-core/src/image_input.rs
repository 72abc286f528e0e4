//! Images as clients send them: base64 text, possibly wrapped in lines or in a `data:` URL.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;

use crate::error::{Error, Result};

/// Standard alphabet; padding may be present or absent.
const LENIENT_STANDARD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Image formats idv accepts, recognised by their magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Jpeg,
    Png,
    WebP,
}

impl ImageFormat {
    /// Recognises the format from the first bytes of the file.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Self::WebP)
        } else {
            None
        }
    }

    /// The format a `data:` URL media type names, if it is one idv accepts.
    fn from_media_type(media_type: &str) -> Option<Self> {
        match media_type.to_ascii_lowercase().as_str() {
            "image/jpeg" | "image/jpg" | "image/pjpeg" => Some(Self::Jpeg),
            "image/png" => Some(Self::Png),
            "image/webp" => Some(Self::WebP),
            _ => None,
        }
    }
}

/// Decodes an image field: standard base64 with or without padding, with any ASCII whitespace
/// (line breaks every 76 characters, CRLF), optionally inside a `data:image/…;base64,` URL.
///
/// Errors name `field`: `invalid_base64`, `unsupported_image_type` (a `data:` URL of another
/// type, or bytes that are not JPEG, PNG or WebP), `mime_mismatch` (the URL's type differs from
/// the bytes) and `required` for an empty value.
pub fn decode_image_field(field: &'static str, text: &str) -> Result<Vec<u8>> {
    let (declared, payload) = split_data_url(field, text.trim())?;
    let compact: Vec<u8> = payload
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if compact.is_empty() {
        return Err(Error::invalid(field, "required", "the image is empty"));
    }
    let bytes = LENIENT_STANDARD.decode(&compact).map_err(|_| {
        Error::invalid(
            field,
            "invalid_base64",
            "the image is not valid standard base64",
        )
    })?;
    let Some(actual) = ImageFormat::sniff(&bytes) else {
        return Err(Error::invalid(
            field,
            "unsupported_image_type",
            "the image is not a JPEG, PNG or WebP file",
        ));
    };
    if declared.is_some_and(|declared| declared != actual) {
        return Err(Error::invalid(
            field,
            "mime_mismatch",
            "the data URL's media type does not match the image content",
        ));
    }
    Ok(bytes)
}

/// Splits an optional `data:<type>;base64,` prefix from the payload.
fn split_data_url<'a>(
    field: &'static str,
    text: &'a str,
) -> Result<(Option<ImageFormat>, &'a str)> {
    let Some(rest) = strip_prefix_ignore_case(text, "data:") else {
        return Ok((None, text));
    };
    let Some((header, payload)) = rest.split_once(',') else {
        return Err(Error::invalid(
            field,
            "invalid_base64",
            "the data URL has no ',' before its data",
        ));
    };
    let mut parts = header.split(';');
    let media_type = parts.next().unwrap_or_default().trim();
    if !parts.any(|p| p.trim().eq_ignore_ascii_case("base64")) {
        return Err(Error::invalid(
            field,
            "invalid_base64",
            "the data URL must be base64-encoded",
        ));
    }
    match ImageFormat::from_media_type(media_type) {
        Some(format) => Ok((Some(format), payload)),
        None => Err(Error::invalid(
            field,
            "unsupported_image_type",
            "the data URL must be of type image/jpeg, image/png or image/webp",
        )),
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n0000";

    fn code_of(result: Result<Vec<u8>>) -> &'static str {
        match result {
            Err(Error::Invalid { code, field, .. }) => {
                assert_eq!(field, "selfie_image");
                code
            }
            other => panic!("expected an invalid-field error, got {other:?}"),
        }
    }

    #[test]
    fn accepts_padded_and_unpadded_base64() {
        let padded = LENIENT_STANDARD.encode(PNG_MAGIC);
        let unpadded = padded.trim_end_matches('=').to_string();
        assert_eq!(
            decode_image_field("selfie_image", &padded).unwrap(),
            PNG_MAGIC
        );
        assert_eq!(
            decode_image_field("selfie_image", &unpadded).unwrap(),
            PNG_MAGIC
        );
    }

    #[test]
    fn accepts_line_breaks_and_data_url_prefix() {
        let encoded = LENIENT_STANDARD.encode(PNG_MAGIC);
        let wrapped = format!("{}\r\n{}\n", &encoded[..4], &encoded[4..]);
        let url = format!("data:image/png;base64,{wrapped}");
        assert_eq!(decode_image_field("selfie_image", &url).unwrap(), PNG_MAGIC);
    }

    #[test]
    fn rejects_url_safe_alphabet_and_junk() {
        assert_eq!(
            code_of(decode_image_field("selfie_image", "iVBO*w0K")),
            "invalid_base64"
        );
        assert_eq!(
            code_of(decode_image_field("selfie_image", "iVBO_w0K")),
            "invalid_base64"
        );
    }

    #[test]
    fn rejects_declared_type_that_differs_from_content() {
        let url = format!(
            "data:image/jpeg;base64,{}",
            LENIENT_STANDARD.encode(PNG_MAGIC)
        );
        assert_eq!(
            code_of(decode_image_field("selfie_image", &url)),
            "mime_mismatch"
        );
    }

    #[test]
    fn rejects_non_image_data_url_and_non_image_bytes() {
        let html = format!(
            "data:text/html;base64,{}",
            LENIENT_STANDARD.encode(b"<p>hi</p>")
        );
        assert_eq!(
            code_of(decode_image_field("selfie_image", &html)),
            "unsupported_image_type"
        );
        let text = LENIENT_STANDARD.encode(b"plain text, not an image");
        assert_eq!(
            code_of(decode_image_field("selfie_image", &text)),
            "unsupported_image_type"
        );
    }

    #[test]
    fn rejects_empty_value() {
        assert_eq!(
            code_of(decode_image_field("selfie_image", "  \n")),
            "required"
        );
    }
}
