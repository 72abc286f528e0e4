//! Seeded generator of synthetic identity documents, for measuring idv's MRZ read rate.
//!
//! Each card is drawn from a seed: fictional holder data with correct ICAO 9303 check digits
//! (optionally one data digit changed so that a check fails), a light patterned background,
//! a portrait placeholder, printed text above the zone and the MRZ in OCR-B. The card is then
//! put on a table-coloured background, rotated, blurred, noised and re-encoded as JPEG, with
//! every parameter drawn from the ranges of a [`CardSpec`]. The same seed and spec always give
//! the same image bytes.
//!
//! The data is fictional and the images are for tests only.

use ab_glyph::{point, Font, FontArc, PxScale};
use image::{Rgb, RgbImage};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use idv_core::mrz::{check_digit, MrzFormat};

/// Why a spec could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    /// The font bytes are not an OpenType/TrueType font with the MRZ characters.
    #[error("card font cannot be used")]
    InvalidFont,
}

/// What to generate: layouts and distortion ranges (each `(min, max)`, drawn uniformly).
#[derive(Clone)]
pub struct CardSpec {
    font: FontArc,
    /// Layouts to choose from, uniformly.
    pub formats: Vec<MrzFormat>,
    /// Rotation of the card in degrees.
    pub rotation_deg: (f32, f32),
    /// Gaussian blur sigma in pixels (0 for none).
    pub blur_sigma: (f32, f32),
    /// JPEG quality of the re-encoding (1–100).
    pub jpeg_quality: (u8, u8),
    /// Scale of the card, as the cap height of the MRZ characters in output pixels.
    pub char_height: (f32, f32),
    /// Largest standard deviation of additive Gaussian noise (gray levels); each card draws its
    /// own from `0..=noise`.
    pub noise: f32,
    /// Change exactly one digit of the date of birth after computing the check digits, so that
    /// the printed MRZ fails its birth date and composite checks.
    pub corrupt_digit: bool,
}

impl CardSpec {
    /// A spec drawing with `font` (OCR-B), TD1 and TD3 layouts, mild distortions.
    pub fn new(font: &[u8]) -> Result<Self, CardError> {
        let font = FontArc::try_from_vec(font.to_vec()).map_err(|_| CardError::InvalidFont)?;
        for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<".chars() {
            if font.glyph_id(c).0 == 0 {
                return Err(CardError::InvalidFont);
            }
        }
        Ok(CardSpec {
            font,
            formats: vec![MrzFormat::Td1, MrzFormat::Td3],
            rotation_deg: (-3.0, 3.0),
            blur_sigma: (0.0, 0.8),
            jpeg_quality: (70, 95),
            char_height: (20.0, 32.0),
            noise: 4.0,
            corrupt_digit: false,
        })
    }
}

/// Distortion parameters drawn for one card.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Distortion {
    /// Rotation in degrees.
    pub rotation_deg: f32,
    /// Gaussian blur sigma in pixels.
    pub blur_sigma: f32,
    /// JPEG quality.
    pub jpeg_quality: u8,
    /// MRZ cap height in pixels.
    pub char_height: f32,
    /// Standard deviation of the additive noise.
    pub noise: f32,
}

/// A generated document image and the MRZ printed on it.
#[derive(Clone)]
pub struct GeneratedCard {
    /// The image, after all distortions.
    pub image: RgbImage,
    /// Ground truth: the MRZ lines as printed.
    pub lines: Vec<String>,
    /// Layout of the MRZ.
    pub format: MrzFormat,
    /// Distortions applied.
    pub distortion: Distortion,
}

