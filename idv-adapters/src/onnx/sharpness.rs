//! Focus of a document photo.
//!
//! Printed text has edges a pixel or two wide; blur widens them and lowers the second
//! derivative across them. The measure is the 99.5th percentile of the absolute Laplacian of
//! the grey image, divided by its contrast (99.5th minus 0.5th percentile of the grey values),
//! so that lighting and exposure do not change it. The image is first scaled so that its longer
//! side is at most [`WORKING_SIDE`] pixels; a larger photo of the same card measures alike.
//!
//! [`SHARP_ENOUGH`] was set on `photos/id_td1_valid_flat.png` blurred with a Gaussian of
//! growing σ: its machine-readable zone reads with confidence up to σ = 2.5 (measure 0.078) and
//! no longer at σ = 3 (0.054); the unblurred card measures 1.17 and a phone-sharp portrait
//! photo 0.24–0.61. See `docs/scoring.md`.

use image::{imageops, GrayImage, RgbImage};

/// Longer side, in pixels, at which focus is measured.
pub const WORKING_SIDE: u32 = 1200;
/// Focus measure below which a document photo is too blurred to check.
pub const SHARP_ENOUGH: f32 = 0.07;

/// The focus measure of `image` (see the module docs); larger is sharper.
pub fn sharpness(image: &RgbImage) -> f32 {
    let grey = working_copy(image);
    let (w, h) = grey.dimensions();
    if w < 3 || h < 3 {
        return 0.0;
    }
    let mut values = Vec::with_capacity(grey.len());
    for &v in grey.as_raw() {
        values.push(f32::from(v));
    }
    let contrast = percentile(&mut values.clone(), 0.995) - percentile(&mut values, 0.005);
    if contrast < 1.0 {
        return 0.0;
    }
    let at = |x: u32, y: u32| f32::from(grey.get_pixel(x, y).0[0]);
    let mut laplacian = Vec::with_capacity(((w - 2) * (h - 2)) as usize);
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let l = at(x - 1, y) + at(x + 1, y) + at(x, y - 1) + at(x, y + 1) - 4.0 * at(x, y);
            laplacian.push(l.abs());
        }
    }
    percentile(&mut laplacian, 0.995) / contrast
}

fn working_copy(image: &RgbImage) -> GrayImage {
    let grey = imageops::grayscale(image);
    let (w, h) = grey.dimensions();
    let long = w.max(h);
    if long <= WORKING_SIDE {
        return grey;
    }
    let scale = WORKING_SIDE as f32 / long as f32;
    let (nw, nh) = (
        ((w as f32 * scale).round() as u32).max(1),
        ((h as f32 * scale).round() as u32).max(1),
    );
    imageops::resize(&grey, nw, nh, imageops::FilterType::Triangle)
}

/// The `q` quantile of `values` (reorders them).
fn percentile(values: &mut [f32], q: f32) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    let index = ((values.len() - 1) as f32 * q).round() as usize;
    let (_, value, _) = values.select_nth_unstable_by(index, f32::total_cmp);
    *value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_like() -> RgbImage {
        RgbImage::from_fn(400, 200, |x, y| {
            let stroke = (x / 3) % 4 == 0 && (y / 20) % 2 == 0;
            if stroke {
                image::Rgb([20, 20, 20])
            } else {
                image::Rgb([230, 230, 230])
            }
        })
    }

    #[test]
    fn blur_lowers_the_measure_and_exposure_does_not_change_it() {
        let sharp = text_like();
        let blurred = imageops::blur(&sharp, 3.0);
        assert!(sharpness(&sharp) > SHARP_ENOUGH, "{}", sharpness(&sharp));
        assert!(sharpness(&blurred) < sharpness(&sharp) / 3.0);
        let dim = RgbImage::from_fn(400, 200, |x, y| {
            let p = sharp.get_pixel(x, y).0;
            image::Rgb(p.map(|v| v / 2))
        });
        assert!((sharpness(&dim) - sharpness(&sharp)).abs() < 0.05);
    }

    #[test]
    fn a_flat_image_has_no_focus() {
        assert_eq!(sharpness(&RgbImage::new(50, 50)), 0.0);
        assert_eq!(sharpness(&RgbImage::new(2, 2)), 0.0);
    }
}
