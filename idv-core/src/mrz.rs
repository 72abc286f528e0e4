//! Parsing of the machine-readable zone (MRZ) of identity documents, as laid out by ICAO Doc 9303.
//!
//! idv reads the MRZ text from a document image elsewhere; this module turns that text into
//! fields and verifies its check digits. It knows the three layouts: TD1 (ID cards, 3 lines of 30
//! characters), TD2 (2 lines of 36) and TD3 (passports, 2 lines of 44). Parsing never "repairs"
//! characters: a check digit that does not match is reported as a failed [`DigitCheck`], which a
//! caller can treat as a sign of tampering or of a misread.
//!
//! The parsed [`Mrz`] holds personal data (names, document number, dates). Its `Debug` output
//! shows only the layout, document code and check outcomes so that it can never leak into logs.

use std::fmt;

use chrono::{Datelike, NaiveDate};

/// The three MRZ layouts of ICAO Doc 9303.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MrzFormat {
    /// ID-1 size cards: 3 lines of 30 characters.
    Td1,
    /// ID-2 size documents: 2 lines of 36 characters.
    Td2,
    /// Passports (ID-3 size): 2 lines of 44 characters.
    Td3,
}

impl MrzFormat {
    /// The layout's name in the API: `td1`, `td2` or `td3`.
    pub fn as_str(self) -> &'static str {
        match self {
            MrzFormat::Td1 => "td1",
            MrzFormat::Td2 => "td2",
            MrzFormat::Td3 => "td3",
        }
    }

    /// Number of lines of the layout.
    pub fn line_count(self) -> usize {
        match self {
            MrzFormat::Td1 => 3,
            MrzFormat::Td2 | MrzFormat::Td3 => 2,
        }
    }

    /// Number of characters per line.
    pub fn line_len(self) -> usize {
        match self {
            MrzFormat::Td1 => 30,
            MrzFormat::Td2 => 36,
            MrzFormat::Td3 => 44,
        }
    }

    /// The layout with `lines` lines of `len` characters, if there is one.
    pub fn from_shape(lines: usize, len: usize) -> Option<Self> {
        match (lines, len) {
            (3, 30) => Some(MrzFormat::Td1),
            (2, 36) => Some(MrzFormat::Td2),
            (2, 44) => Some(MrzFormat::Td3),
            _ => None,
        }
    }
}

/// Broad kind of document, from the document code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    /// Codes starting with `P`.
    Passport,
    /// Codes starting with `I`, `A` or `C` (official travel documents of ID-1/ID-2 size).
    IdCard,
    /// Codes starting with `V` (machine-readable visas).
    Visa,
    /// Codes starting with `D` (driving licences that carry a zone, as some national ones do).
    DrivingLicense,
    /// Anything else.
    Other,
}

/// The kind of document a document code (`"P"`, `"ID"`, `"AC"`, `"V"`…) denotes.
///
/// `A`, `C` and `I` codes are ID cards only in the TD1 and TD2 layouts; [`Mrz::document_kind`]
/// takes the layout into account.
pub fn document_kind(code: &str) -> DocumentKind {
    match code.chars().next() {
        Some('P') => DocumentKind::Passport,
        Some('I' | 'A' | 'C') => DocumentKind::IdCard,
        Some('V') => DocumentKind::Visa,
        Some('D') => DocumentKind::DrivingLicense,
        _ => DocumentKind::Other,
    }
}

/// Value of one MRZ character in check digit computation: digits are themselves, `A`–`Z` are
/// 10–35 and the filler `<` is 0.
fn char_value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => Some(c as u32 - '0' as u32),
        'A'..='Z' => Some(c as u32 - 'A' as u32 + 10),
        '<' => Some(0),
        _ => None,
    }
}

/// The ICAO 9303 check digit of `field` (weights 7, 3, 1 repeating, sum modulo 10).
///
/// Returns `None` if the field holds a character that cannot appear in an MRZ.
pub fn check_digit(field: &str) -> Option<u8> {
    const WEIGHTS: [u32; 3] = [7, 3, 1];
    let mut sum = 0u32;
    for (i, c) in field.chars().enumerate() {
        sum += char_value(c)? * WEIGHTS[i % 3];
    }
    Some((sum % 10) as u8)
}

/// Whether `check` is a digit equal to the check digit of `field`.
fn digit_matches(field: &str, check: char) -> bool {
    match (check_digit(field), check.to_digit(10)) {
        (Some(expected), Some(found)) => u32::from(expected) == found,
        _ => false,
    }
}