const SURNAMES: &[&str] = &[
    "ERIKSSON",
    "QUILLON",
    "MARVELLE",
    "OKONKWO-BRANDT",
    "VAN DER BERG",
    "DUPONTEL",
    "KOWALSKA",
    "NAKAMURA",
    "FITZGERALD",
    "OYELARAN",
    "BJORNSTAD",
    "ZABROWSKI",
    "DELACROIX-MOREAU",
    "HALVORSEN",
    "PETRESCU",
    "MACALLISTER",
    "ABERNATHY",
    "XU",
    "LI",
    "SANTOS PEREIRA",
    "WINTERBOTTOM",
    "GRUENWALD",
    "IVANOVA",
    "CASTELLANO",
];
const GIVEN_NAMES: &[&str] = &[
    "ANNA", "MARIA", "SVEN", "ELISE", "JOHAN", "PIETER", "LUCIA", "OMAR", "YUKI", "CHIDI", "MARA",
    "TOMASZ", "INGRID", "PAOLO", "FREYA", "KWAME", "ZOE", "BARNABY", "HELGA", "RAFAEL", "NOOR",
    "QUENTIN", "VIOLETTA", "WU",
];
const STATES: &[&str] = &[
    "UTO", "D", "FRA", "NLD", "SWE", "ITA", "ESP", "GBR", "CAN", "AUS", "NOR", "POL", "JPN", "BRA",
];

/// Pads `s` with fillers (or truncates it) to `len` characters.
fn pad(s: &str, len: usize) -> String {
    let mut out: String = s.chars().take(len).collect();
    while out.len() < len {
        out.push('<');
    }
    out
}

fn digit(d: u8) -> char {
    char::from(b'0' + d)
}

fn check(field: &str) -> char {
    digit(check_digit(field).unwrap_or(0))
}

/// MRZ form of a name: spaces and hyphens become fillers.
fn mrz_name(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_uppercase() { c } else { '<' })
        .collect()
}

fn random_date(rng: &mut StdRng, from_year: u32, to_year: u32) -> String {
    let y = rng.gen_range(from_year..=to_year) % 100;
    let m = rng.gen_range(1..=12);
    let d = rng.gen_range(1..=28);
    format!("{y:02}{m:02}{d:02}")
}

fn random_alnum(rng: &mut StdRng, len: usize, letters: f64) -> String {
    (0..len)
        .map(|_| {
            if rng.gen_bool(letters) {
                char::from(b'A' + rng.gen_range(0..26))
            } else {
                digit(rng.gen_range(0..10))
            }
        })
        .collect()
}

/// Holder data, also printed in the visual zone.
struct Holder {
    surname: String,
    given: String,
    state: String,
    number: String,
    birth: String,
    expiry: String,
    sex: char,
}

fn random_holder(rng: &mut StdRng) -> Holder {
    let surname = SURNAMES[rng.gen_range(0..SURNAMES.len())].to_string();
    let mut given = GIVEN_NAMES[rng.gen_range(0..GIVEN_NAMES.len())].to_string();
    if rng.gen_bool(0.4) {
        given.push(' ');
        given.push_str(GIVEN_NAMES[rng.gen_range(0..GIVEN_NAMES.len())]);
    }
    let number_len = if rng.gen_bool(0.2) { 8 } else { 9 };
    Holder {
        surname,
        given,
        state: STATES[rng.gen_range(0..STATES.len())].to_string(),
        number: random_alnum(rng, number_len, 0.3),
        birth: random_date(rng, 1940, 2010),
        expiry: random_date(rng, 2018, 2040),
        sex: ['M', 'F', '<'][rng.gen_range(0..3)],
    }
}

