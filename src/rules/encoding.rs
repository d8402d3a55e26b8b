//! From bytes to the document's text: UTF-8, with or without a byte-order mark (editors
//! on Windows save one); any other encoding is refused by name, before the YAML parser
//! reads a UTF-16 file as garbage or a BOM as a second document (SPEC §13).
//!
//! CRLF line endings need nothing here: YAML and JSON both read `\r\n` as a line break.

use std::fmt;

use super::positions::Position;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Byte-order marks of the encodings that are refused. UTF-32 LE's mark starts with
/// UTF-16 LE's, so it comes first.
const OTHER_BOMS: &[(&[u8], &str)] = &[
    (b"\xFF\xFE\x00\x00", "UTF-32 LE"),
    (b"\x00\x00\xFE\xFF", "UTF-32 BE"),
    (b"\xFF\xFE", "UTF-16 LE"),
    (b"\xFE\xFF", "UTF-16 BE"),
];

/// The bytes of a rules document are not UTF-8 text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{found}; allowed: UTF-8 only (a UTF-8 byte-order mark and CRLF line endings are fine): \
     save the file as UTF-8"
)]
pub struct EncodingError {
    found: Found,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Found {
    /// A byte-order mark of another Unicode encoding.
    Marked(&'static str),
    /// No mark, but the zero bytes of ASCII characters in UTF-16 or UTF-32.
    Unmarked(&'static str),
    /// A NUL byte that fits no such pattern (the byte offset of the first): no YAML or
    /// JSON text has one.
    Nul(usize),
    /// Bytes that are not UTF-8 (most often Latin-1 or Windows-1252 text).
    Invalid { byte: u8, at: Position },
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Found::Marked(name) => write!(
                f,
                "the document is {name} text (it starts with the {name} byte-order mark), not UTF-8"
            ),
            Found::Unmarked(name) => write!(
                f,
                "the document is {name} text (without a byte-order mark), not UTF-8"
            ),
            Found::Nul(offset) => write!(
                f,
                "the document has a NUL byte (at byte {offset}), which UTF-8 text never has: \
                 it is UTF-16 or UTF-32 text, or not text at all"
            ),
            Found::Invalid { byte, at } => write!(
                f,
                "the document is not UTF-8: byte 0x{byte:02X} at line {}, column {} is not valid \
                 UTF-8 (Latin-1 or Windows-1252 text?)",
                at.line, at.column
            ),
        }
    }
}

/// The text of a rules document's bytes, without a UTF-8 byte-order mark; an error
/// naming the encoding for UTF-16, UTF-32 and anything else that is not UTF-8.
pub fn document_text(bytes: &[u8]) -> Result<&str, EncodingError> {
    let refuse = |found| Err(EncodingError { found });
    if let Some((_, name)) = OTHER_BOMS.iter().find(|(bom, _)| bytes.starts_with(bom)) {
        return refuse(Found::Marked(name));
    }
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    if let Some(name) = unmarked_wide(bytes) {
        return refuse(Found::Unmarked(name));
    }
    // NUL is never in YAML or JSON text: a UTF-16 document that starts with a
    // character outside ASCII (a comment in another script) lands here.
    if let Some(offset) = bytes.iter().position(|&b| b == 0) {
        return refuse(Found::Nul(offset));
    }
    std::str::from_utf8(bytes).map_err(|err| {
        // `valid_up_to` is the index of the first byte that is not UTF-8, so it is in
        // range, and the bytes before it are valid UTF-8.
        let valid = err.valid_up_to();
        EncodingError {
            found: Found::Invalid {
                byte: bytes[valid],
                at: position(&bytes[..valid]),
            },
        }
    })
}

/// UTF-16 or UTF-32 without a mark, told by where the zero bytes of the first character
/// fall when it is ASCII, as it is in almost every rules document (RFC 4627, §3).
fn unmarked_wide(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0, 0, 0, b, ..] if *b != 0 => Some("UTF-32 BE"),
        [b, 0, 0, 0, ..] if *b != 0 => Some("UTF-32 LE"),
        [0, b, ..] if *b != 0 => Some("UTF-16 BE"),
        [b, 0, ..] if *b != 0 => Some("UTF-16 LE"),
        _ => None,
    }
}

