//! Optical reading of the machine-readable zone (MRZ) of a document image.
//!
//! idv reads the MRZ to cross-check what a document says about its holder. The reader works on
//! the image alone, with templates of the 37 MRZ characters rasterised once from the OCR-B font:
//!
//! 1. grayscale, bounded image size, local (adaptive mean) binarisation so that patterned card
//!    backgrounds drop out;
//! 2. connected components; character-sized blobs of similar height are chained left to right;
//! 3. each long chain gives a text line model: its skew (fitted on the blob centres, so rotations
//!    of several degrees are handled by sampling along the line), the cap height (from the ink
//!    profile across the line) and the character pitch (MRZ text is monospaced, so blob positions
//!    fit `u = u0 + k·pitch`); the line is extended cell by cell while cells hold ink, since an
//!    MRZ line has no blank positions;
//! 4. two or three aligned lines of 30, 36 or 44 cells with the same pitch form a candidate zone;
//! 5. every cell is resampled upright at the template resolution, keeping the aspect ratio of the
//!    glyphs, and compared with the templates by normalised correlation over small shifts. Where
//!    the layout fixes a position to digits (dates, check digits) or to letters and fillers
//!    (names, state codes) only those characters compete.
//!
//! Every character carries a margin (best minus second-best correlation). A caller can then tell
//! a confident read whose check digits fail (a likely altered document) from an unsure read. The
//! reader never changes a character to make a check digit pass.
//!
//! [`MrzText`] holds personal data; its `Debug` output omits the text.

use std::fmt;

use ab_glyph::{point, Font, FontRef, PxScale};
use image::RgbImage;

use idv_core::mrz::MrzFormat;

/// The OCR-B font of machine-readable zones (public domain; see `assets/OCRB.copyright`).
pub const OCRB_FONT: &[u8] = include_bytes!("../../assets/OCRB.otf");

/// The characters that can appear in an MRZ, in template order.
pub const MRZ_ALPHABET: &[u8; 37] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<";

/// Rows of a character template: cap height plus margins above and below.
const TH: usize = 28;
/// Margin above the cap line and below the baseline, in cap heights.
const V_MARGIN: f32 = 0.15;
/// Template shift search, in template pixels, each way.
const SHIFT: usize = 1;
/// Blur sigmas (template pixels) of the extra template variants.
const TEMPLATE_BLURS: [f32; 1] = [1.3];
/// Longest side the image is reduced to before reading.
const MAX_SIDE: u32 = 1600;
/// Smallest mean correlation accepted for a zone.
const MIN_MEAN_SCORE: f32 = 0.5;

/// Why a reader could not be built.
#[derive(Debug, thiserror::Error)]
pub enum MrzReaderError {
    /// The font bytes are not an OpenType/TrueType font.
    #[error("MRZ font cannot be parsed")]
    InvalidFont,
    /// The font has no outline for an MRZ character.
    #[error("MRZ font has no glyph for {0:?}")]
    MissingGlyph(char),
}

/// MRZ text read from an image.
#[derive(Clone, PartialEq)]
pub struct MrzText {
    /// Layout, from the number and length of the lines.
    pub format: MrzFormat,
    /// The lines as read, each of the layout's length, characters from [`MRZ_ALPHABET`].
    pub lines: Vec<String>,
    /// Smallest per-character margin (best minus second-best correlation). On synthetic OCR-B
    /// cards every misread seen had a margin below 0.03, while over 98 % of exact reads were
    /// above it: treat reads below about 0.03 as unsure.
    pub min_margin: f32,
    /// Mean correlation of the characters read with their templates (1 is a perfect match).
    pub mean_score: f32,
    /// How many separate zones the image holds (this one, the best read, included).
    pub zones: usize,
    /// Per line, per character: margin of the best template over the second best.
    pub margins: Vec<Vec<f32>>,
    /// Per line, per character: correlation of the best template.
    pub scores: Vec<Vec<f32>>,
}

impl MrzText {
    /// Number of characters whose margin is below `threshold`.
    pub fn unsure_count(&self, threshold: f32) -> usize {
        self.margins
            .iter()
            .flatten()
            .filter(|m| **m < threshold)
            .count()
    }
}

impl fmt::Debug for MrzText {
    /// The text is personal data: only the layout and confidence figures are printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MrzText")
            .field("format", &self.format)
            .field("min_margin", &self.min_margin)
            .field("mean_score", &self.mean_score)
            .finish_non_exhaustive()
    }
}

/// Reads MRZs; build once and share, reading is `&self`.
pub struct MrzReader {
    /// One template set per font, the MRZ font (OCR-B) first.
    sets: Vec<TemplateSet>,
}

/// Templates of the 37 MRZ characters rasterised from one font.
struct TemplateSet {
    /// Template columns (the font's advance width at the template cap height).
    tw: usize,
    /// Zero-mean, unit-norm templates, `TH × tw`, in [`MRZ_ALPHABET`] order: sharp ones, then
    /// one run of 37 per entry of [`TEMPLATE_BLURS`].
    templates: Vec<Vec<f32>>,
}

impl fmt::Debug for MrzReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MrzReader")
            .field("fonts", &self.sets.len())
            .finish()
    }
}

/// Characters a position may hold, from the layout.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Class {
    /// Any MRZ character.
    Any,
    /// Digits only (dates, check digits).
    Digit,
    /// Digits or filler (check digits that may be absent).
    DigitOrFiller,
    /// Letters and filler (names, codes).
    Alpha,
    /// `M`, `F`, `X` or `<`.
    Sex,
}

