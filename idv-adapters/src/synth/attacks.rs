//! Seeded simulation of presentation attacks (and of ordinary live captures) for measuring the
//! passive liveness check: APCER is the share of simulated attacks it accepts, BPCER the share of
//! bona fide captures it rejects.
//!
//! Every function is a pure function of its inputs and `seed` (a `StdRng`), so a figure can be
//! reproduced exactly. Scenes are rendered by inverse mapping: each camera pixel is traced
//! through a perspective homography onto the presented surface and supersampled 3 × 3, so
//! halftone dots and screen subpixels alias into moiré the way a real sensor makes them.
//! Light is handled in linear RGB; the simulated camera then applies auto-exposure, lens blur,
//! sensor noise, sRGB encoding and JPEG.
//!
//! Parameter ranges (uniform unless stated):
//!
//! * **print** — the whole photo printed with white margins (3–12 % of its width) on paper
//!   (reflectance 0.80–0.90) lying on a random background; colour CMYK halftone (screen angles
//!   15°/75°/0°/45°, 70 % of seeds) or monochrome 45° halftone; 85–175 lpi on a 3.5–7 inch
//!   print (300–1 200 cells across). Camera: 480–1 200 px wide (3:4), face 22–50 % of the frame
//!   width, rotation ±8°, keystone ±20 %, uneven light 0.7–1.1, lens blur σ 0.3–1.4 px, noise
//!   σ 1–4 levels, JPEG 70–95.
//! * **screen** — the photo shown on an RGB-stripe display (fill factor 70–85 %) with a dark
//!   bezel, gamma 1.8–2.6, brightness 0.6–1.0, a colour cast of ±8 % and 0.5–4 % glass reflection;
//!   0.35–2.0 camera pixels per screen pixel (log-uniform), same camera model as print.
//! * **card** — the ID card image (plain, not halftoned) with rounded corners, 55–90 % of a
//!   640–1 280 px wide (4:3) frame, rotation ±10°, keystone ±20 %, uneven light, blur σ 0.3–1.2,
//!   noise σ 1–4, JPEG 70–95.
//! * **bona fide** — rescale 0.5–1.0, exposure ×0.8–1.2 in linear light, blur σ 0–0.7, noise
//!   σ 0.5–2.5, JPEG 60–95.
//!
//! Limits: no paper texture, gloss, specular glare of a phone screen, OLED pentile layouts,
//! moving hands or 3-D masks; the backgrounds are smooth procedural fields. Treat error rates
//! measured with these attacks as an optimistic upper bound on what real recaptures achieve.

use image::{Rgb, RgbImage};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::jpeg_round_trip;
use crate::onnx::passive::FaceRegion;

type Lin = [f32; 3];

fn to_lin(v: u8) -> f32 {
    (v as f32 / 255.0).powf(2.2)
}

fn to_srgb(v: f32) -> f32 {
    v.clamp(0.0, 1.0).powf(1.0 / 2.2) * 255.0
}

/// A linear-light float image.
#[derive(Clone)]
struct LinImage {
    w: usize,
    h: usize,
    px: Vec<Lin>,
}

impl LinImage {
    fn from_rgb(img: &RgbImage) -> Self {
        let lut: Vec<f32> = (0..=255u8).map(to_lin).collect();
        Self {
            w: img.width() as usize,
            h: img.height() as usize,
            px: img
                .pixels()
                .map(|p| [lut[p[0] as usize], lut[p[1] as usize], lut[p[2] as usize]])
                .collect(),
        }
    }

    /// Bilinear sample at continuous pixel coordinates (pixel centres at +0.5), edge-clamped.
    fn sample(&self, x: f32, y: f32) -> Lin {
        let fx = (x - 0.5).clamp(0.0, (self.w - 1) as f32);
        let fy = (y - 0.5).clamp(0.0, (self.h - 1) as f32);
        let (x0, y0) = (fx as usize, fy as usize);
        let (x1, y1) = ((x0 + 1).min(self.w - 1), (y0 + 1).min(self.h - 1));
        let (ax, ay) = (fx - x0 as f32, fy - y0 as f32);
        let p = |x: usize, y: usize| self.px[y * self.w + x];
        let mut out = [0.0; 3];
        for (c, o) in out.iter_mut().enumerate() {
            let top = p(x0, y0)[c] * (1.0 - ax) + p(x1, y0)[c] * ax;
            let bot = p(x0, y1)[c] * (1.0 - ax) + p(x1, y1)[c] * ax;
            *o = top * (1.0 - ay) + bot * ay;
        }
        out
    }