/// A date as written in the MRZ: two-digit year, month and day.
///
/// When the six characters of the field are not all digits, all three values are 0 and the
/// accessors return `None`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MrzDate {
    /// Two-digit year (0–99).
    pub year: u8,
    /// Month as written (1–12 when valid).
    pub month: u8,
    /// Day as written (1–31 when valid).
    pub day: u8,
}

impl MrzDate {
    /// Reads a `YYMMDD` field; `None` when it is not six digits.
    fn from_field(field: &str) -> Option<Self> {
        let b = field.as_bytes();
        if b.len() != 6 || !b.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let two = |i: usize| (b[i] - b'0') * 10 + (b[i + 1] - b'0');
        Some(MrzDate {
            year: two(0),
            month: two(2),
            day: two(4),
        })
    }

    /// The date read as 20YY, as for expiry dates; `None` if it is not a calendar date.
    pub fn expiry(&self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(
            2000 + i32::from(self.year),
            self.month.into(),
            self.day.into(),
        )
    }

    /// The date read as a birth date: 20YY unless that would be after `today`, then 19YY.
    pub fn birth(&self, today: NaiveDate) -> Option<NaiveDate> {
        let recent = self.expiry()?;
        if recent <= today {
            Some(recent)
        } else {
            NaiveDate::from_ymd_opt(recent.year() - 100, self.month.into(), self.day.into())
        }
    }
}

impl fmt::Debug for MrzDate {
    /// Dates of birth are personal data: the value is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MrzDate(..)")
    }
}

/// Outcome of one check digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigitCheck {
    /// The field checked: `document_number`, `birth_date`, `expiry_date`, `optional_data`
    /// (the TD3 personal number) or `composite`.
    pub field: &'static str,
    /// Whether the check digit printed matches the field.
    pub valid: bool,
}

/// Why MRZ text could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MrzParseError {
    /// The lines do not match any of the three layouts.
    #[error("MRZ shape {lines} line(s) of {len} character(s) matches no ICAO 9303 layout")]
    UnknownLayout {
        /// Number of lines given.
        lines: usize,
        /// Length of the first line (0 when there is none).
        len: usize,
    },
    /// The lines have different lengths.
    #[error("MRZ lines have different lengths")]
    UnevenLines,
    /// A character outside `0`–`9`, `A`–`Z` and `<`.
    #[error("invalid MRZ character at line {line}, column {column}")]
    InvalidCharacter {
        /// Line, from 1.
        line: usize,
        /// Column, from 1.
        column: usize,
    },
    /// The sex field holds something other than `M`, `F`, `X` or `<`.
    #[error("invalid sex field in MRZ")]
    InvalidSex,
}

/// A parsed MRZ.
///
/// Holds personal data: its `Debug` output omits every personal field.
#[derive(Clone, PartialEq, Eq)]
pub struct Mrz {
    /// Layout of the zone.
    pub format: MrzFormat,
    /// Document code with trailing fillers removed (`"P"`, `"I"`, `"ID"`, `"AC"`…).
    pub document_code: String,
    /// Issuing state or organisation (three letters, fillers removed).
    pub issuing_state: String,
    /// Document number without fillers, including the overflow of long TD1/TD2 numbers.
    pub document_number: String,
    /// Nationality of the holder (fillers removed).
    pub nationality: String,
    /// Primary identifier, fillers turned into spaces.
    pub surname: String,
    /// Secondary identifier, names separated by single spaces.
    pub given_names: String,
    /// `M`, `F` or `X` (unspecified, written `<`).
    pub sex: char,
    /// Date of birth.
    pub birth_date: MrzDate,
    /// Date of expiry.
    pub expiry_date: MrzDate,
    /// Optional data (TD3: personal number), fillers removed; for TD1 both optional fields joined
    /// by a space when both are present.
    pub optional_data: String,
    /// Outcome of every check digit of the layout.
    pub checks: Vec<DigitCheck>,
}

impl Mrz {
    /// Whether every check digit matches.
    pub fn checksums_valid(&self) -> bool {
        self.checks.iter().all(|c| c.valid)
    }

    /// Kind of document, taking the layout into account (`A`, `C` and `I` codes are ID cards
    /// only in TD1 and TD2).
    pub fn document_kind(&self) -> DocumentKind {
        match document_kind(&self.document_code) {
            DocumentKind::IdCard if self.format == MrzFormat::Td3 => DocumentKind::Other,
            kind => kind,
        }
    }