impl Class {
    fn allows(self, c: u8) -> bool {
        match self {
            Class::Any => true,
            Class::Digit => c.is_ascii_digit(),
            Class::DigitOrFiller => c.is_ascii_digit() || c == b'<',
            Class::Alpha => c.is_ascii_uppercase() || c == b'<',
            Class::Sex => matches!(c, b'M' | b'F' | b'X' | b'<'),
        }
    }
}

/// Character classes of `line` of a zone of `format`; `visa` when the first line starts with V.
fn position_class(format: MrzFormat, line: usize, col: usize, visa: bool) -> Class {
    use Class::*;
    match (format, line) {
        (MrzFormat::Td1, 0) => match col {
            0..=4 => Alpha,
            14 => DigitOrFiller,
            _ => Any,
        },
        (MrzFormat::Td1, 1) => match col {
            0..=6 | 8..=14 | 29 => Digit,
            7 => Sex,
            15..=17 => Alpha,
            _ => Any,
        },
        (MrzFormat::Td1, _) => Alpha,
        (_, 0) => Alpha,
        (format, _) => {
            let last = format.line_len() - 1;
            match col {
                9 if format == MrzFormat::Td2 => DigitOrFiller,
                9 | 13..=19 | 21..=27 => Digit,
                10..=12 => Alpha,
                20 => Sex,
                _ if visa => Any,
                42 if format == MrzFormat::Td3 => DigitOrFiller,
                c if c == last => Digit,
                _ => Any,
            }
        }
    }
}

/// A single-channel float image.
struct Plane {
    w: usize,
    h: usize,
    data: Vec<f32>,
}

impl Plane {
    /// Bilinear sample; outside the image the nearest edge value.
    fn sample(&self, x: f32, y: f32) -> f32 {
        let x = x.clamp(0.0, (self.w - 1) as f32);
        let y = y.clamp(0.0, (self.h - 1) as f32);
        let x0 = x.floor() as usize;
        let y0 = y.floor() as usize;
        let x1 = (x0 + 1).min(self.w - 1);
        let y1 = (y0 + 1).min(self.h - 1);
        let fx = x - x0 as f32;
        let fy = y - y0 as f32;
        let row0 = y0 * self.w;
        let row1 = y1 * self.w;
        let top = self.data[row0 + x0] * (1.0 - fx) + self.data[row0 + x1] * fx;
        let bottom = self.data[row1 + x0] * (1.0 - fx) + self.data[row1 + x1] * fx;
        top * (1.0 - fy) + bottom * fy
    }
}

/// Binary image: `true` for ink.
struct Binary {
    w: usize,
    h: usize,
    data: Vec<bool>,
}

impl Binary {
    fn at(&self, x: f32, y: f32) -> bool {
        if x < 0.0 || y < 0.0 {
            return false;
        }
        let (x, y) = (x.round() as usize, y.round() as usize);
        x < self.w && y < self.h && self.data[y * self.w + x]
    }
}

/// Grayscale of the image, reduced so its longest side is at most [`MAX_SIDE`].
fn grayscale(image: &RgbImage) -> Plane {
    let (w, h) = image.dimensions();
    let factor = (w.max(h) as f32 / MAX_SIDE as f32).round().max(1.0) as usize;
    let (ow, oh) = (w as usize / factor, h as usize / factor);
    let raw = image.as_raw();
    if factor == 1 {
        let data = raw
            .chunks_exact(3)
            .map(|p| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]))
            .collect();
        return Plane { w: ow, h: oh, data };
    }
    let mut data = vec![0f32; ow * oh];
    let stride = w as usize * 3;
    let norm = 1.0 / (factor * factor) as f32;
    for oy in 0..oh {
        for ox in 0..ow {
            let mut sum = 0f32;
            for y in oy * factor..(oy + 1) * factor {
                for x in ox * factor..(ox + 1) * factor {
                    let i = y * stride + x * 3;
                    sum += 0.299 * f32::from(raw[i])
                        + 0.587 * f32::from(raw[i + 1])
                        + 0.114 * f32::from(raw[i + 2]);
                }
            }
            data[oy * ow + ox] = sum * norm;
        }
    }
    Plane { w: ow, h: oh, data }
}

/// Adaptive mean thresholding: ink is noticeably darker than its neighbourhood.
fn binarise(gray: &Plane) -> Binary {
    let (w, h) = (gray.w, gray.h);
    let levels: Vec<u32> = gray.data.iter().map(|g| g.round() as u32).collect();
    let iw = w + 1;
    let mut integral = vec![0u32; iw * (h + 1)];
    for y in 0..h {
        let mut row = 0u32;
        for x in 0..w {
            row += levels[y * w + x];
            integral[(y + 1) * iw + x + 1] = integral[y * iw + x + 1] + row;
        }
    }
    let r = (w.min(h) / 30).clamp(8, 24);
    let mut data = vec![false; w * h];
    for y in 0..h {
        let y0 = y.saturating_sub(r);
        let y1 = (y + r + 1).min(h);
        for x in 0..w {
            let x0 = x.saturating_sub(r);
            let x1 = (x + r + 1).min(w);
            // Sums fit in u32 for images up to 16 Mpx; the comparison is done in u64.
            let sum = u64::from(
                integral[y1 * iw + x1] + integral[y0 * iw + x0]
                    - integral[y0 * iw + x1]
                    - integral[y1 * iw + x0],
            );
            let area = ((x1 - x0) * (y1 - y0)) as u64;
            let g = u64::from(levels[y * w + x]);
            // g < mean − max(12, 0.12·mean), in integers.
            let margin = (12 * area).max(sum * 12 / 100);
            data[y * w + x] = g * area + margin < sum;
        }
    }
    Binary { w, h, data }
}