    /// Area-averaged resize (each output pixel averages a 4 × 4 grid of bilinear samples).
    fn resize(&self, w: usize, h: usize) -> Self {
        let (sx, sy) = (self.w as f32 / w as f32, self.h as f32 / h as f32);
        let mut px = Vec::with_capacity(w * h);
        for y in 0..h {
            for x in 0..w {
                let mut acc = [0.0; 3];
                for j in 0..4 {
                    for i in 0..4 {
                        let s = self.sample(
                            (x as f32 + (i as f32 + 0.5) / 4.0) * sx,
                            (y as f32 + (j as f32 + 0.5) / 4.0) * sy,
                        );
                        (0..3).for_each(|c| acc[c] += s[c] / 16.0);
                    }
                }
                px.push(acc);
            }
        }
        Self { w, h, px }
    }

    /// Separable Gaussian blur.
    fn blur(&mut self, sigma: f32) {
        if sigma < 0.05 {
            return;
        }
        let (r, k) = super::gaussian_kernel(sigma);
        let (w, h) = (self.w as i32, self.h as i32);
        let mut tmp = vec![[0.0; 3]; self.px.len()];
        for y in 0..h {
            for x in 0..w {
                let mut acc = [0.0; 3];
                for (i, kv) in k.iter().enumerate() {
                    let xx = (x + i as i32 - r).clamp(0, w - 1);
                    let p = self.px[(y * w + xx) as usize];
                    (0..3).for_each(|c| acc[c] += kv * p[c]);
                }
                tmp[(y * w + x) as usize] = acc;
            }
        }
        for y in 0..h {
            for x in 0..w {
                let mut acc = [0.0; 3];
                for (i, kv) in k.iter().enumerate() {
                    let yy = (y + i as i32 - r).clamp(0, h - 1);
                    let p = tmp[(yy * w + x) as usize];
                    (0..3).for_each(|c| acc[c] += kv * p[c]);
                }
                self.px[(y * w + x) as usize] = acc;
            }
        }
    }
}

/// A 3 × 3 projective transform, row-major.
#[derive(Clone, Copy)]
struct Homography([f64; 9]);

impl Homography {
    fn apply(&self, x: f64, y: f64) -> (f64, f64) {
        let m = &self.0;
        let w = m[6] * x + m[7] * y + m[8];
        (
            (m[0] * x + m[1] * y + m[2]) / w,
            (m[3] * x + m[4] * y + m[5]) / w,
        )
    }