    /// The check named `field`, if the layout has it.
    pub fn check(&self, field: &str) -> Option<&DigitCheck> {
        self.checks.iter().find(|c| c.field == field)
    }
}

impl fmt::Debug for Mrz {
    /// Prints the layout, document code and check outcomes only: everything else is personal.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mrz")
            .field("format", &self.format)
            .field("document_code", &self.document_code)
            .field("checks", &self.checks)
            .finish_non_exhaustive()
    }
}

/// Removes fillers from a code-like field (`"D<<"` → `"D"`, `"L898902C3"` unchanged).
fn strip_fillers(field: &str) -> String {
    field.trim_end_matches('<').replace('<', "")
}

/// Turns a run of names separated by fillers into space-separated words.
fn words(field: &str) -> String {
    field
        .split('<')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Splits the name field into primary and secondary identifiers at the first `<<`.
fn split_name(field: &str) -> (String, String) {
    match field.find("<<") {
        Some(i) => (words(&field[..i]), words(&field[i + 2..])),
        None => (words(field), String::new()),
    }
}

fn parse_sex(c: char) -> Result<char, MrzParseError> {
    match c {
        'M' | 'F' | 'X' => Ok(c),
        '<' => Ok('X'),
        _ => Err(MrzParseError::InvalidSex),
    }
}

/// A date field and its check: the check fails when the field is not six digits.
fn date_field(field: &str, check: char, name: &'static str) -> (MrzDate, DigitCheck) {
    match MrzDate::from_field(field) {
        Some(date) => (
            date,
            DigitCheck {
                field: name,
                valid: digit_matches(field, check),
            },
        ),
        None => (
            MrzDate {
                year: 0,
                month: 0,
                day: 0,
            },
            DigitCheck {
                field: name,
                valid: false,
            },
        ),
    }
}

/// Document number with its check, handling the long-number overflow of TD1 and TD2: when the
/// check digit position holds `<`, the number continues in the optional data up to the first
/// filler, the last character before it being the check digit. Returns the number, its check and
/// the optional data that remains.
fn document_number(
    number: &str,
    check: char,
    optional: &str,
    overflow_allowed: bool,
) -> (String, DigitCheck, String) {
    if overflow_allowed && check == '<' {
        let ext_len = optional.find('<').unwrap_or(optional.len());
        if ext_len >= 1 {
            let ext = &optional[..ext_len];
            let (digits, check_char) = ext.split_at(ext_len - 1);
            let full = format!("{}{}", number, digits);
            let valid = digit_matches(&full, check_char.chars().next().unwrap_or('<'));
            return (
                strip_fillers(&full),
                DigitCheck {
                    field: "document_number",
                    valid,
                },
                strip_fillers(&optional[ext_len..]),
            );
        }
    }
    (
        strip_fillers(number),
        DigitCheck {
            field: "document_number",
            valid: digit_matches(number, check),
        },
        strip_fillers(optional),
    )
}

/// Parses MRZ lines (without surrounding whitespace) of any of the three layouts.
pub fn parse(lines: &[String]) -> Result<Mrz, MrzParseError> {
    let len = lines.first().map_or(0, |l| l.len());
    if lines.iter().any(|l| l.len() != len) {
        return Err(MrzParseError::UnevenLines);
    }
    let format = MrzFormat::from_shape(lines.len(), len).ok_or(MrzParseError::UnknownLayout {
        lines: lines.len(),
        len,
    })?;
    for (li, line) in lines.iter().enumerate() {
        if let Some(ci) = line.chars().position(|c| char_value(c).is_none()) {
            return Err(MrzParseError::InvalidCharacter {
                line: li + 1,
                column: ci + 1,
            });
        }
    }
    // All characters are ASCII from here on, so byte slicing is safe.
    let l1 = lines[0].as_str();
    let l2 = lines[1].as_str();
    let ch = |s: &str, i: usize| s.as_bytes()[i] as char;
    let document_code = strip_fillers(&l1[0..2]);
    let issuing_state = strip_fillers(&l1[2..5]);
    let is_visa = l1.starts_with('V');
    match format {
        MrzFormat::Td1 => {
            let l3 = lines[2].as_str();
            let (document_number, number_check, optional1) =
                document_number(&l1[5..14], ch(l1, 14), &l1[15..30], true);
            let (birth_date, birth_check) = date_field(&l2[0..6], ch(l2, 6), "birth_date");
            let sex = parse_sex(ch(l2, 7))?;
            let (expiry_date, expiry_check) = date_field(&l2[8..14], ch(l2, 14), "expiry_date");
            let optional2 = strip_fillers(&l2[18..29]);
            let composite_field =
                format!("{}{}{}{}", &l1[5..30], &l2[0..7], &l2[8..15], &l2[18..29]);
            let composite = DigitCheck {
                field: "composite",
                valid: digit_matches(&composite_field, ch(l2, 29)),
            };
            let optional_data = [optional1, optional2]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            let (surname, given_names) = split_name(l3);
            Ok(Mrz {
                format,
                document_code,
                issuing_state,
                document_number,
                nationality: strip_fillers(&l2[15..18]),
                surname,
                given_names,
                sex,
                birth_date,
                expiry_date,
                optional_data,
                checks: vec![number_check, birth_check, expiry_check, composite],
            })
        }
        MrzFormat::Td2 | MrzFormat::Td3 => {
            let end = len - 1;
            // Visas (MRV-A, MRV-B) have no composite and no personal number check: their optional
            // data runs to the end of the line.
            let optional_end = if is_visa { len } else { end };
            let (optional_field, personal_check) = if format == MrzFormat::Td3 && !is_visa {
                (&l2[28..42], Some(ch(l2, 42)))
            } else {
                (&l2[28..optional_end], None)
            };
            let (document_number, number_check, optional_data) = document_number(
                &l2[0..9],
                ch(l2, 9),
                optional_field,
                format == MrzFormat::Td2,
            );
            let (birth_date, birth_check) = date_field(&l2[13..19], ch(l2, 19), "birth_date");
            let sex = parse_sex(ch(l2, 20))?;
            let (expiry_date, expiry_check) = date_field(&l2[21..27], ch(l2, 27), "expiry_date");
            let mut checks = vec![number_check, birth_check, expiry_check];
            if let Some(check) = personal_check {
                let filler_only = optional_field.bytes().all(|b| b == b'<');
                if !(filler_only && check == '<') {
                    checks.push(DigitCheck {
                        field: "optional_data",
                        valid: digit_matches(optional_field, check),
                    });
                }
            }
            if !is_visa {
                let composite_field = format!("{}{}{}", &l2[0..10], &l2[13..20], &l2[21..end]);
                checks.push(DigitCheck {
                    field: "composite",
                    valid: digit_matches(&composite_field, ch(l2, end)),
                });
            }
            let (surname, given_names) = split_name(&l1[5..]);
            Ok(Mrz {
                format,
                document_code,
                issuing_state,
                document_number,
                nationality: strip_fillers(&l2[10..13]),
                surname,
                given_names,
                sex,
                birth_date,
                expiry_date,
                optional_data,
                checks,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[&str]) -> Vec<String> {
        text.iter().map(|s| s.to_string()).collect()
    }

    const TD3: [&str; 2] = [
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
    ];
    const TD1: [&str; 3] = [
        "I<UTOD231458907<<<<<<<<<<<<<<<",
        "7408122F1204159UTO<<<<<<<<<<<6",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    ];
    const TD1_SWE: [&str; 3] = [
        "I<SWE59000002<8198703142391<<<",
        "8703145M1701027SWE<<<<<<<<<<<8",
        "SPECIMEN<<SVEN<<<<<<<<<<<<<<<<",
    ];

    /// Every MRZ block of the specimen file shipped with the models.
    fn specimen_file_blocks() -> Vec<Vec<String>> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/models/documents/icao9303_specimens.txt"
        );
        let Ok(text) = std::fs::read_to_string(path) else {
            return Vec::new();
        };
        let mut blocks = Vec::new();
        let mut current: Vec<String> = Vec::new();
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                if !current.is_empty() {
                    blocks.push(std::mem::take(&mut current));
                }
            } else {
                current.push(line.to_string());
            }
        }
        if !current.is_empty() {
            blocks.push(current);
        }
        blocks
    }

    #[test]
    fn check_digits_of_known_fields() {
        assert_eq!(check_digit("L898902C3"), Some(6));
        assert_eq!(check_digit("740812"), Some(2));
        assert_eq!(check_digit("120415"), Some(9));
        assert_eq!(check_digit("<<<<"), Some(0));
        assert_eq!(check_digit("ab"), None);
        assert_eq!(check_digit(""), Some(0));
    }

    #[test]
    fn specimens_parse_with_valid_checks() {
        let mut blocks = specimen_file_blocks();
        assert!(blocks.is_empty() || blocks.len() == 3, "{}", blocks.len());
        blocks.extend([lines(&TD3), lines(&TD1), lines(&TD1_SWE)]);
        for block in &blocks {
            let mrz = parse(block).unwrap();
            assert!(mrz.checksums_valid(), "{:?}", mrz);
        }
    }

    #[test]
    fn td3_fields() {
        let mrz = parse(&lines(&TD3)).unwrap();
        assert_eq!(mrz.format, MrzFormat::Td3);
        assert_eq!(mrz.document_code, "P");
        assert_eq!(mrz.document_kind(), DocumentKind::Passport);
        assert_eq!(mrz.issuing_state, "UTO");
        assert_eq!(mrz.document_number, "L898902C3");
        assert_eq!(mrz.nationality, "UTO");
        assert_eq!(mrz.surname, "ERIKSSON");
        assert_eq!(mrz.given_names, "ANNA MARIA");
        assert_eq!(mrz.sex, 'F');
        assert_eq!(mrz.optional_data, "ZE184226B");
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        assert_eq!(
            mrz.birth_date.birth(today),
            NaiveDate::from_ymd_opt(1974, 8, 12)
        );
        assert_eq!(
            mrz.expiry_date.expiry(),
            NaiveDate::from_ymd_opt(2012, 4, 15)
        );
        let fields: Vec<_> = mrz.checks.iter().map(|c| c.field).collect();
        assert_eq!(
            fields,
            [
                "document_number",
                "birth_date",
                "expiry_date",
                "optional_data",
                "composite"
            ]
        );
    }

    #[test]
    fn td1_fields() {
        let mrz = parse(&lines(&TD1)).unwrap();
        assert_eq!(mrz.format, MrzFormat::Td1);
        assert_eq!(mrz.document_code, "I");
        assert_eq!(mrz.document_kind(), DocumentKind::IdCard);
        assert_eq!(mrz.document_number, "D23145890");
        assert_eq!(mrz.surname, "ERIKSSON");
        assert_eq!(mrz.given_names, "ANNA MARIA");
        assert_eq!(mrz.optional_data, "");
        let swe = parse(&lines(&TD1_SWE)).unwrap();
        assert_eq!(swe.document_number, "59000002");
        assert_eq!(swe.optional_data, "198703142391");
        assert_eq!(swe.sex, 'M');
        assert_eq!(swe.given_names, "SVEN");
    }

    #[test]
    fn changed_digit_fails_the_right_check() {
        // Birth date 740812 -> 740813: birth and composite checks fail.
        let mut bad = lines(&TD3);
        bad[1].replace_range(18..19, "3");
        let mrz = parse(&bad).unwrap();
        assert!(!mrz.check("birth_date").unwrap().valid);
        assert!(!mrz.check("composite").unwrap().valid);
        assert!(mrz.check("document_number").unwrap().valid);
        assert!(mrz.check("expiry_date").unwrap().valid);
        assert!(mrz.check("optional_data").unwrap().valid);

        // Expiry 120415 -> 120416 on the ID card.
        let mut bad = lines(&TD1);
        bad[1].replace_range(13..14, "6");
        let mrz = parse(&bad).unwrap();
        assert!(!mrz.check("expiry_date").unwrap().valid);
        assert!(mrz.check("birth_date").unwrap().valid);
        assert!(mrz.check("document_number").unwrap().valid);

        // Check digit itself changed: only the document number check fails... and the composite,
        // which covers the check digit.
        let mut bad = lines(&TD1);
        bad[0].replace_range(14..15, "8");
        let mrz = parse(&bad).unwrap();
        assert!(!mrz.check("document_number").unwrap().valid);
        assert!(!mrz.check("composite").unwrap().valid);
        assert!(mrz.check("birth_date").unwrap().valid);
    }

    #[test]
    fn td2_built_by_hand() {
        let number = "AB1234567";
        let birth = "850101";
        let expiry = "300630";
        let optional = "<<<<<<<";
        let nc = check_digit(number).unwrap();
        let bc = check_digit(birth).unwrap();
        let ec = check_digit(expiry).unwrap();
        let composite = format!("{number}{nc}{birth}{bc}{expiry}{ec}{optional}");
        let cc = check_digit(&composite).unwrap();
        let l1 = format!("{:<<36}", "I<UTOSMITH<<JOHN<PAUL");
        let l2 = format!("{number}{nc}UTO{birth}{bc}M{expiry}{ec}{optional}{cc}");
        assert_eq!(l1.len(), 36);
        assert_eq!(l2.len(), 36);
        let mrz = parse(&[l1, l2.clone()]).unwrap();
        assert_eq!(mrz.format, MrzFormat::Td2);
        assert!(mrz.checksums_valid(), "{:?}", mrz);
        assert_eq!(mrz.document_number, number);
        assert_eq!(mrz.surname, "SMITH");
        assert_eq!(mrz.given_names, "JOHN PAUL");
        assert_eq!(
            mrz.expiry_date.expiry(),
            NaiveDate::from_ymd_opt(2030, 6, 30)
        );
        assert_eq!(mrz.checks.len(), 4);

        let mut bad = l2;
        bad.replace_range(0..1, "X");
        let mrz = parse(&[format!("{:<<36}", "I<UTOSMITH"), bad]).unwrap();
        assert!(!mrz.check("document_number").unwrap().valid);
        assert!(!mrz.check("composite").unwrap().valid);
    }

    #[test]
    fn td1_long_document_number() {
        // 12-character number: 9 principal characters, '<' in the check position, then the
        // remaining 3 characters and the check digit in the optional data.
        let full = "D23145890123";
        let check = check_digit(full).unwrap();
        let l1 = format!(
            "{:<<30}",
            format!("I<UTO{}<{}{}", &full[..9], &full[9..], check)
        );
        let l2_head = "7408122F3404159UTO<<<<<<<<<<<";
        let composite = format!(
            "{}{}{}{}",
            &l1[5..30],
            &l2_head[0..7],
            &l2_head[8..15],
            &l2_head[18..29]
        );
        let l2 = format!("{l2_head}{}", check_digit(&composite).unwrap());
        let l3 = format!("{:<<30}", "DOE<<JANE");
        let mrz = parse(&[l1, l2, l3]).unwrap();
        assert_eq!(mrz.document_number, full);
        assert_eq!(mrz.optional_data, "");
        assert!(mrz.checksums_valid(), "{:?}", mrz);
    }

    #[test]
    fn unparseable_dates_fail_without_panicking() {
        let mut bad = lines(&TD1);
        bad[1].replace_range(2..3, "O");
        let mrz = parse(&bad).unwrap();
        assert!(!mrz.check("birth_date").unwrap().valid);
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        assert_eq!(mrz.birth_date.birth(today), None);
        // Month 13 parses as digits but is no date.
        let mut bad = lines(&TD1);
        bad[1].replace_range(10..12, "13");
        let mrz = parse(&bad).unwrap();
        assert_eq!(mrz.expiry_date.expiry(), None);
    }

    #[test]
    fn birth_century() {
        let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        let d = MrzDate::from_field("100101").unwrap();
        assert_eq!(d.birth(today), NaiveDate::from_ymd_opt(2010, 1, 1));
        let d = MrzDate::from_field("300101").unwrap();
        assert_eq!(d.birth(today), NaiveDate::from_ymd_opt(1930, 1, 1));
    }

    #[test]
    fn shape_errors() {
        assert_eq!(
            parse(&lines(&["ABC", "DEF"])),
            Err(MrzParseError::UnknownLayout { lines: 2, len: 3 })
        );
        assert_eq!(
            parse(&lines(&[TD3[0], TD1[0]])),
            Err(MrzParseError::UnevenLines)
        );
        let mut bad = lines(&TD1);
        bad[2].replace_range(3..4, "a");
        assert_eq!(
            parse(&bad),
            Err(MrzParseError::InvalidCharacter { line: 3, column: 4 })
        );
    }

    #[test]
    fn debug_hides_personal_data() {
        let mrz = parse(&lines(&TD3)).unwrap();
        let text = format!("{:?}", mrz);
        for secret in [
            "ERIKSSON",
            "ANNA",
            "L898902C3",
            "740812",
            "ZE184226B",
            "UTO",
        ] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(text.contains("Td3"));
        assert!(text.contains("composite"));
    }

    #[test]
    fn kinds() {
        assert_eq!(document_kind("P"), DocumentKind::Passport);
        assert_eq!(document_kind("ID"), DocumentKind::IdCard);
        assert_eq!(document_kind("AC"), DocumentKind::IdCard);
        assert_eq!(document_kind("V"), DocumentKind::Visa);
        assert_eq!(document_kind("X"), DocumentKind::Other);
        assert_eq!(document_kind(""), DocumentKind::Other);
    }
}
