//! Seeded generators of synthetic test material: identity documents with machine-readable
//! zones ([`cards`]) and presentation attacks on selfies. idv measures its MRZ read rate and its
//! liveness error rates on them; the same seed always gives the same images, so the published
//! figures can be reproduced.

pub mod attacks;
pub mod cards;

use image::codecs::jpeg::JpegEncoder;
use image::RgbImage;

/// Radius and weights of a normalised Gaussian kernel of standard deviation `sigma`, cut at
/// three sigmas.
pub(crate) fn gaussian_kernel(sigma: f32) -> (i32, Vec<f32>) {
    let radius = (3.0 * sigma).ceil() as i32;
    let weights: Vec<f32> = (-radius..=radius)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f32 = weights.iter().sum();
    (radius, weights.iter().map(|w| w / total).collect())
}

/// `image` encoded as JPEG at `quality` and decoded again, as a camera or an upload would.
pub(crate) fn jpeg_round_trip(image: &RgbImage, quality: u8) -> RgbImage {
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, quality)
        .encode_image(image)
        .expect("encoding an in-memory RGB image cannot fail");
    image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)
        .expect("decoding our own JPEG cannot fail")
        .to_rgb8()
}