/// Bounding box and size of a connected component.
#[derive(Clone, Copy, Debug)]
struct Blob {
    x0: usize,
    y0: usize,
    x1: usize,
    y1: usize,
    count: usize,
}

impl Blob {
    fn w(&self) -> f32 {
        (self.x1 - self.x0 + 1) as f32
    }
    fn h(&self) -> f32 {
        (self.y1 - self.y0 + 1) as f32
    }
    fn cx(&self) -> f32 {
        (self.x0 + self.x1) as f32 * 0.5
    }
    fn cy(&self) -> f32 {
        (self.y0 + self.y1) as f32 * 0.5
    }
}

fn find_root(parent: &mut [u32], mut i: u32) -> u32 {
    while parent[i as usize] != i {
        let next = parent[i as usize];
        parent[i as usize] = parent[next as usize];
        i = next;
    }
    i
}

/// 8-connected components of the ink, as blobs.
fn components(bin: &Binary) -> Vec<Blob> {
    let (w, h) = (bin.w, bin.h);
    let mut labels = vec![0u32; w * h];
    let mut parent: Vec<u32> = vec![0];
    for y in 0..h {
        for x in 0..w {
            if !bin.data[y * w + x] {
                continue;
            }
            let mut neighbours = [0u32; 4];
            if x > 0 {
                neighbours[0] = labels[y * w + x - 1];
            }
            if y > 0 {
                let up = (y - 1) * w;
                if x > 0 {
                    neighbours[1] = labels[up + x - 1];
                }
                neighbours[2] = labels[up + x];
                if x + 1 < w {
                    neighbours[3] = labels[up + x + 1];
                }
            }
            let mut label = 0u32;
            for &n in neighbours.iter().filter(|n| **n != 0) {
                let root = find_root(&mut parent, n);
                if label == 0 {
                    label = root;
                } else if root != label {
                    let (a, b) = (label.min(root), label.max(root));
                    parent[b as usize] = a;
                    label = a;
                }
            }
            if label == 0 {
                label = parent.len() as u32;
                parent.push(label);
            }
            labels[y * w + x] = label;
        }
    }
    let mut blobs: Vec<Option<Blob>> = vec![None; parent.len()];
    for y in 0..h {
        for x in 0..w {
            let l = labels[y * w + x];
            if l == 0 {
                continue;
            }
            let root = find_root(&mut parent, l) as usize;
            let b = blobs[root].get_or_insert(Blob {
                x0: x,
                y0: y,
                x1: x,
                y1: y,
                count: 0,
            });
            b.x0 = b.x0.min(x);
            b.x1 = b.x1.max(x);
            b.y0 = b.y0.min(y);
            b.y1 = b.y1.max(y);
            b.count += 1;
        }
    }
    blobs.into_iter().flatten().collect()
}

/// Whether a blob could be one MRZ character (or two merged ones).
fn character_sized(b: &Blob, image_h: usize) -> bool {
    let (w, h) = (b.w(), b.h());
    let fill = b.count as f32 / (w * h);
    (7.0..=150.0).contains(&h)
        && h <= image_h as f32 / 3.0
        && w <= 1.9 * h
        && w >= 1.0
        && (0.06..=0.95).contains(&fill)
}

/// Chains of blobs of similar height, left to right: each blob links to its nearest plausible
/// right neighbour, and each blob keeps only its best predecessor.
fn chains(blobs: &[Blob]) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..blobs.len()).collect();
    order.sort_by(|&a, &b| blobs[a].cx().total_cmp(&blobs[b].cx()));
    let n = order.len();
    // successor[i] = (j, cost) in `order` positions
    let mut successor: Vec<Option<(usize, f32)>> = vec![None; n];
    for i in 0..n {
        let a = &blobs[order[i]];
        let reach = 1.9 * a.h() / 0.55;
        let mut best: Option<(usize, f32)> = None;
        for (j, &bj) in order.iter().enumerate().skip(i + 1) {
            let b = &blobs[bj];
            let dx = b.cx() - a.cx();
            if dx > reach {
                break;
            }
            let hmax = a.h().max(b.h());
            let hmin = a.h().min(b.h());
            let dy = (b.cy() - a.cy()).abs();
            if hmin < 0.55 * hmax || dx < 0.45 * hmax || dx > 1.9 * hmax || dy > 0.35 * hmax {
                continue;
            }
            // Gap between boxes must not be negative by much (overlapping blobs are not
            // neighbours in a monospaced line).
            if (b.x0 as f32) < a.x1 as f32 - 0.2 * hmax {
                continue;
            }
            let cost = dx / hmax + 2.0 * dy / hmax;
            if best.is_none_or(|(_, c)| cost < c) {
                best = Some((j, cost));
            }
        }
        successor[i] = best;
    }
    let mut predecessor: Vec<Option<(usize, f32)>> = vec![None; n];
    for (i, s) in successor.iter().enumerate() {
        if let Some((j, cost)) = *s {
            if predecessor[j].is_none_or(|(_, c)| cost < c) {
                predecessor[j] = Some((i, cost));
            }
        }
    }
    let mut result = Vec::new();
    for start in 0..n {
        if predecessor[start].is_some() {
            continue;
        }
        let mut chain = vec![order[start]];
        let mut cur = start;
        while let Some((next, _)) = successor[cur] {
            if predecessor[next].map(|(p, _)| p) != Some(cur) {
                break;
            }
            chain.push(order[next]);
            cur = next;
        }
        if chain.len() >= 10 {
            result.push(chain);
        }
    }
    result
}