    /// The transform taking each `from[i]` to `to[i]` (four points, no three collinear).
    fn from_points(from: [(f64, f64); 4], to: [(f64, f64); 4]) -> Self {
        let mut a = [[0.0f64; 9]; 8];
        for i in 0..4 {
            let ((x, y), (u, v)) = (from[i], to[i]);
            a[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
            a[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
        }
        // Gaussian elimination with partial pivoting on the 8 × 8 system.
        for col in 0..8 {
            let piv = (col..8)
                .max_by(|&p, &q| a[p][col].abs().total_cmp(&a[q][col].abs()))
                .unwrap_or(col);
            a.swap(col, piv);
            let d = a[col][col];
            a[col][col..].iter_mut().for_each(|v| *v /= d);
            let pivot_row = a[col];
            for (r, row) in a.iter_mut().enumerate() {
                if r != col {
                    let f = row[col];
                    for (v, p) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                        *v -= f * p;
                    }
                }
            }
        }
        let mut m = [1.0; 9];
        for (i, row) in a.iter().enumerate() {
            m[i] = row[8];
        }
        Self(m)
    }
}

/// Where the presented surface lies in the camera frame.
struct Framing {
    /// Camera pixel → surface coordinates.
    cam_to_surface: Homography,
    width: usize,
    height: usize,
}

/// Places the surface point `anchor` near the frame centre at `scale` camera pixels per surface
/// unit, rotated and keystoned, and returns the inverse mapping. `extent` is the surface rectangle
/// used to define the correspondence.
fn frame(
    rng: &mut StdRng,
    (width, height): (usize, usize),
    extent: (f64, f64),
    anchor: (f64, f64),
    scale: f64,
    max_rot_deg: f64,
) -> Framing {
    let rot = rng.gen_range(-max_rot_deg..=max_rot_deg).to_radians();
    let key_x = rng.gen_range(-0.2..=0.2);
    let key_y = rng.gen_range(-0.2..=0.2);
    let (cx, cy) = (
        width as f64 * rng.gen_range(0.42..0.58),
        height as f64 * rng.gen_range(0.4..0.55),
    );
    let corners = [
        (0.0, 0.0),
        (extent.0, 0.0),
        (extent.0, extent.1),
        (0.0, extent.1),
    ];
    let to_cam = |(x, y): (f64, f64)| {
        let (dx, dy) = ((x - anchor.0) * scale, (y - anchor.1) * scale);
        let (rx, ry) = (
            dx * rot.cos() - dy * rot.sin(),
            dx * rot.sin() + dy * rot.cos(),
        );
        // Keystone: the far side of a tilted sheet is smaller.
        let kx = 1.0 + key_y * ry / height as f64;
        let ky = 1.0 + key_x * rx / width as f64;
        (cx + rx * kx, cy + ry * ky)
    };
    let cam = corners.map(to_cam);
    Framing {
        cam_to_surface: Homography::from_points(cam, corners),
        width,
        height,
    }
}

/// Renders the camera's linear image: each pixel averages `ss × ss` samples of `surface`.
fn render(f: &Framing, ss: usize, surface: impl Fn(f64, f64) -> Lin) -> LinImage {
    let mut px = Vec::with_capacity(f.width * f.height);
    let n = (ss * ss) as f32;
    for y in 0..f.height {
        for x in 0..f.width {
            let mut acc = [0.0; 3];
            for j in 0..ss {
                for i in 0..ss {
                    let (u, v) = f.cam_to_surface.apply(
                        x as f64 + (i as f64 + 0.5) / ss as f64,
                        y as f64 + (j as f64 + 0.5) / ss as f64,
                    );
                    let s = surface(u, v);
                    (0..3).for_each(|c| acc[c] += s[c] / n);
                }
            }
            px.push(acc);
        }
    }
    LinImage {
        w: f.width,
        h: f.height,
        px,
    }
}

/// A smooth procedural background (table, wall, clothing) in linear light.
fn background(rng: &mut StdRng) -> impl Fn(f64, f64) -> Lin {
    let base: Lin = [
        rng.gen_range(0.03..0.4),
        rng.gen_range(0.03..0.4),
        rng.gen_range(0.03..0.4),
    ];
    let (fx, fy) = (rng.gen_range(0.002..0.02), rng.gen_range(0.002..0.02));
    let (px, py) = (rng.gen_range(0.0..6.3), rng.gen_range(0.0..6.3));
    let amp = rng.gen_range(0.1..0.5);
    move |u, v| {
        let m = 1.0 + amp * ((u * fx + px).sin() * (v * fy + py).cos()) as f32;
        base.map(|b| b * m)
    }
}

/// Camera model parameters.
struct Camera {
    light_gx: f32,
    light_gy: f32,
    light_min: f32,
    blur: f32,
    noise: f32,
    quality: u8,
    exposure_target: f32,
}

impl Camera {
    fn random(rng: &mut StdRng, blur: (f32, f32)) -> Self {
        Self {
            light_gx: rng.gen_range(-1.0..1.0),
            light_gy: rng.gen_range(-1.0..1.0),
            light_min: rng.gen_range(0.7..0.95),
            blur: rng.gen_range(blur.0..blur.1),
            noise: rng.gen_range(1.0..4.0),
            quality: rng.gen_range(70..=95),
            exposure_target: rng.gen_range(0.16..0.24),
        }
    }

