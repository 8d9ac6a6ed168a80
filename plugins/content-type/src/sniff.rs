//! Go's `net/http.DetectContentType` (`src/net/http/sniff.go`), ported signature for signature,
//! in Go's order: the WHATWG MIME-sniffing algorithm over at most the first 512 bytes.
//!
//! Pure and allocation-free: one pass over the signature table, each test looking at a few
//! leading bytes; the text check at the end scans at most 512 bytes.

/// The algorithm uses at most this many bytes (Go's `sniffLen`).
pub const SNIFF_LEN: usize = 512;

/// Go's fallback when nothing matched (binary data).
pub const OCTET_STREAM: &str = "application/octet-stream";

const HTML: &str = "text/html; charset=utf-8";
const TEXT_UTF8: &str = "text/plain; charset=utf-8";

/// One row of Go's `sniffSignatures`.
enum Sig {
    /// `htmlSig`: case-insensitive (for ASCII letters) after leading white space, followed by a
    /// space or `>`.
    Html(&'static [u8]),
    /// `maskedSig`: `data[i] & mask[i] == pat[i]`, optionally after leading white space.
    Masked {
        mask: &'static [u8],
        pat: &'static [u8],
        skip_ws: bool,
        ct: &'static str,
    },
    /// `exactSig`: a prefix of the data.
    Exact(&'static [u8], &'static str),
    /// `mp4Sig`: an `ftyp` box naming an `mp4` brand.
    Mp4,
    /// `textSig`: no binary control bytes after leading white space. Last.
    Text,
}

/// Go's `sniffSignatures`, same rows, same order.
const SIGNATURES: &[Sig] = &[
    Sig::Html(b"<!DOCTYPE HTML"),
    Sig::Html(b"<HTML"),
    Sig::Html(b"<HEAD"),
    Sig::Html(b"<SCRIPT"),
    Sig::Html(b"<IFRAME"),
    Sig::Html(b"<H1"),
    Sig::Html(b"<DIV"),
    Sig::Html(b"<FONT"),
    Sig::Html(b"<TABLE"),
    Sig::Html(b"<A"),
    Sig::Html(b"<STYLE"),
    Sig::Html(b"<TITLE"),
    Sig::Html(b"<B"),
    Sig::Html(b"<BODY"),
    Sig::Html(b"<BR"),
    Sig::Html(b"<P"),
    Sig::Html(b"<!--"),
    Sig::Masked {
        mask: b"\xFF\xFF\xFF\xFF\xFF",
        pat: b"<?xml",
        skip_ws: true,
        ct: "text/xml; charset=utf-8",
    },
    Sig::Exact(b"%PDF-", "application/pdf"),
    Sig::Exact(b"%!PS-Adobe-", "application/postscript"),
    // UTF BOMs.
    Sig::Masked {
        mask: b"\xFF\xFF\x00\x00",
        pat: b"\xFE\xFF\x00\x00",
        skip_ws: false,
        ct: "text/plain; charset=utf-16be",
    },
    Sig::Masked {
        mask: b"\xFF\xFF\x00\x00",
        pat: b"\xFF\xFE\x00\x00",
        skip_ws: false,
        ct: "text/plain; charset=utf-16le",
    },
    Sig::Masked {
        mask: b"\xFF\xFF\xFF\x00",
        pat: b"\xEF\xBB\xBF\x00",
        skip_ws: false,
        ct: "text/plain; charset=utf-8",
    },
    // Image types.
    Sig::Exact(b"\x00\x00\x01\x00", "image/x-icon"),
    Sig::Exact(b"\x00\x00\x02\x00", "image/x-icon"),
    Sig::Exact(b"BM", "image/bmp"),
    Sig::Exact(b"GIF87a", "image/gif"),
    Sig::Exact(b"GIF89a", "image/gif"),
    Sig::Masked {
        mask: b"\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF\xFF\xFF",
        pat: b"RIFF\x00\x00\x00\x00WEBPVP",
        skip_ws: false,
        ct: "image/webp",
    },
    Sig::Exact(b"\x89PNG\x0D\x0A\x1A\x0A", "image/png"),
    Sig::Exact(b"\xFF\xD8\xFF", "image/jpeg"),
    // Audio and video types, in the order the spec prescribes.
    Sig::Masked {
        mask: b"\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF",
        pat: b"FORM\x00\x00\x00\x00AIFF",
        skip_ws: false,
        ct: "audio/aiff",
    },
    Sig::Masked {
        mask: b"\xFF\xFF\xFF",
        pat: b"ID3",
        skip_ws: false,
        ct: "audio/mpeg",
    },
    Sig::Masked {
        mask: b"\xFF\xFF\xFF\xFF\xFF",
        pat: b"OggS\x00",
        skip_ws: false,
        ct: "application/ogg",
    },
    Sig::Masked {
        mask: b"\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF",
        pat: b"MThd\x00\x00\x00\x06",
        skip_ws: false,
        ct: "audio/midi",
    },
    Sig::Masked {
        mask: b"\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF",
        pat: b"RIFF\x00\x00\x00\x00AVI ",
        skip_ws: false,
        ct: "video/avi",
    },
    Sig::Masked {
        mask: b"\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF",
        pat: b"RIFF\x00\x00\x00\x00WAVE",
        skip_ws: false,
        ct: "audio/wave",
    },
    Sig::Mp4,
    Sig::Exact(b"\x1A\x45\xDF\xA3", "video/webm"),
    // Font types.
    Sig::Masked {
        // 34 bytes of anything, then "LP".
        mask: b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xFF\xFF",
        pat: b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00LP",
        skip_ws: false,
        ct: "application/vnd.ms-fontobject",
    },
    Sig::Exact(b"\x00\x01\x00\x00", "font/ttf"),
    Sig::Exact(b"OTTO", "font/otf"),
    Sig::Exact(b"ttcf", "font/collection"),
    Sig::Exact(b"wOFF", "font/woff"),
    Sig::Exact(b"wOF2", "font/woff2"),
    // Archive types.
    Sig::Exact(b"\x1F\x8B\x08", "application/x-gzip"),
    Sig::Exact(b"PK\x03\x04", "application/zip"),
    // RAR, as RAR Labs defines it (Go's choice over the spec's).
    Sig::Exact(b"Rar!\x1A\x07\x00", "application/x-rar-compressed"),
    Sig::Exact(b"Rar!\x1A\x07\x01\x00", "application/x-rar-compressed"),
    Sig::Exact(b"\x00\x61\x73\x6D", "application/wasm"),
    Sig::Text,
];

/// Go's `DetectContentType`: the MIME type of `data` judged from at most its first 512 bytes;
/// always a valid type, `application/octet-stream` when nothing more specific matches.
pub fn detect_content_type(data: &[u8]) -> &'static str {
    let data = &data[..data.len().min(SNIFF_LEN)];
    let first_non_ws = data.iter().take_while(|b| is_ws(**b)).count();
    SIGNATURES
        .iter()
        .find_map(|sig| sig.matches(data, first_non_ws))
        .unwrap_or(OCTET_STREAM)
}