/// Geometry of a text line of monospaced characters.
#[derive(Clone, Debug)]
struct Line {
    /// Origin of the line frame in image coordinates.
    ox: f32,
    oy: f32,
    /// Unit vector along the line.
    dx: f32,
    dy: f32,
    /// Position along the line of the first cell's centre.
    u0: f32,
    /// Character pitch.
    pitch: f32,
    /// Number of cells.
    cells: usize,
    /// Cap line and baseline, across the line (positive downwards).
    v_top: f32,
    v_bottom: f32,
    /// Blobs supporting the line.
    support: usize,
}

impl Line {
    /// Image position of line coordinates (`u` along, `v` across, downwards).
    fn at(&self, u: f32, v: f32) -> (f32, f32) {
        (
            self.ox + u * self.dx - v * self.dy,
            self.oy + u * self.dy + v * self.dx,
        )
    }

    fn cap(&self) -> f32 {
        self.v_bottom - self.v_top
    }

    /// Centre of cell `k` in image coordinates.
    fn cell_centre(&self, k: f32) -> (f32, f32) {
        self.at(self.u0 + k * self.pitch, 0.5 * (self.v_top + self.v_bottom))
    }

    fn angle(&self) -> f32 {
        self.dy.atan2(self.dx)
    }
}

fn median(values: &mut [f32]) -> f32 {
    values.sort_by(f32::total_cmp);
    values[values.len() / 2]
}

/// Least-squares line `y = a + b·x`.
fn fit_line(points: &[(f32, f32)]) -> Option<(f32, f32)> {
    let n = points.len() as f32;
    let mx = points.iter().map(|p| p.0).sum::<f32>() / n;
    let my = points.iter().map(|p| p.1).sum::<f32>() / n;
    let sxx: f32 = points.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    let sxy: f32 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx <= f32::EPSILON {
        return None;
    }
    let b = sxy / sxx;
    Some((my - b * mx, b))
}

fn xy(points: &[(f32, f32, f32)]) -> Vec<(f32, f32)> {
    points.iter().map(|p| (p.0, p.1)).collect()
}

/// Fraction of ink in the central part of cell `k`.
fn cell_ink(line: &Line, bin: &Binary, k: f32) -> f32 {
    let cap = line.cap();
    let uc = line.u0 + k * line.pitch;
    let mut ink = 0;
    let steps = 8;
    for i in 0..steps {
        let v = line.v_top + cap * (0.1 + 0.8 * (i as f32 + 0.5) / steps as f32);
        for j in 0..steps {
            let u = uc + line.pitch * 0.6 * ((j as f32 + 0.5) / steps as f32 - 0.5);
            let (x, y) = line.at(u, v);
            if bin.at(x, y) {
                ink += 1;
            }
        }
    }
    ink as f32 / (steps * steps) as f32
}