/// MRZ lines for `holder` in `format`, with correct check digits.
fn mrz_lines(rng: &mut StdRng, format: MrzFormat, h: &Holder) -> Vec<String> {
    let state = pad(&h.state, 3);
    let nationality = if rng.gen_bool(0.8) {
        state.clone()
    } else {
        pad(STATES[rng.gen_range(0..STATES.len())], 3)
    };
    let number = pad(&h.number, 9);
    let name = format!("{}<<{}", mrz_name(&h.surname), mrz_name(&h.given));
    match format {
        MrzFormat::Td1 => {
            let code = ["I<", "ID", "AC", "C<"][rng.gen_range(0..4)];
            let optional1 = if rng.gen_bool(0.3) {
                let len = rng.gen_range(3..12);
                random_alnum(rng, len, 0.0)
            } else {
                String::new()
            };
            let l1 = pad(
                &format!("{code}{state}{number}{}{optional1}", check(&number)),
                30,
            );
            let optional2 = pad("", 11);
            let head = format!(
                "{}{}{}{}{}{nationality}{optional2}",
                h.birth,
                check(&h.birth),
                h.sex,
                h.expiry,
                check(&h.expiry),
            );
            let composite = format!(
                "{}{}{}{}",
                &l1[5..30],
                &head[0..7],
                &head[8..15],
                &head[18..29]
            );
            let l2 = format!("{head}{}", check(&composite));
            vec![l1, l2, pad(&name, 30)]
        }
        MrzFormat::Td2 | MrzFormat::Td3 => {
            let len = format.line_len();
            let code = if format == MrzFormat::Td3 { "P<" } else { "I<" };
            let l1 = pad(&format!("{code}{state}{name}"), len);
            let optional_len = if format == MrzFormat::Td3 { 14 } else { 7 };
            let optional = if rng.gen_bool(0.4) {
                let len = rng.gen_range(5..=optional_len);
                pad(&random_alnum(rng, len, 0.2), optional_len)
            } else {
                pad("", optional_len)
            };
            let personal_check = if format == MrzFormat::Td3 {
                if optional.starts_with('<') && rng.gen_bool(0.5) {
                    "<".to_string()
                } else {
                    check(&optional).to_string()
                }
            } else {
                String::new()
            };
            let head = format!(
                "{number}{}{nationality}{}{}{}{}{}{optional}{personal_check}",
                check(&number),
                h.birth,
                check(&h.birth),
                h.sex,
                h.expiry,
                check(&h.expiry),
            );
            let composite = format!("{}{}{}", &head[0..10], &head[13..20], &head[21..]);
            let l2 = format!("{head}{}", check(&composite));
            vec![l1, l2]
        }
    }
}

/// Changes one digit of the date of birth (line and column depend on the layout).
fn corrupt(rng: &mut StdRng, format: MrzFormat, lines: &mut [String]) {
    let start = if format == MrzFormat::Td1 { 0 } else { 13 };
    let col = start + rng.gen_range(0..6);
    let line = &mut lines[1];
    let old = line.as_bytes()[col] - b'0';
    let new = (old + rng.gen_range(1..10)) % 10;
    line.replace_range(col..col + 1, &digit(new).to_string());
}

/// A single-channel-per-colour float canvas.
struct Canvas {
    w: usize,
    h: usize,
    data: Vec<[f32; 3]>,
}

impl Canvas {
    fn blend(&mut self, x: i32, y: i32, colour: [f32; 3], alpha: f32) {
        if x < 0 || y < 0 || x as usize >= self.w || y as usize >= self.h {
            return;
        }
        let p = &mut self.data[y as usize * self.w + x as usize];
        let a = alpha.clamp(0.0, 1.0);
        for c in 0..3 {
            p[c] = p[c] * (1.0 - a) + colour[c] * a;
        }
    }

    fn fill_rect(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, colour: [f32; 3]) {
        for y in y0.max(0.0) as usize..(y1 as usize).min(self.h) {
            for x in x0.max(0.0) as usize..(x1 as usize).min(self.w) {
                self.data[y * self.w + x] = colour;
            }
        }
    }

    fn sample(&self, x: f32, y: f32) -> Option<[f32; 3]> {
        if x < 0.0 || y < 0.0 || x > (self.w - 1) as f32 || y > (self.h - 1) as f32 {
            return None;
        }
        let x0 = x.floor() as usize;
        let y0 = y.floor() as usize;
        let x1 = (x0 + 1).min(self.w - 1);
        let y1 = (y0 + 1).min(self.h - 1);
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let mut out = [0f32; 3];
        for (c, o) in out.iter_mut().enumerate() {
            let top =
                self.data[y0 * self.w + x0][c] * (1.0 - fx) + self.data[y0 * self.w + x1][c] * fx;
            let bottom =
                self.data[y1 * self.w + x0][c] * (1.0 - fx) + self.data[y1 * self.w + x1][c] * fx;
            *o = top * (1.0 - fy) + bottom * fy;
        }
        Some(out)
    }
}

