//! Face alignment: maps the five detected landmarks onto the 112×112 template SFace was trained
//! on, so that the embedding sees every face at the same position, size and roll.

use image::RgbImage;

/// Side of the aligned crop.
pub(crate) const ALIGNED_SIDE: u32 = 112;

/// Where the eyes, nose tip and mouth corners sit in a 112×112 aligned face.
const TEMPLATE: [[f32; 2]; 5] = [
    [38.2946, 51.6963],
    [73.5318, 51.5014],
    [56.0252, 71.7366],
    [41.5493, 92.3655],
    [70.7299, 92.2041],
];

/// A similarity transform `p ↦ [a −b; b a]·p + t` (rotation, uniform scale, translation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Similarity {
    a: f32,
    b: f32,
    tx: f32,
    ty: f32,
}

impl Similarity {
    /// Least-squares fit of `src` onto `dst` (Umeyama's estimate without reflection).
    ///
    /// In 2-D a reflection-free similarity is multiplication by one complex number plus a shift,
    /// so Umeyama's SVD reduces to a closed form on the centred points.
    pub(crate) fn fit(src: &[[f32; 2]; 5], dst: &[[f32; 2]; 5]) -> Option<Self> {
        let (sx, sy) = centroid(src);
        let (dx, dy) = centroid(dst);
        let (mut dot, mut cross, mut norm) = (0f32, 0f32, 0f32);
        for (s, d) in src.iter().zip(dst) {
            let (px, py) = (s[0] - sx, s[1] - sy);
            let (qx, qy) = (d[0] - dx, d[1] - dy);
            dot += px * qx + py * qy;
            cross += px * qy - py * qx;
            norm += px * px + py * py;
        }
        // All landmarks on one point: no scale or rotation can be recovered.
        if norm <= f32::EPSILON {
            return None;
        }
        let (a, b) = (dot / norm, cross / norm);
        Some(Self {
            a,
            b,
            tx: dx - (a * sx - b * sy),
            ty: dy - (b * sx + a * sy),
        })
    }

    pub(crate) fn apply(&self, [x, y]: [f32; 2]) -> [f32; 2] {
        [
            self.a * x - self.b * y + self.tx,
            self.b * x + self.a * y + self.ty,
        ]
    }

    /// The inverse map, from the aligned crop back into the source image.
    fn inverse(&self) -> Self {
        let det = self.a * self.a + self.b * self.b;
        let (a, b) = (self.a / det, -self.b / det);
        Self {
            a,
            b,
            tx: -(a * self.tx - b * self.ty),
            ty: -(b * self.tx + a * self.ty),
        }
    }
}

fn centroid(points: &[[f32; 2]; 5]) -> (f32, f32) {
    let n = points.len() as f32;
    let (x, y) = points
        .iter()
        .fold((0.0, 0.0), |(x, y), p| (x + p[0], y + p[1]));
    (x / n, y / n)
}

/// Cuts out the 112×112 aligned face, or `None` when the landmarks are degenerate.
pub(crate) fn align(image: &RgbImage, landmarks: &[[f32; 2]; 5]) -> Option<RgbImage> {
    let to_source = Similarity::fit(landmarks, &TEMPLATE)?.inverse();
    let side = ALIGNED_SIDE as usize;
    let mut out = Vec::with_capacity(side * side * 3);
    for y in 0..side {
        for x in 0..side {
            let [sx, sy] = to_source.apply([x as f32, y as f32]);
            out.extend_from_slice(&bilinear(image, sx, sy));
        }
    }
    RgbImage::from_raw(ALIGNED_SIDE, ALIGNED_SIDE, out)
}

/// Samples at a fractional position; outside the image counts as black, like the zero border
/// the reference implementation uses.
fn bilinear(image: &RgbImage, x: f32, y: f32) -> [u8; 3] {
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let (x0, y0) = (x0 as i64, y0 as i64);
    let mut out = [0f32; 3];
    let taps = [
        (x0, y0, (1.0 - fx) * (1.0 - fy)),
        (x0 + 1, y0, fx * (1.0 - fy)),
        (x0, y0 + 1, (1.0 - fx) * fy),
        (x0 + 1, y0 + 1, fx * fy),
    ];
    for (px, py, weight) in taps {
        if let Some(rgb) = pixel_at(image, px, py) {
            (0..3).for_each(|c| out[c] += weight * f32::from(rgb[c]));
        }
    }
    out.map(|v| v.round().clamp(0.0, 255.0) as u8)
}

/// The RGB bytes of one pixel, read from the raw buffer (no per-pixel generic accessors).
fn pixel_at(image: &RgbImage, x: i64, y: i64) -> Option<&[u8]> {
    let (x, y) = (usize::try_from(x).ok()?, usize::try_from(y).ok()?);
    let (width, height) = (image.width() as usize, image.height() as usize);
    if x >= width || y >= height {
        return None;
    }
    let start = (y * width + x) * 3;
    image.as_raw().get(start..start + 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(p: [f32; 2], q: [f32; 2]) -> bool {
        (p[0] - q[0]).abs() < 1e-3 && (p[1] - q[1]).abs() < 1e-3
    }

    #[test]
    fn fit_recovers_an_exact_similarity() {
        // Rotate by 30°, scale by 2, shift by (5, -3).
        let (c, s) = (
            30f32.to_radians().cos() * 2.0,
            30f32.to_radians().sin() * 2.0,
        );
        let truth = Similarity {
            a: c,
            b: s,
            tx: 5.0,
            ty: -3.0,
        };
        let src = TEMPLATE;
        let dst = src.map(|p| truth.apply(p));
        let fitted = Similarity::fit(&src, &dst).unwrap();
        assert!(src
            .iter()
            .zip(&dst)
            .all(|(&p, &q)| close(fitted.apply(p), q)));
        let back = fitted.inverse();
        assert!(src.iter().zip(&dst).all(|(&p, &q)| close(back.apply(q), p)));
    }

    #[test]
    fn fit_never_reflects() {
        // Mirrored landmarks are matched exactly only by a reflection, which the fit must not use.
        let mirrored = TEMPLATE.map(|[x, y]| [112.0 - x, y]);
        let fitted = Similarity::fit(&mirrored, &TEMPLATE).unwrap();
        let residual: f32 = mirrored
            .iter()
            .zip(&TEMPLATE)
            .map(|(&p, q)| {
                let [x, y] = fitted.apply(p);
                (x - q[0]).powi(2) + (y - q[1]).powi(2)
            })
            .sum();
        assert!(residual > 100.0, "residual {residual}");
    }

    #[test]
    fn degenerate_landmarks_are_refused() {
        assert!(Similarity::fit(&[[1.0, 1.0]; 5], &TEMPLATE).is_none());
    }

    #[test]
    fn identity_alignment_copies_pixels() {
        let image = RgbImage::from_fn(112, 112, |x, y| image::Rgb([x as u8, y as u8, 7]));
        let aligned = align(&image, &TEMPLATE).unwrap();
        assert_eq!(aligned, image);
    }
}