/// Fits the line model of a chain and extends it over adjacent inked cells.
fn line_from_chain(chain: &[usize], blobs: &[Blob], bin: &Binary) -> Option<Line> {
    let mut points: Vec<(f32, f32, f32)> = chain
        .iter()
        .map(|&i| (blobs[i].cx(), blobs[i].cy(), blobs[i].h()))
        .collect();
    let mut heights: Vec<f32> = chain.iter().map(|&i| blobs[i].h()).collect();
    // Letters and digits are the tallest glyphs; fillers may be shorter in some fonts and make
    // up most of a line.
    heights.sort_by(f32::total_cmp);
    let h_med = heights[(heights.len() * 9 / 10).min(heights.len() - 1)];
    points.retain(|p| p.2 <= 1.3 * h_med);
    let (mut a, mut b) = fit_line(&xy(&points))?;
    for _ in 0..2 {
        points.retain(|p| (p.1 - (a + b * p.0)).abs() < 0.25 * h_med);
        if points.len() < 8 {
            return None;
        }
        (a, b) = fit_line(&xy(&points))?;
    }
    let b_slope = b;
    let angle = b.atan();
    if angle.abs() > 0.25 {
        return None;
    }
    let (dx, dy) = (angle.cos(), angle.sin());
    let ox = points[0].0;
    let oy = a + b * ox;
    // Positions along the line.
    let mut us: Vec<(f32, f32)> = chain
        .iter()
        .filter(|&&i| {
            let b = &blobs[i];
            (0.5 * h_med..=1.3 * h_med).contains(&b.h())
                && (b.cy() - (a + b_slope * b.cx())).abs() < 0.25 * h_med
        })
        .map(|&i| {
            let bl = &blobs[i];
            ((bl.cx() - ox) * dx + (bl.cy() - oy) * dy, bl.w())
        })
        .collect();
    us.sort_by(|p, q| p.0.total_cmp(&q.0));
    let cap_guess = h_med * dx - 0.5 * h_med * dy.abs();
    let mut gaps: Vec<f32> = us
        .windows(2)
        .filter(|w| w[0].1 < 0.85 * cap_guess && w[1].1 < 0.85 * cap_guess)
        .map(|w| w[1].0 - w[0].0)
        .filter(|g| (0.45 * cap_guess..1.5 * cap_guess).contains(g))
        .collect();
    if gaps.len() < 5 {
        return None;
    }
    let mut pitch = median(&mut gaps);
    // Cell numbers from gap to gap (so that a rough pitch does not accumulate errors), on blobs
    // narrow enough to be single characters; then a least-squares fit of u = u0 + k·pitch.
    let narrow: Vec<f32> = us
        .iter()
        .filter(|p| p.1 < 1.05 * pitch)
        .map(|p| p.0)
        .collect();
    if narrow.len() < 8 {
        return None;
    }
    let mut ks: Vec<(f32, f32)> = Vec::with_capacity(narrow.len());
    ks.push((0.0, narrow[0]));
    for &u in &narrow[1..] {
        let (k_prev, u_prev) = ks[ks.len() - 1];
        let steps = (u - u_prev) / pitch;
        // Blobs between cell positions (noise, broken glyphs) are skipped.
        if steps.round() >= 1.0 && (steps - steps.round()).abs() < 0.3 {
            ks.push((k_prev + steps.round(), u));
        }
    }
    let mut u0 = narrow[0];
    for _ in 0..2 {
        let (a, b) = fit_line(&ks)?;
        u0 = a;
        pitch = b;
        if !(0.3 * cap_guess..2.0 * cap_guess).contains(&pitch) {
            return None;
        }
        ks.retain(|(k, u)| (u - (u0 + k * pitch)).abs() < 0.3 * pitch);
        if ks.len() < 8 {
            return None;
        }
    }
    let kmin = ks.iter().map(|p| p.0).fold(f32::MAX, f32::min);
    u0 += kmin * pitch;
    ks.iter_mut().for_each(|p| p.0 -= kmin);
    let kmax = ks.iter().map(|p| p.0).fold(f32::MIN, f32::max);
    // Ink profile across the line for the cap line and baseline.
    let span = 1.2 * h_med;
    let step = 0.5f32;
    let rows = (2.0 * span / step) as usize;
    let mut profile = vec![0usize; rows];
    // Only over the tall blobs (letters and digits): fillers can be shorter.
    let tall: Vec<f32> = chain
        .iter()
        .filter(|&&i| blobs[i].h() >= 0.8 * h_med)
        .flat_map(|&i| {
            let b = &blobs[i];
            let uc = (b.cx() - ox) * dx + (b.cy() - oy) * dy;
            let half = 0.4 * b.w();
            let n = (2.0 * half) as usize + 1;
            (0..n).map(move |j| uc - half + j as f32)
        })
        .collect();
    for (r, count) in profile.iter_mut().enumerate() {
        let v = -span + r as f32 * step;
        for &u in &tall {
            let (x, y) = (ox + u * dx - v * dy, oy + u * dy + v * dx);
            if bin.at(x, y) {
                *count += 1;
            }
        }
    }
    // The outermost well-inked rows near the line (neighbouring lines are further than 0.8 of
    // the character height from its centre).
    let centre = rows / 2;
    let near = ((0.8 * h_med / step) as usize).min(centre);
    let window = &profile[centre - near..(centre + near).min(rows)];
    let peak = *window.iter().max()?;
    if peak == 0 {
        return None;
    }
    let top = centre - near + window.iter().position(|&c| c * 10 >= peak * 3)?;
    let bottom = centre - near + window.iter().rposition(|&c| c * 10 >= peak * 3)?;
    let v_top = -span + top as f32 * step;
    let v_bottom = -span + bottom as f32 * step + step;
    let cap = v_bottom - v_top;
    if !(0.6 * cap_guess..1.4 * cap_guess).contains(&cap) {
        return None;
    }
    let mut line = Line {
        ox,
        oy,
        dx,
        dy,
        u0,
        pitch,
        cells: kmax as usize + 1,
        v_top,
        v_bottom,
        support: ks.len(),
    };
    // Extend over inked cells on both sides.
    let has_ink = |line: &Line, k: f32| (0.06..0.9).contains(&cell_ink(line, bin, k));
    while line.cells < 44 && has_ink(&line, -1.0) {
        line.u0 -= line.pitch;
        line.cells += 1;
    }
    while line.cells < 44 && has_ink(&line, line.cells as f32) {
        line.cells += 1;
    }
    if (0..line.cells).any(|k| cell_ink(&line, bin, k as f32) < 0.03) {
        return None;
    }
    Some(line)
}

/// Whether two lines are the same text line found twice.
fn same_line(a: &Line, b: &Line) -> bool {
    let (bx, by) = b.cell_centre(0.0);
    let (ax, ay) = a.cell_centre(0.0);
    let across = -(bx - ax) * a.dy + (by - ay) * a.dx;
    across.abs() < 0.5 * a.cap()
}

/// Whether `lines` (top to bottom) are aligned like the lines of one MRZ.
fn aligned(lines: &[&Line]) -> bool {
    let first = lines[0];
    let cap = first.cap();
    let mut spacings = Vec::new();
    for pair in lines.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if (a.angle() - b.angle()).abs() > 0.035
            || (a.pitch - b.pitch).abs() > 0.08 * a.pitch
            || (a.cap() - b.cap()).abs() > 0.35 * cap
        {
            return false;
        }
        let (ax, ay) = a.cell_centre(0.0);
        let (bx, by) = b.cell_centre(0.0);
        let along = (bx - ax) * a.dx + (by - ay) * a.dy;
        let across = -(bx - ax) * a.dy + (by - ay) * a.dx;
        if along.abs() > 0.5 * a.pitch || !(1.1 * cap..2.8 * cap).contains(&across) {
            return false;
        }
        spacings.push(across);
    }
    spacings
        .windows(2)
        .all(|s| (s[0] - s[1]).abs() < 0.25 * s[0])
}