    /// Lighting, auto-exposure, blur, sRGB encoding, noise and JPEG.
    fn shoot(&self, mut img: LinImage, rng: &mut StdRng, lit: bool) -> RgbImage {
        let (w, h) = (img.w as f32, img.h as f32);
        if lit {
            for y in 0..img.h {
                for x in 0..img.w {
                    let t = 0.5
                        + 0.25
                            * (self.light_gx * (x as f32 / w - 0.5)
                                + self.light_gy * (y as f32 / h - 0.5));
                    let g = self.light_min + (1.1 - self.light_min) * t.clamp(0.0, 1.0);
                    let p = &mut img.px[y * img.w + x];
                    p.iter_mut().for_each(|c| *c *= g);
                }
            }
        }
        // Auto-exposure: the mean luminance of the central half of the frame meets the target.
        let mut sum = 0.0;
        let mut n = 0.0;
        for y in img.h / 4..3 * img.h / 4 {
            for x in img.w / 4..3 * img.w / 4 {
                let p = img.px[y * img.w + x];
                sum += 0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2];
                n += 1.0;
            }
        }
        let gain = self.exposure_target / (sum / n).max(1e-4);
        img.px
            .iter_mut()
            .for_each(|p| p.iter_mut().for_each(|c| *c *= gain));
        img.blur(self.blur);
        encode(&img, self.noise, self.quality, rng)
    }
}

/// sRGB-encodes with Gaussian sensor noise, then round-trips through JPEG at `quality`.
fn encode(img: &LinImage, noise: f32, quality: u8, rng: &mut StdRng) -> RgbImage {
    let out = RgbImage::from_fn(img.w as u32, img.h as u32, |x, y| {
        let p = img.px[y as usize * img.w + x as usize];
        Rgb(p.map(|c| (to_srgb(c) + noise * gauss(rng)).round().clamp(0.0, 255.0) as u8))
    });
    jpeg_round_trip(&out, quality)
}

fn gauss(rng: &mut StdRng) -> f32 {
    let u1: f32 = rng.gen_range(1e-7..1.0);
    let u2: f32 = rng.gen_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f32::consts::PI * u2).cos()
}

fn log_uniform(rng: &mut StdRng, lo: f64, hi: f64) -> f64 {
    (rng.gen_range(lo.ln()..hi.ln())).exp()
}

/// Camera frame (width, height) in portrait 3:4 with width in `range`.
fn portrait(rng: &mut StdRng, range: (usize, usize)) -> (usize, usize) {
    let w = rng.gen_range(range.0..=range.1);
    (w, w * 4 / 3)
}

/// A photo of a printed copy of `photo`; `face` locates the face in `photo`.
pub fn print_attack(photo: &RgbImage, face: FaceRegion, seed: u64) -> RgbImage {
    let mut rng = StdRng::seed_from_u64(seed);
    let src = LinImage::from_rgb(photo);
    let (pw, ph) = (src.w as f64, src.h as f64);
    let size = portrait(&mut rng, (480, 1200));
    let face_frac = rng.gen_range(0.22..0.5);
    let scale = face_frac * size.0 as f64 / face.width.max(8.0) as f64;
    let margin = pw * rng.gen_range(0.03..0.12);
    let cells = rng.gen_range(85.0..175.0) * rng.gen_range(3.5..7.0);
    let cell = pw / cells; // photo pixels per halftone cell
    let colour = rng.gen_bool(0.7);
    let paper: f32 = rng.gen_range(0.8..0.9);
    let bg = background(&mut rng);
    let anchor = (
        (face.x + face.width / 2.0) as f64,
        (face.y + face.height / 2.0) as f64,
    );
    let framing = frame(&mut rng, size, (pw, ph), anchor, scale, 8.0);
    let cam = Camera::random(&mut rng, (0.3, 1.4));
    // Ink transmittances per RGB channel: cyan, magenta, yellow, black.
    const INKS: [Lin; 4] = [
        [0.12, 0.75, 0.92],
        [0.85, 0.15, 0.7],
        [0.95, 0.9, 0.1],
        [0.08, 0.08, 0.09],
    ];
    let angles: [f64; 4] = [15f64, 75.0, 0.0, 45.0].map(f64::to_radians);
    let trig: Vec<(f64, f64)> = angles.iter().map(|a| (a.cos(), a.sin())).collect();
    let surface = |u: f64, v: f64| -> Lin {
        if u < -margin || v < -margin || u > pw + margin || v > ph + margin {
            return bg(u, v);
        }
        if u < 0.0 || v < 0.0 || u >= pw || v >= ph {
            return [paper; 3];
        }
        let s = src.sample(u as f32, v as f32).map(|c| c.powf(1.0 / 2.2));
        let coverage: [f32; 4] = if colour {
            let (c, m, y) = (1.0 - s[0], 1.0 - s[1], 1.0 - s[2]);
            let k = c.min(m).min(y) * 0.8;
            [c - k, m - k, y - k, k]
        } else {
            [
                0.0,
                0.0,
                0.0,
                1.0 - (0.299 * s[0] + 0.587 * s[1] + 0.114 * s[2]),
            ]
        };
        let mut r = [paper; 3];
        for (ink, (&cov, &(cs, sn))) in coverage.iter().zip(&trig).enumerate() {
            if cov <= 0.01 {
                continue;
            }
            let (a, b) = ((u * cs + v * sn) / cell, (-u * sn + v * cs) / cell);
            let spot = ((2.0 * std::f64::consts::PI * a).cos()
                + (2.0 * std::f64::consts::PI * b).cos())
                / 2.0;
            if spot as f32 > 1.0 - 2.0 * cov {
                (0..3).for_each(|c| r[c] *= INKS[ink][c]);
            }
        }
        r
    };
    let img = render(&framing, 3, surface);
    cam.shoot(img, &mut rng, true)
}

