//! The sniffer against every row of Go's signature table (and Go's own `sniff_test.go` cases),
//! and the middleware through the SDK's harness as the gateway drives it.

use plugin_sdk::testing::{self, TestRequest, TestResponse};

use super::sniff::{OCTET_STREAM, SNIFF_LEN, detect_content_type};
use super::*;

const HTML: &str = "text/html; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

#[track_caller]
fn sniffs(cases: &[(&str, &[u8], &str)]) {
    for (desc, data, want) in cases {
        assert_eq!(detect_content_type(data), *want, "{desc}: {data:?}");
    }
}

#[test]
fn every_html_signature_case_insensitive_after_white_space_and_before_space_or_gt() {
    let tags = [
        "<!DOCTYPE HTML",
        "<HTML",
        "<HEAD",
        "<SCRIPT",
        "<IFRAME",
        "<H1",
        "<DIV",
        "<FONT",
        "<TABLE",
        "<A",
        "<STYLE",
        "<TITLE",
        "<B",
        "<BODY",
        "<BR",
        "<P",
        "<!--",
    ];
    for tag in tags {
        for data in [
            format!("{tag}>"),
            format!("{tag} x"),
            format!("{}>", tag.to_lowercase()),
            format!(" \t\r\n\x0c{tag}>rest"),
        ] {
            assert_eq!(detect_content_type(data.as_bytes()), HTML, "{data:?}");
        }
        // No tag-terminating byte after it (or no byte at all): plain text.
        assert_eq!(detect_content_type(tag.as_bytes()), TEXT, "{tag}");
        assert_eq!(
            detect_content_type(format!("{tag}x").as_bytes()),
            TEXT,
            "{tag}x"
        );
    }
}

#[test]
fn go_sniff_test_cases() {
    sniffs(&[
        ("Empty", b"", TEXT),
        ("Binary", &[1, 2, 3], OCTET_STREAM),
        ("HTML #1", b"<HtMl><bOdY>blah blah blah</body></html>", HTML),
        ("HTML #2", b"<HTML></HTML>", HTML),
        ("HTML #3 leading white space", b"   <!DOCTYPE HTML>...", HTML),
        ("HTML #4 leading CRLF", b"\r\n<html>...", HTML),
        ("Plain text", "This is not HTML. It has ☃ though.".as_bytes(), TEXT),
        ("XML", b"\n<?xml!", "text/xml; charset=utf-8"),
        ("Windows icon", b"\x00\x00\x01\x00", "image/x-icon"),
        ("Windows cursor", b"\x00\x00\x02\x00", "image/x-icon"),
        ("BMP", b"BM...", "image/bmp"),
        ("GIF 87a", b"GIF87a", "image/gif"),
        ("GIF 89a", b"GIF89a...", "image/gif"),
        ("WEBP", b"RIFF\x00\x00\x00\x00WEBPVP", "image/webp"),
        ("PNG", b"\x89PNG\x0D\x0A\x1A\x0A", "image/png"),
        ("JPEG", b"\xFF\xD8\xFF", "image/jpeg"),
        ("MIDI", b"MThd\x00\x00\x00\x06\x00\x01", "audio/midi"),
        ("MP3", b"ID3\x03\x00\x00\x00\x00\x0f", "audio/mpeg"),
        (
            "WAV #1",
            b"RIFFb\xb8\x00\x00WAVEfmt \x12\x00\x00\x00\x06",
            "audio/wave",
        ),
        (
            "WAV #2",
            b"RIFF,\x00\x00\x00WAVEfmt \x12\x00\x00\x00\x06",
            "audio/wave",
        ),
        (
            "AIFF",
            b"FORM\x00\x00\x00\x00AIFFCOMM\x00\x00\x00\x12\x00\x01\x00\x00\x57\x55\x00\x10\x40\x0d\xf3\x34",
            "audio/aiff",
        ),
        (
            "OGG",
            b"OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x7e\x46",
            "application/ogg",
        ),
        ("not OGG #1", b"owow\x00", OCTET_STREAM),
        ("not OGG #2", b"oooS\x00", OCTET_STREAM),
        ("not OGG #3", b"oggS\x00", OCTET_STREAM),
        (
            "MP4",
            b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom<\x06t\xbfmdat",
            "video/mp4",
        ),
        ("AVI #1", b"RIFF,O\n\x00AVI LIST\xc3\x80", "video/avi"),
        ("AVI #2", b"RIFF,\n\x00\x00AVI LIST\xc3\x80", "video/avi"),
        (
            "TTF I",
            b"\x00\x01\x00\x00\x00\x17\x01\x00\x00\x04\x01\x60\x4f",
            "font/ttf",
        ),
        (
            "TTF II",
            b"\x00\x01\x00\x00\x00\x0e\x00\x80\x00\x03\x00\x60\x46",
            "font/ttf",
        ),
        (
            "OTTO",
            b"\x4f\x54\x54\x4f\x00\x0e\x00\x80\x00\x03\x00\x60\x42\x41\x53\x45",
            "font/otf",
        ),
        (
            "woff",
            b"\x77\x4f\x46\x46\x00\x01\x00\x00\x00\x00\x30\x54\x00\x0d\x00\x00",
            "font/woff",
        ),
        ("woff2", b"\x77\x4f\x46\x32\x00\x01\x00\x00\x00", "font/woff2"),
        ("wasm", b"\x00\x61\x73\x6d\x01\x00", "application/wasm"),
        ("RAR 1.5-4.0", b"Rar!\x1A\x07\x00", "application/x-rar-compressed"),
        ("RAR 5+", b"Rar!\x1A\x07\x01\x00", "application/x-rar-compressed"),
        ("not RAR 1.5-4.0", b"Rar \x1A\x07\x00", OCTET_STREAM),
        ("not RAR 5+", b"Rar \x1A\x07\x01\x00", OCTET_STREAM),
    ]);
}