impl TemplateSet {
    /// Rasterises the 37 MRZ characters of `font`, each centred in its advance width with the
    /// cap line and baseline at fixed rows.
    fn new(font: &[u8]) -> Result<Self, MrzReaderError> {
        let font = FontRef::try_from_slice(font).map_err(|_| MrzReaderError::InvalidFont)?;
        // Outline bounds are unscaled with the top in `min.y` (y flipped).
        let bounds = font
            .outline(font.glyph_id('H'))
            .ok_or(MrzReaderError::MissingGlyph('H'))?
            .bounds;
        let cap_units = bounds.min.y.max(bounds.max.y);
        let advance_units = font.h_advance_unscaled(font.glyph_id('0'));
        if cap_units <= 0.0 || advance_units <= 0.0 {
            return Err(MrzReaderError::InvalidFont);
        }
        // Template pixels per cap height.
        let cap_px = TH as f32 / (1.0 + 2.0 * V_MARGIN);
        let px_per_unit = cap_px / cap_units;
        let advance_px = advance_units * px_per_unit;
        let tw = (advance_px.round() as usize).clamp(8, 64);
        let scale = PxScale::from(font.height_unscaled() * px_per_unit);
        let baseline = V_MARGIN * cap_px + cap_px;
        let mut templates = Vec::with_capacity(MRZ_ALPHABET.len());
        for &c in MRZ_ALPHABET {
            let c = c as char;
            let id = font.glyph_id(c);
            if id.0 == 0 {
                return Err(MrzReaderError::MissingGlyph(c));
            }
            let glyph = id.with_scale_and_position(
                scale,
                point(0.5 * tw as f32 - 0.5 * advance_px, baseline),
            );
            let outlined = font
                .outline_glyph(glyph)
                .ok_or(MrzReaderError::MissingGlyph(c))?;
            let bounds = outlined.px_bounds();
            let mut t = vec![0f32; tw * TH];
            outlined.draw(|x, y, cov| {
                let px = bounds.min.x as i32 + x as i32;
                let py = bounds.min.y as i32 + y as i32;
                if (0..tw as i32).contains(&px) && (0..TH as i32).contains(&py) {
                    t[py as usize * tw + px as usize] += cov;
                }
            });
            templates.push(t);
        }
        // Blurred variants: blur rounds the corners that tell 0 from O, or 8 from B, and a sharp
        // template then matches the rounder glyph better.
        let sharp = templates.clone();
        for sigma in TEMPLATE_BLURS {
            templates.extend(sharp.iter().map(|t| blur_template(t, tw, sigma)));
        }
        templates.iter_mut().for_each(|t| normalise(t));
        Ok(TemplateSet { tw, templates })
    }
}

impl MrzReader {
    /// Builds the reader, rasterising the 37 MRZ characters from `font` (OCR-B).
    pub fn new(font: &[u8]) -> Result<Self, MrzReaderError> {
        Ok(MrzReader {
            sets: vec![TemplateSet::new(font)?],
        })
    }

    /// Adds templates from another monospaced font, for documents whose MRZ is not printed in
    /// OCR-B. Each character then scores its best match over all fonts.
    pub fn with_extra_font(mut self, font: &[u8]) -> Result<Self, MrzReaderError> {
        self.sets.push(TemplateSet::new(font)?);
        Ok(self)
    }

    /// Finds and reads the MRZ of a document image; `None` when there is none.
    pub fn read(&self, image: &RgbImage) -> Option<MrzText> {
        if image.width() < 32 || image.height() < 32 {
            return None;
        }
        let gray = grayscale(image);
        let bin = binarise(&gray);
        let blobs: Vec<Blob> = components(&bin)
            .into_iter()
            .filter(|b| character_sized(b, bin.h))
            .collect();
        let mut lines: Vec<Line> = Vec::new();
        for chain in chains(&blobs) {
            let Some(line) = line_from_chain(&chain, &blobs, &bin) else {
                continue;
            };
            if let Some(existing) = lines.iter_mut().find(|l| same_line(l, &line)) {
                if line.support > existing.support {
                    *existing = line;
                }
            } else {
                lines.push(line);
            }
        }
        // Top to bottom.
        lines.sort_by(|a, b| a.cell_centre(0.0).1.total_cmp(&b.cell_centre(0.0).1));
        // Every accepted group of lines, as (format, index of its first line among the lines
        // of that length, text).
        let mut accepted: Vec<(MrzFormat, usize, MrzText)> = Vec::new();
        for format in [MrzFormat::Td3, MrzFormat::Td2, MrzFormat::Td1] {
            let candidates: Vec<&Line> = lines
                .iter()
                .filter(|l| l.cells == format.line_len())
                .collect();
            let n = format.line_count();
            if candidates.len() < n {
                continue;
            }
            for (first, group) in candidates.windows(n).enumerate() {
                if !aligned(group) {
                    continue;
                }
                let text = self.read_zone(&gray, format, group);
                if text.mean_score >= MIN_MEAN_SCORE {
                    accepted.push((format, first, text));
                }
            }
        }
        // The best read is the answer. Groups sharing no line with a better one are further
        // zones: one document has one, so more means several documents or a pasted zone.
        accepted.sort_by(|a, b| b.2.mean_score.total_cmp(&a.2.mean_score));
        let mut kept: Vec<(MrzFormat, usize)> = Vec::new();
        for (format, first, _) in &accepted {
            let n = format.line_count();
            let overlaps = kept
                .iter()
                .any(|(f, k)| f == format && first + n > *k && k + n > *first);
            if !overlaps {
                kept.push((*format, *first));
            }
        }
        let zones = kept.len();
        accepted.into_iter().next().map(|(_, _, mut text)| {
            text.zones = zones;
            text
        })
    }