/// Line and column (1-based, in characters) just after `before`, which is valid UTF-8.
fn position(before: &[u8]) -> Position {
    let before = String::from_utf8_lossy(before);
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Position {
        line: before.matches('\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "version: 1\r\nrules: []\r\n";

    fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
        text.encode_utf16()
            .flat_map(|unit| {
                if big_endian {
                    unit.to_be_bytes()
                } else {
                    unit.to_le_bytes()
                }
            })
            .collect()
    }

    fn utf32(text: &str, big_endian: bool) -> Vec<u8> {
        text.chars()
            .flat_map(|c| {
                if big_endian {
                    u32::from(c).to_be_bytes()
                } else {
                    u32::from(c).to_le_bytes()
                }
            })
            .collect()
    }

    fn found(bytes: &[u8]) -> String {
        document_text(bytes).unwrap_err().to_string()
    }

    #[test]
    fn utf8_is_read_as_is_and_its_byte_order_mark_is_dropped() {
        assert_eq!(document_text(DOC.as_bytes()), Ok(DOC));
        let marked = [UTF8_BOM, DOC.as_bytes()].concat();
        assert_eq!(document_text(&marked), Ok(DOC));
        assert_eq!(document_text(b""), Ok(""));
        assert_eq!(document_text(UTF8_BOM), Ok(""));
        let accents = "# Überwachung, 監視\nversion: 1\n";
        assert_eq!(document_text(accents.as_bytes()), Ok(accents));
    }

    #[test]
    fn utf16_and_utf32_are_named_with_or_without_a_mark() {
        let text = format!("\u{FEFF}{DOC}");
        let cases = [
            (
                utf16(&text, false),
                "UTF-16 LE text (it starts with the UTF-16 LE byte-order mark)",
            ),
            (
                utf16(&text, true),
                "UTF-16 BE text (it starts with the UTF-16 BE byte-order mark)",
            ),
            (
                utf32(&text, false),
                "UTF-32 LE text (it starts with the UTF-32 LE byte-order mark)",
            ),
            (
                utf32(&text, true),
                "UTF-32 BE text (it starts with the UTF-32 BE byte-order mark)",
            ),
            (
                utf16(DOC, false),
                "UTF-16 LE text (without a byte-order mark)",
            ),
            (
                utf16(DOC, true),
                "UTF-16 BE text (without a byte-order mark)",
            ),
            (
                utf32(DOC, false),
                "UTF-32 LE text (without a byte-order mark)",
            ),
            (
                utf32(DOC, true),
                "UTF-32 BE text (without a byte-order mark)",
            ),
        ];
        for (bytes, name) in cases {
            let message = found(&bytes);
            assert_eq!(
                message,
                format!(
                    "the document is {name}, not UTF-8; allowed: UTF-8 only (a UTF-8 byte-order \
                     mark and CRLF line endings are fine): save the file as UTF-8"
                )
            );
        }
    }

    #[test]
    fn utf16_starting_with_another_script_is_caught_by_its_nul_bytes() {
        // 監 is E3 76, 視 is 96 89 in UTF-16 LE: the ':' after them is 3A 00.
        let message = found(&utf16("監視: 1\n", false));
        assert!(
            message.starts_with(
                "the document has a NUL byte (at byte 5), which UTF-8 text never has: it is \
                 UTF-16 or UTF-32 text, or not text at all; allowed: UTF-8 only"
            ),
            "{message}"
        );
    }

    #[test]
    fn latin1_bytes_are_placed_and_named() {
        // "Überwachung" in Latin-1, on line 2 after a CRLF line.
        let message = found(b"version: 1\r\n# \xDCberwachung\n");
        assert!(
            message.starts_with(
                "the document is not UTF-8: byte 0xDC at line 2, column 3 is not valid UTF-8 \
                 (Latin-1 or Windows-1252 text?); allowed: UTF-8 only"
            ),
            "{message}"
        );
        // A UTF-8 character cut short at the end of the file.
        assert!(found(b"name: caf\xC3").contains("byte 0xC3 at line 1, column 10"));
    }
}