/// Draws `text` in the monospaced `font` with its cap height `cap` pixels, the left edge of the
/// first character cell at `x` and the baseline at `baseline`.
fn draw_text(
    canvas: &mut Canvas,
    font: &FontArc,
    text: &str,
    x: f32,
    baseline: f32,
    cap: f32,
    colour: [f32; 3],
) {
    let (scale, advance) = font_scale(font, cap);
    for (i, c) in text.chars().enumerate() {
        if c == ' ' {
            continue;
        }
        let glyph = font
            .glyph_id(c)
            .with_scale_and_position(scale, point(x + i as f32 * advance, baseline));
        if let Some(outlined) = font.outline_glyph(glyph) {
            let b = outlined.px_bounds();
            outlined.draw(|gx, gy, cov| {
                canvas.blend(
                    b.min.x as i32 + gx as i32,
                    b.min.y as i32 + gy as i32,
                    colour,
                    cov,
                );
            });
        }
    }
}

/// Pixel scale giving cap height `cap`, and the advance width at that scale.
fn font_scale(font: &FontArc, cap: f32) -> (PxScale, f32) {
    let cap_units = font
        .outline(font.glyph_id('H'))
        .map(|o| o.bounds.min.y.max(o.bounds.max.y))
        .filter(|c| *c > 0.0)
        .unwrap_or(0.7 * font.height_unscaled());
    let per_unit = cap / cap_units;
    (
        PxScale::from(font.height_unscaled() * per_unit),
        font.h_advance_unscaled(font.glyph_id('0')) * per_unit,
    )
}

/// Draws the upright card: background pattern, portrait, printed text, MRZ.
fn draw_card(
    rng: &mut StdRng,
    spec: &CardSpec,
    format: MrzFormat,
    holder: &Holder,
    lines: &[String],
    cap: f32,
) -> Canvas {
    let font = &spec.font;
    let (_, pitch) = font_scale(font, cap);
    let len = format.line_len();
    let (mrz_fraction, aspect) = match format {
        MrzFormat::Td1 => (0.86, 54.0 / 85.6),
        MrzFormat::Td2 => (0.87, 74.0 / 105.0),
        MrzFormat::Td3 => (0.90, 88.0 / 125.0),
    };
    let w = (len as f32 * pitch / mrz_fraction).round() as usize;
    let h = (w as f32 * aspect).round() as usize;
    let base = [
        rng.gen_range(205.0..240.0),
        rng.gen_range(215.0..245.0),
        rng.gen_range(225.0..252.0),
    ];
    let amp = rng.gen_range(6.0..16.0);
    let (f1, f2) = (rng.gen_range(0.01..0.05), rng.gen_range(0.01..0.05));
    let (p1, p2) = (rng.gen_range(0.0..6.3), rng.gen_range(0.0..6.3));
    let wave = rng.gen_range(0.5..2.0) * cap;
    let mut canvas = Canvas {
        w,
        h,
        data: vec![[0.0; 3]; w * h],
    };
    for y in 0..h {
        for x in 0..w {
            let (xf, yf) = (x as f32, y as f32);
            let t = (xf * f1 + (yf * f2 + p1).sin() * wave * 0.1 + p2).sin()
                * (yf * f2 * 1.3 + (xf * f1).cos() * 2.0).sin();
            let shade = amp * t;
            canvas.data[y * w + x] = [
                base[0] + shade,
                base[1] + shade * 0.8,
                base[2] + shade * 0.5,
            ];
        }
    }
    let ink_level = rng.gen_range(10.0..60.0);
    let ink = [ink_level, ink_level, ink_level + rng.gen_range(0.0..30.0)];
    let margin_x = (w as f32 - len as f32 * pitch) / 2.0;
    let line_gap = cap * rng.gen_range(1.6..1.85);
    let n = lines.len();
    let bottom_margin = cap * rng.gen_range(0.5..0.9);
    let first_baseline = h as f32 - bottom_margin - (n - 1) as f32 * line_gap;
    // Visual zone: title, portrait, labelled fields.
    let title_cap = cap * 0.9;
    let title = match format {
        MrzFormat::Td3 => "PASSPORT  PASSEPORT",
        _ => "IDENTITY CARD",
    };
    draw_text(
        &mut canvas,
        font,
        title,
        margin_x,
        title_cap * 1.8,
        title_cap,
        [20.0, 40.0, 110.0],
    );
    let top = title_cap * 2.8;
    let zone_bottom = first_baseline - cap * 2.2;
    let portrait_w = w as f32 * 0.24;
    let portrait_bottom = zone_bottom.max(top + cap);
    let grey = rng.gen_range(90.0..170.0);
    canvas.fill_rect(
        margin_x,
        top,
        margin_x + portrait_w,
        portrait_bottom,
        [grey, grey, grey],
    );
    let small = cap * rng.gen_range(0.45..0.6);
    let fields = [
        ("SURNAME", holder.surname.clone()),
        ("GIVEN NAMES", holder.given.clone()),
        ("NATIONALITY", holder.state.clone()),
        (
            "DATE OF BIRTH",
            format!(
                "{} {} {}{}",
                &holder.birth[4..6],
                &holder.birth[2..4],
                // Births are drawn from 1940–2010.
                if holder.birth.as_str() < "11" {
                    "20"
                } else {
                    "19"
                },
                &holder.birth[0..2]
            ),
        ),
        ("SEX", holder.sex.to_string().replace('<', "X")),
        ("DOCUMENT NO", holder.number.clone()),
        (
            "DATE OF EXPIRY",
            format!(
                "{} {} 20{}",
                &holder.expiry[4..6],
                &holder.expiry[2..4],
                &holder.expiry[0..2]
            ),
        ),
    ];
    let text_x = margin_x + portrait_w + cap;
    let mut y = top + small * 1.2;
    for (label, value) in fields {
        if y + small * 2.4 > zone_bottom {
            break;
        }
        draw_text(
            &mut canvas,
            font,
            label,
            text_x,
            y,
            small * 0.7,
            [70.0, 70.0, 90.0],
        );
        y += small * 1.5;
        draw_text(&mut canvas, font, &value, text_x, y, small, ink);
        y += small * 1.4;
    }
    for (i, line) in lines.iter().enumerate() {
        draw_text(
            &mut canvas,
            font,
            line,
            margin_x,
            first_baseline + i as f32 * line_gap,
            cap,
            ink,
        );
    }
    canvas
}