    /// Classifies every cell of an aligned group of lines.
    fn read_zone(&self, gray: &Plane, format: MrzFormat, group: &[&Line]) -> MrzText {
        let mut lines = Vec::with_capacity(group.len());
        let mut margins = Vec::with_capacity(group.len());
        let mut scores = Vec::with_capacity(group.len());
        let mut visa = false;
        for (li, line) in group.iter().enumerate() {
            let line = &self.refine(gray, line);
            let mut text = String::with_capacity(line.cells);
            let mut line_margins = Vec::with_capacity(line.cells);
            let mut line_scores = Vec::with_capacity(line.cells);
            for k in 0..line.cells {
                let class = position_class(format, li, k, visa);
                let all = self.correlate(gray, line, k, None, true);
                let mut best = (0usize, f32::MIN);
                let mut second = f32::MIN;
                for (t, &s) in all.iter().enumerate() {
                    if !class.allows(MRZ_ALPHABET[t]) {
                        continue;
                    }
                    if s > best.1 {
                        second = best.1;
                        best = (t, s);
                    } else if s > second {
                        second = s;
                    }
                }
                let c = MRZ_ALPHABET[best.0] as char;
                if li == 0 && k == 0 {
                    visa = c == 'V';
                }
                text.push(c);
                line_margins.push(best.1 - second);
                line_scores.push(best.1);
            }
            lines.push(text);
            margins.push(line_margins);
            scores.push(line_scores);
        }
        let all_scores: Vec<f32> = scores.iter().flatten().copied().collect();
        let mean_score = all_scores.iter().sum::<f32>() / all_scores.len().max(1) as f32;
        let min_margin = margins
            .iter()
            .flatten()
            .copied()
            .fold(f32::INFINITY, f32::min);
        MrzText {
            format,
            lines,
            min_margin,
            mean_score,
            zones: 1,
            margins,
            scores,
        }
    }

    /// Adjusts the cap height and vertical position of `line` to those that best match the
    /// templates on a sample of its cells. The ink profile gives them only roughly: digits are
    /// taller than letters, and blur widens strokes.
    fn refine(&self, gray: &Plane, line: &Line) -> Line {
        let sample: Vec<usize> = (0..line.cells).step_by((line.cells / 8).max(1)).collect();
        // The three best characters of each sampled cell at the rough geometry; the fit then
        // only scores those, which is enough to compare geometries.
        let candidates: Vec<Vec<usize>> = sample
            .iter()
            .map(|&k| {
                let scores = self.correlate(gray, line, k, None, true);
                let mut order: Vec<usize> = (0..scores.len()).collect();
                order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
                order.truncate(3);
                order
            })
            .collect();
        let fit = |scale: f32, offset: f32| {
            let mut l = line.clone();
            let cap = line.cap() * scale;
            let centre = 0.5 * (line.v_top + line.v_bottom) + offset * line.cap();
            l.v_top = centre - 0.5 * cap;
            l.v_bottom = centre + 0.5 * cap;
            let score: f32 = sample
                .iter()
                .zip(&candidates)
                .map(|(&k, only)| {
                    self.correlate(gray, &l, k, Some(only), true)
                        .into_iter()
                        .fold(f32::MIN, f32::max)
                })
                .sum();
            (score, l)
        };
        let mut best = fit(1.0, 0.0);
        for scale in [0.88, 0.91, 0.94, 0.97, 1.03, 1.06, 1.09, 1.12] {
            let candidate = fit(scale, 0.0);
            if candidate.0 > best.0 {
                best = candidate;
            }
        }
        let scale = best.1.cap() / line.cap();
        for offset in [-0.04, -0.02, 0.02, 0.04] {
            let candidate = fit(scale, offset);
            if candidate.0 > best.0 {
                best = candidate;
            }
        }
        best.1
    }

    /// Correlation of cell `k` of `line` with every character, best over fonts and small shifts.
    /// With `only`, the other characters score `f32::MIN`.
    fn correlate(
        &self,
        gray: &Plane,
        line: &Line,
        k: usize,
        only: Option<&[usize]>,
        vertical_shift: bool,
    ) -> Vec<f32> {
        let mut best = vec![f32::MIN; MRZ_ALPHABET.len()];
        for set in &self.sets {
            for (b, s) in best
                .iter_mut()
                .zip(set.correlate(gray, line, k, only, vertical_shift))
            {
                *b = b.max(s);
            }
        }
        best
    }
}