/// A photo of `photo` displayed on a screen; `face` locates the face in `photo`.
pub fn screen_attack(photo: &RgbImage, face: FaceRegion, seed: u64) -> RgbImage {
    let mut rng = StdRng::seed_from_u64(seed);
    let src = LinImage::from_rgb(photo);
    let size = portrait(&mut rng, (480, 1200));
    let face_frac = rng.gen_range(0.22..0.5);
    let cam_per_photo = face_frac * size.0 as f64 / face.width.max(8.0) as f64;
    let cam_per_screen = log_uniform(&mut rng, 0.35, 2.0);
    let screen_per_photo = cam_per_photo / cam_per_screen;
    let sw = ((src.w as f64 * screen_per_photo).round() as usize).max(16);
    let sh = ((src.h as f64 * screen_per_photo).round() as usize).max(16);
    let gamma: f32 = rng.gen_range(1.8..2.6);
    let bright: f32 = rng.gen_range(0.6..1.0);
    let cast: Lin = [
        rng.gen_range(0.92..1.08),
        rng.gen_range(0.96..1.04),
        rng.gen_range(0.92..1.08),
    ];
    let glass: f32 = rng.gen_range(0.005..0.04);
    let fill: f64 = rng.gen_range(0.7..0.85);
    let bezel = (sw.max(sh) as f64) * rng.gen_range(0.04..0.15);
    let mut shown = src.resize(sw, sh);
    for p in shown.px.iter_mut() {
        for c in 0..3 {
            p[c] = p[c].powf(gamma / 2.2) * bright * cast[c];
        }
    }
    let bg = background(&mut rng);
    let anchor = (
        (face.x + face.width / 2.0) as f64 * screen_per_photo,
        (face.y + face.height / 2.0) as f64 * screen_per_photo,
    );
    let framing = frame(
        &mut rng,
        size,
        (sw as f64, sh as f64),
        anchor,
        cam_per_screen,
        8.0,
    );
    let cam = Camera::random(&mut rng, (0.3, 1.4));
    let (swf, shf) = (sw as f64, sh as f64);
    let gain = (1.0 / (fill * 0.85)) as f32;
    let surface = |u: f64, v: f64| -> Lin {
        if u < -bezel || v < -bezel || u > swf + bezel || v > shf + bezel {
            return bg(u, v).map(|c| c * 0.5);
        }
        if u < 0.0 || v < 0.0 || u >= swf || v >= shf {
            return [0.02 + glass; 3];
        }
        let (i, j) = (u.floor(), v.floor());
        let (fx, fy) = (u - i, v - j);
        let p = shown.px[j as usize * sw + i as usize];
        let sub = ((fx * 3.0) as usize).min(2);
        let within = fx * 3.0 - sub as f64;
        let lit = (within - 0.5).abs() < fill / 2.0 && (0.075..0.925).contains(&fy);
        let mut out = [glass; 3];
        if lit {
            out[sub] += 3.0 * gain * p[sub];
        }
        out
    };
    let img = render(&framing, 3, surface);
    cam.shoot(img, &mut rng, false)
}