/// Places the card rotated by `angle` (radians) on a background with margins.
fn place(rng: &mut StdRng, card: &Canvas, angle: f32) -> Canvas {
    let (sin, cos) = angle.sin_cos();
    let (cw, ch) = (card.w as f32, card.h as f32);
    let rot_w = cw * cos.abs() + ch * sin.abs();
    let rot_h = cw * sin.abs() + ch * cos.abs();
    let margin = rng.gen_range(0.04..0.15) * cw;
    let w = (rot_w + 2.0 * margin).round() as usize;
    let h = (rot_h + 2.0 * margin).round() as usize;
    let table = rng.gen_range(60.0..200.0);
    let table = [
        table,
        table * rng.gen_range(0.85..1.0),
        table * rng.gen_range(0.7..1.0),
    ];
    let mut out = Canvas {
        w,
        h,
        data: vec![table; w * h],
    };
    let (ocx, ocy) = (w as f32 / 2.0, h as f32 / 2.0);
    let (ccx, ccy) = (cw / 2.0, ch / 2.0);
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (x as f32 - ocx, y as f32 - ocy);
            // Inverse rotation into card coordinates.
            let sx = cos * dx + sin * dy + ccx;
            let sy = -sin * dx + cos * dy + ccy;
            if let Some(p) = card.sample(sx, sy) {
                out.data[y * w + x] = p;
            }
        }
    }
    out
}

/// Separable Gaussian blur.
fn blur(canvas: &mut Canvas, sigma: f32) {
    if sigma < 0.2 {
        return;
    }
    let (radius, kernel) = super::gaussian_kernel(sigma);
    let (w, h) = (canvas.w as i32, canvas.h as i32);
    for horizontal in [true, false] {
        let src = canvas.data.clone();
        for y in 0..h {
            for x in 0..w {
                let mut acc = [0f32; 3];
                for (j, k) in kernel.iter().enumerate() {
                    let o = j as i32 - radius;
                    let (sx, sy) = if horizontal {
                        ((x + o).clamp(0, w - 1), y)
                    } else {
                        (x, (y + o).clamp(0, h - 1))
                    };
                    let p = src[(sy * w + sx) as usize];
                    for c in 0..3 {
                        acc[c] += p[c] * k;
                    }
                }
                canvas.data[(y * w + x) as usize] = acc;
            }
        }
    }
}