impl TemplateSet {
    /// Correlation of cell `k` of `line` with every template, best over small shifts.
    fn correlate(
        &self,
        gray: &Plane,
        line: &Line,
        k: usize,
        only: Option<&[usize]>,
        vertical_shift: bool,
    ) -> Vec<f32> {
        let tw = self.tw;
        let pw = tw + 2 * SHIFT;
        let ph = TH + 2 * SHIFT;
        let cap = line.cap();
        let step = cap * (1.0 + 2.0 * V_MARGIN) / TH as f32;
        let uc = line.u0 + k as f32 * line.pitch;
        let v_start = line.v_top - V_MARGIN * cap;
        // Average several samples per template pixel when reducing.
        let sub = (step / 1.8).ceil().clamp(1.0, 4.0) as usize;
        let mut patch = vec![0f32; pw * ph];
        for r in 0..ph {
            for c in 0..pw {
                let mut sum = 0.0;
                for sy in 0..sub {
                    for sx in 0..sub {
                        let fr = r as f32 - SHIFT as f32 + (sy as f32 + 0.5) / sub as f32;
                        let fc = c as f32 - SHIFT as f32 + (sx as f32 + 0.5) / sub as f32;
                        let v = v_start + fr * step;
                        let u = uc + (fc - 0.5 * tw as f32) * step;
                        let (x, y) = line.at(u, v);
                        sum += gray.sample(x, y);
                    }
                }
                patch[r * pw + c] = 255.0 - sum / (sub * sub) as f32;
            }
        }
        let chars = MRZ_ALPHABET.len();
        let mut best = vec![f32::MIN; chars];
        let n = (tw * TH) as f32;
        let mut window = vec![0f32; tw * TH];
        let rows = if vertical_shift {
            0..=2 * SHIFT
        } else {
            SHIFT..=SHIFT
        };
        for oy in rows {
            for ox in 0..=2 * SHIFT {
                for r in 0..TH {
                    let start = (r + oy) * pw + ox;
                    window[r * tw..(r + 1) * tw].copy_from_slice(&patch[start..start + tw]);
                }
                let sum: f32 = window.iter().sum();
                let var = dot(&window, &window) - sum * sum / n;
                if var <= 1e-3 {
                    continue;
                }
                let inv = 1.0 / var.sqrt();
                match only {
                    Some(only) => {
                        for &t in only {
                            for variant in self.templates[t..].iter().step_by(chars) {
                                best[t] = best[t].max(dot(&window, variant) * inv);
                            }
                        }
                    }
                    None => {
                        for (i, template) in self.templates.iter().enumerate() {
                            let b = &mut best[i % chars];
                            *b = b.max(dot(&window, template) * inv);
                        }
                    }
                }
            }
        }
        best
    }
}

/// Dot product with independent lanes, so that it vectorises.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let chunks = a.len() / 8;
    for (ca, cb) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for i in 0..8 {
            lanes[i] += ca[i] * cb[i];
        }
    }
    let mut total: f32 = lanes.iter().sum();
    for i in chunks * 8..a.len().min(b.len()) {
        total += a[i] * b[i];
    }
    total
}

/// Gaussian blur of a `tw`-wide template, zero outside.
fn blur_template(t: &[f32], tw: usize, sigma: f32) -> Vec<f32> {
    let radius = (2.5 * sigma).ceil() as isize;
    let kernel: Vec<f32> = (-radius..=radius)
        .map(|i| (-((i * i) as f32) / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f32 = kernel.iter().sum();
    let th = t.len() / tw;
    let pass = |src: &[f32], horizontal: bool| -> Vec<f32> {
        let mut out = vec![0f32; src.len()];
        for y in 0..th as isize {
            for x in 0..tw as isize {
                let mut acc = 0f32;
                for (j, k) in kernel.iter().enumerate() {
                    let o = j as isize - radius;
                    let (sx, sy) = if horizontal { (x + o, y) } else { (x, y + o) };
                    if (0..tw as isize).contains(&sx) && (0..th as isize).contains(&sy) {
                        acc += src[sy as usize * tw + sx as usize] * k;
                    }
                }
                out[y as usize * tw + x as usize] = acc / total;
            }
        }
        out
    };
    pass(&pass(t, true), false)
}

/// Zero mean, unit norm.
fn normalise(t: &mut [f32]) {
    let mean = t.iter().sum::<f32>() / t.len() as f32;
    t.iter_mut().for_each(|v| *v -= mean);
    let norm = t.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-6);
    t.iter_mut().for_each(|v| *v /= norm);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader() -> MrzReader {
        MrzReader::new(OCRB_FONT).unwrap()
    }

    #[test]
    fn rejects_non_fonts() {
        assert!(matches!(
            MrzReader::new(b"not a font"),
            Err(MrzReaderError::InvalidFont)
        ));
    }

    #[test]
    fn templates_are_distinct() {
        let reader = reader();
        let templates = &reader.sets[0].templates[..37];
        assert_eq!(
            reader.sets[0].templates.len(),
            37 * (1 + TEMPLATE_BLURS.len())
        );
        for (i, a) in templates.iter().enumerate() {
            for b in &templates[i + 1..] {
                let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
                assert!(dot < 0.97, "{dot}");
            }
        }
    }

    #[test]
    fn position_classes() {
        assert_eq!(position_class(MrzFormat::Td3, 1, 13, false), Class::Digit);
        assert_eq!(position_class(MrzFormat::Td3, 1, 43, false), Class::Digit);
        assert_eq!(position_class(MrzFormat::Td3, 1, 43, true), Class::Any);
        assert_eq!(position_class(MrzFormat::Td3, 0, 20, false), Class::Alpha);
        assert_eq!(
            position_class(MrzFormat::Td1, 0, 14, false),
            Class::DigitOrFiller
        );
        assert_eq!(position_class(MrzFormat::Td1, 1, 7, false), Class::Sex);
        assert_eq!(position_class(MrzFormat::Td1, 2, 3, false), Class::Alpha);
        assert_eq!(position_class(MrzFormat::Td2, 1, 35, false), Class::Digit);
    }

    #[test]
    fn blank_image_has_no_mrz() {
        let reader = reader();
        let image = RgbImage::from_pixel(400, 300, image::Rgb([230, 235, 240]));
        assert!(reader.read(&image).is_none());
    }

    #[test]
    fn debug_hides_text() {
        let text = MrzText {
            format: MrzFormat::Td1,
            lines: vec!["SECRET".into()],
            min_margin: 0.1,
            mean_score: 0.9,
            zones: 1,
            margins: vec![],
            scores: vec![],
        };
        assert!(!format!("{text:?}").contains("SECRET"));
    }
}