#[test]
fn every_other_signature_of_the_table() {
    let mut eot = vec![0x55u8; 34];
    eot.extend_from_slice(b"LP");
    sniffs(&[
        (
            "XML after white space",
            b" \t<?xml version",
            "text/xml; charset=utf-8",
        ),
        ("XML is case-sensitive", b"<?XML", TEXT),
        ("PDF", b"%PDF-1.7", "application/pdf"),
        ("PostScript", b"%!PS-Adobe-3.0", "application/postscript"),
        (
            "UTF-16BE BOM",
            b"\xFE\xFFab",
            "text/plain; charset=utf-16be",
        ),
        (
            "UTF-16LE BOM",
            b"\xFF\xFEab",
            "text/plain; charset=utf-16le",
        ),
        ("UTF-8 BOM", b"\xEF\xBB\xBFa", TEXT),
        ("BOM needs four bytes", b"\xFE\xFF", TEXT),
        ("webm", b"\x1A\x45\xDF\xA3\x01", "video/webm"),
        ("EOT", &eot, "application/vnd.ms-fontobject"),
        ("TrueType collection", b"ttcf\x00\x01", "font/collection"),
        ("gzip", b"\x1F\x8B\x08\x00\x00\x00", "application/x-gzip"),
        ("zip", b"PK\x03\x04\x14\x00", "application/zip"),
        ("JSON is text", br#"{"a": [1, 2]}"#, TEXT),
        ("CSS is text", b"body { color: red }", TEXT),
        (
            "a control byte makes it binary",
            b"abc\x01def",
            OCTET_STREAM,
        ),
        ("ESC (0x1B) is allowed in text", b"abc\x1b[0mdef", TEXT),
        ("form feed and tab are text", b"a\x0cb\tc", TEXT),
    ]);
}

#[test]
fn table_order_and_the_512_byte_window_follow_go() {
    // BMP ("BM") comes before the text check, so any "BM" start is an image.
    assert_eq!(detect_content_type(b"BMW cars"), "image/bmp");
    // Exact signatures do not skip white space; HTML and XML do.
    assert_eq!(detect_content_type(b" %PDF-1.7"), TEXT);
    // A binary byte past the first 512 bytes is not seen.
    let mut data = vec![b'a'; SNIFF_LEN];
    data.push(0x00);
    assert_eq!(detect_content_type(&data), TEXT);
    data[SNIFF_LEN - 1] = 0x00;
    assert_eq!(detect_content_type(&data), OCTET_STREAM);
    // An MP4 box must fit in the data and name an mp4 brand (not in the version slot).
    assert_eq!(
        detect_content_type(b"\x00\x00\x00\x10ftypisom\x00\x00\x02\x00"),
        OCTET_STREAM
    );
    assert_eq!(
        detect_content_type(b"\x00\x00\x00\x14ftypisommp41\x00\x00\x00\x00"),
        OCTET_STREAM,
        "the brand in the minor-version slot is skipped"
    );
    assert_eq!(
        detect_content_type(b"\x00\x00\x00\x14ftypisom\x00\x00\x00\x00mp41"),
        "video/mp4"
    );
}

fn respond(config: &str, resp: TestResponse, body: &[u8]) -> (Option<Action>, TestResponse) {
    let mw = testing::instance::<ContentType>(config).unwrap_or_else(|e| panic!("{e}"));
    let mut req = TestRequest::get("/");
    let mut resp = resp;
    let action = testing::response_hook(&mw, &mut req, &mut resp, body);
    (action, resp)
}

#[test]
fn sets_the_sniffed_type_only_when_the_upstream_sent_none() {
    let (action, resp) = respond("{}", TestResponse::new(200), b"<html><body>hi");
    assert!(action.is_some_and(|a| a.is_continue()));
    assert_eq!(resp.header_str("content-type").as_deref(), Some(HTML));

    let (_, resp) = respond("{}", TestResponse::new(200), b"\x89PNG\x0D\x0A\x1A\x0A....");
    assert_eq!(
        resp.header_str("content-type").as_deref(),
        Some("image/png")
    );

    let mine = TestResponse::new(200).header("content-type", "application/json");
    let (_, resp) = respond("{}", mine, b"<html>");
    assert_eq!(
        resp.header_all("content-type"),
        vec![b"application/json".to_vec()],
        "the upstream's type stays"
    );

    let empty_type = TestResponse::new(200).header("content-type", "");
    let (_, resp) = respond("{}", empty_type, b"<html>");
    assert_eq!(resp.header_str("content-type").as_deref(), Some(""));
}

#[test]
fn no_type_for_an_empty_body_or_an_encoded_one() {
    let (_, resp) = respond("{}", TestResponse::new(200), b"");
    assert_eq!(resp.header_str("content-type"), None);

    let gz = TestResponse::new(200).header("content-encoding", "gzip");
    let (_, resp) = respond("{}", gz, b"\x1F\x8B\x08\x00");
    assert_eq!(resp.header_str("content-type"), None);

    let blank = TestResponse::new(200).header("content-encoding", "");
    let (_, resp) = respond("{}", blank, b"hello");
    assert_eq!(resp.header_str("content-type").as_deref(), Some(TEXT));
}

#[test]
fn declares_a_512_byte_peek_and_sniffs_only_that() {
    let mw = testing::instance::<ContentType>("{}").unwrap_or_else(|e| panic!("{e}"));
    assert!(mw.wants_response_hook());
    assert_eq!(mw.response_body_peek(), 512);
    let mut body = vec![b'a'; 512];
    body.push(0x00);
    let (_, resp) = respond("{}", TestResponse::new(200), &body);
    assert_eq!(resp.header_str("content-type").as_deref(), Some(TEXT));
}

#[test]
fn auto_detect_false_is_a_no_op_without_a_response_hook() {
    for config in [r#"{"autoDetect": false}"#, r#"{"autoDetect": "false"}"#] {
        let mw = testing::instance::<ContentType>(config).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(mw, ContentType { enabled: false });
        assert!(!mw.wants_response_hook());
        assert_eq!(mw.response_body_peek(), 0);
        let (action, resp) = respond(config, TestResponse::new(200), b"<html>");
        assert!(action.is_none(), "the gateway never calls it");
        assert_eq!(resp.header_str("content-type"), None);
    }
    for config in [
        "",
        "null",
        "{}",
        r#"{"autoDetect": true}"#,
        r#"{"autoDetect": null}"#,
    ] {
        let mw = testing::instance::<ContentType>(config).unwrap_or_else(|e| panic!("{e}"));
        assert!(mw.enabled, "{config}");
    }
}

#[test]
fn unknown_or_mistyped_options_are_config_errors() {
    let unknown = testing::validate_config::<ContentType>(r#"{"autodetect": false}"#);
    assert!(
        unknown
            .as_ref()
            .is_err_and(|e| e.contains("unknown option \"autodetect\"")),
        "{unknown:?}"
    );
    let mistyped = testing::validate_config::<ContentType>(r#"{"autoDetect": "maybe"}"#);
    assert!(
        mistyped.as_ref().is_err_and(|e| e.contains("autoDetect")),
        "{mistyped:?}"
    );
    assert!(testing::validate_config::<ContentType>("[1]").is_err());
}