/// Go's `isWS`: the spec's white-space bytes.
fn is_ws(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

/// Go's `isTT`: a tag-terminating byte.
fn is_tt(b: u8) -> bool {
    matches!(b, b' ' | b'>')
}

impl Sig {
    fn matches(&self, data: &[u8], first_non_ws: usize) -> Option<&'static str> {
        match self {
            Sig::Html(sig) => html_matches(sig, &data[first_non_ws..]).then_some(HTML),
            Sig::Masked {
                mask,
                pat,
                skip_ws,
                ct,
            } => {
                let data = if *skip_ws {
                    &data[first_non_ws..]
                } else {
                    data
                };
                masked_matches(mask, pat, data).then_some(*ct)
            }
            Sig::Exact(sig, ct) => data.starts_with(sig).then_some(*ct),
            Sig::Mp4 => mp4_matches(data).then_some("video/mp4"),
            Sig::Text => text_matches(&data[first_non_ws..]).then_some(TEXT_UTF8),
        }
    }
}

fn html_matches(sig: &[u8], data: &[u8]) -> bool {
    if data.len() < sig.len() + 1 {
        return false;
    }
    let same = sig.iter().zip(data).all(|(&b, &d)| {
        let d = if b.is_ascii_uppercase() { d & 0xDF } else { d };
        b == d
    });
    same && is_tt(data[sig.len()])
}

fn masked_matches(mask: &[u8], pat: &[u8], data: &[u8]) -> bool {
    if pat.len() != mask.len() || data.len() < pat.len() {
        return false;
    }
    pat.iter()
        .zip(mask)
        .zip(data)
        .all(|((&p, &m), &d)| d & m == p)
}

/// Go's `mp4Sig.match` (spec section 6.2.1).
fn mp4_matches(data: &[u8]) -> bool {
    if data.len() < 12 {
        return false;
    }
    let box_size = u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as usize;
    if data.len() < box_size || !box_size.is_multiple_of(4) {
        return false;
    }
    if &data[4..8] != b"ftyp" {
        return false;
    }
    // Bytes 12..16 are the major brand's version number: skipped.
    (8..box_size)
        .step_by(4)
        .filter(|&st| st != 12)
        .any(|st| &data[st..st + 3] == b"mp4")
}

/// Go's `textSig.match` (spec section 5, step 4): no binary data bytes.
fn text_matches(data: &[u8]) -> bool {
    !data.iter().any(|&b| {
        b <= 0x08 || b == 0x0B || (0x0E..=0x1A).contains(&b) || (0x1C..=0x1F).contains(&b)
    })
}