/// A photo of the ID card `card` (its flat scan) held up to the camera.
pub fn card_attack(card: &RgbImage, seed: u64) -> RgbImage {
    let mut rng = StdRng::seed_from_u64(seed);
    let src = LinImage::from_rgb(card);
    let (cw, ch) = (src.w as f64, src.h as f64);
    let w = rng.gen_range(640..=1280usize);
    let size = (w, w * 3 / 4);
    let frac = rng.gen_range(0.55..0.9);
    let scale = frac * w as f64 / cw;
    let radius = 0.04 * ch;
    let reflect: f32 = rng.gen_range(0.75..0.9);
    let bg = background(&mut rng);
    let framing = frame(&mut rng, size, (cw, ch), (cw / 2.0, ch / 2.0), scale, 10.0);
    let cam = Camera::random(&mut rng, (0.3, 1.2));
    let surface = |u: f64, v: f64| -> Lin {
        if u < 0.0 || v < 0.0 || u >= cw || v >= ch {
            return bg(u, v);
        }
        // Rounded corners.
        let dx = (radius - u).max(u - (cw - radius)).max(0.0);
        let dy = (radius - v).max(v - (ch - radius)).max(0.0);
        if dx * dx + dy * dy > radius * radius {
            return bg(u, v);
        }
        src.sample(u as f32, v as f32).map(|c| c * reflect)
    };
    let img = render(&framing, 2, surface);
    cam.shoot(img, &mut rng, true)
}

/// What a phone camera pipeline does to a live capture: rescale, exposure, blur, noise, JPEG.
pub fn bona_fide_variant(photo: &RgbImage, seed: u64) -> RgbImage {
    let mut rng = StdRng::seed_from_u64(seed);
    let src = LinImage::from_rgb(photo);
    let f = rng.gen_range(0.5..=1.0);
    let (w, h) = (
        ((src.w as f64 * f).round() as usize).max(32),
        ((src.h as f64 * f).round() as usize).max(32),
    );
    let mut img = if (w, h) == (src.w, src.h) {
        src
    } else {
        src.resize(w, h)
    };
    let exposure: f32 = rng.gen_range(0.8..1.2);
    img.px
        .iter_mut()
        .for_each(|p| p.iter_mut().for_each(|c| *c *= exposure));
    img.blur(rng.gen_range(0.0..0.7));
    let noise = rng.gen_range(0.5..2.5);
    let quality = rng.gen_range(60..=95);
    encode(&img, noise, quality, &mut rng)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo() -> RgbImage {
        RgbImage::from_fn(120, 150, |x, y| {
            Rgb([(x * 2) as u8, (y + 40) as u8, ((x + y) % 200) as u8])
        })
    }

    fn face() -> FaceRegion {
        FaceRegion {
            x: 30.0,
            y: 30.0,
            width: 60.0,
            height: 70.0,
        }
    }

    #[test]
    fn attacks_are_reproducible_from_the_seed() {
        let p = photo();
        assert_eq!(print_attack(&p, face(), 7), print_attack(&p, face(), 7));
        assert_eq!(screen_attack(&p, face(), 7), screen_attack(&p, face(), 7));
        assert_eq!(card_attack(&p, 7), card_attack(&p, 7));
        assert_eq!(bona_fide_variant(&p, 7), bona_fide_variant(&p, 7));
        assert_ne!(print_attack(&p, face(), 7), print_attack(&p, face(), 8));
    }

    #[test]
    fn homography_maps_its_points() {
        let from = [(0.0, 0.0), (10.0, 0.0), (10.0, 5.0), (0.0, 5.0)];
        let to = [(1.0, 2.0), (12.0, 1.0), (13.0, 9.0), (0.5, 7.0)];
        let h = Homography::from_points(from, to);
        for (a, b) in from.iter().zip(&to) {
            let (u, v) = h.apply(a.0, a.1);
            assert!((u - b.0).abs() < 1e-6 && (v - b.1).abs() < 1e-6);
        }
    }

    #[test]
    fn bona_fide_variant_stays_within_size_range() {
        let p = photo();
        for seed in 0..5 {
            let v = bona_fide_variant(&p, seed);
            assert!(v.width() >= 60 && v.width() <= 120);
        }
    }
}