/// Standard normal sample (Box–Muller).
fn gaussian(rng: &mut StdRng) -> f32 {
    let u1: f32 = rng.gen_range(f32::EPSILON..1.0);
    let u2: f32 = rng.gen_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

fn range_f32(rng: &mut StdRng, (lo, hi): (f32, f32)) -> f32 {
    if hi > lo {
        rng.gen_range(lo..=hi)
    } else {
        lo
    }
}

/// Generates one card from `seed`.
pub fn generate(seed: u64, spec: &CardSpec) -> GeneratedCard {
    let mut rng = StdRng::seed_from_u64(seed);
    let format = if spec.formats.is_empty() {
        MrzFormat::Td1
    } else {
        spec.formats[rng.gen_range(0..spec.formats.len())]
    };
    let holder = random_holder(&mut rng);
    let mut lines = mrz_lines(&mut rng, format, &holder);
    if spec.corrupt_digit {
        corrupt(&mut rng, format, &mut lines);
    }
    let (q_lo, q_hi) = spec.jpeg_quality;
    let distortion = Distortion {
        rotation_deg: range_f32(&mut rng, spec.rotation_deg),
        blur_sigma: range_f32(&mut rng, spec.blur_sigma),
        jpeg_quality: rng.gen_range(q_lo.clamp(1, 100)..=q_hi.clamp(q_lo.clamp(1, 100), 100)),
        char_height: range_f32(&mut rng, spec.char_height).max(6.0),
        noise: range_f32(&mut rng, (0.0, spec.noise.max(0.0))),
    };
    let card = draw_card(
        &mut rng,
        spec,
        format,
        &holder,
        &lines,
        distortion.char_height,
    );
    let mut canvas = place(&mut rng, &card, distortion.rotation_deg.to_radians());
    blur(&mut canvas, distortion.blur_sigma);
    let mut image = RgbImage::new(canvas.w as u32, canvas.h as u32);
    for (pixel, value) in image.pixels_mut().zip(&canvas.data) {
        let mut out = [0u8; 3];
        let n = if distortion.noise > 0.0 {
            distortion.noise * gaussian(&mut rng)
        } else {
            0.0
        };
        for c in 0..3 {
            out[c] = (value[c] + n).round().clamp(0.0, 255.0) as u8;
        }
        *pixel = Rgb(out);
    }
    let image = super::jpeg_round_trip(&image, distortion.jpeg_quality);
    GeneratedCard {
        image,
        lines,
        format,
        distortion,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use idv_core::mrz::parse;

    fn spec() -> CardSpec {
        CardSpec::new(crate::onnx::mrz_reader::OCRB_FONT).unwrap()
    }

    #[test]
    fn ground_truth_has_valid_checks() {
        let mut rng = StdRng::seed_from_u64(7);
        for format in [MrzFormat::Td1, MrzFormat::Td2, MrzFormat::Td3] {
            for _ in 0..50 {
                let holder = random_holder(&mut rng);
                let lines = mrz_lines(&mut rng, format, &holder);
                let mrz = parse(&lines).unwrap();
                assert_eq!(mrz.format, format);
                assert!(mrz.checksums_valid(), "{:?}", mrz);
                let mut bad = lines.clone();
                corrupt(&mut rng, format, &mut bad);
                let mrz = parse(&bad).unwrap();
                assert!(!mrz.check("birth_date").unwrap().valid);
                assert_eq!(
                    bad.iter()
                        .zip(&lines)
                        .map(|(a, b)| a.bytes().zip(b.bytes()).filter(|(x, y)| x != y).count())
                        .sum::<usize>(),
                    1
                );
            }
        }
    }

    #[test]
    fn same_seed_same_bytes() {
        let mut spec = spec();
        spec.char_height = (14.0, 16.0);
        let a = generate(42, &spec);
        let b = generate(42, &spec);
        assert_eq!(a.image.as_raw(), b.image.as_raw());
        assert_eq!(a.lines, b.lines);
        let c = generate(43, &spec);
        assert_ne!(a.image.as_raw(), c.image.as_raw());
    }

    #[test]
    fn rejects_non_fonts() {
        assert!(CardSpec::new(b"nope").is_err());
    }
}
