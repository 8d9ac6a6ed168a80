//! Compressing a response body as it streams to the client, for a middleware that asked
//! (`compression` capability, e.g. the bundled `compress` plugin).
//!
//! Runs only for responses whose head carries a `plugins::CompressWith` after the response
//! hooks; every other body streams untouched. Each data frame from the upstream goes through
//! the encoder and whatever compressed bytes it produced go out as one frame (none when the
//! encoder is still filling a block); the end of the body finishes the stream. Memory: one
//! encoder per response — gzip level 6 with a 32 KiB window, brotli quality 5 with a 256 KiB
//! window, zstd level 3 with a 256 KiB window — plus the frame in flight; never the body.
//! Trailers pass through after the last compressed bytes.

use std::collections::VecDeque;
use std::io::Write;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame};
use http_body_util::BodyExt;

use crate::plugins::ContentCoding;
use crate::upstream::body::{BodyError, ProxyBody};

/// brotli quality (0-11): 5 compresses text close to 9 at a fraction of the CPU.
const BROTLI_QUALITY: u32 = 5;
/// brotli window, log2 bytes (18: 256 KiB).
const BROTLI_LGWIN: u32 = 18;
/// zstd level (3 is zstd's default).
const ZSTD_LEVEL: i32 = 3;
/// zstd window, log2 bytes (18: 256 KiB), so the decoder needs no more either.
const ZSTD_WINDOW_LOG: u32 = 18;

/// One streaming encoder writing into a buffer that is drained after every frame.
enum Encoder {
    Gzip(flate2::write::GzEncoder<Vec<u8>>),
    Brotli(Box<brotli::CompressorWriter<Vec<u8>>>),
    Zstd(zstd::stream::write::Encoder<'static, Vec<u8>>),
}

impl Encoder {
    fn new(coding: ContentCoding) -> std::io::Result<Encoder> {
        Ok(match coding {
            ContentCoding::Gzip => Encoder::Gzip(flate2::write::GzEncoder::new(
                Vec::new(),
                flate2::Compression::default(),
            )),
            ContentCoding::Brotli => Encoder::Brotli(Box::new(brotli::CompressorWriter::new(
                Vec::new(),
                16 * 1024,
                BROTLI_QUALITY,
                BROTLI_LGWIN,
            ))),
            ContentCoding::Zstd => {
                let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), ZSTD_LEVEL)?;
                encoder.window_log(ZSTD_WINDOW_LOG)?;
                Encoder::Zstd(encoder)
            }
        })
    }

    /// Compresses `data`; returns the compressed bytes produced so far.
    fn write(&mut self, data: &[u8]) -> std::io::Result<Bytes> {
        let out = match self {
            Encoder::Gzip(e) => {
                e.write_all(data)?;
                e.get_mut()
            }
            Encoder::Brotli(e) => {
                e.write_all(data)?;
                e.get_mut()
            }
            Encoder::Zstd(e) => {
                e.write_all(data)?;
                e.get_mut()
            }
        };
        Ok(Bytes::from(std::mem::take(out)))
    }

    /// Ends the stream; returns the last compressed bytes.
    fn finish(self) -> std::io::Result<Bytes> {
        let out = match self {
            Encoder::Gzip(e) => e.finish()?,
            Encoder::Brotli(e) => e.into_inner(),
            Encoder::Zstd(e) => e.finish()?,
        };
        Ok(Bytes::from(out))
    }
}

/// The compressed body.
struct Compressed {
    inner: ProxyBody,
    /// `None` once finished. Behind a mutex only so the body is `Sync` (the zstd context is
    /// not); never contended: one task polls the body.
    encoder: Option<Mutex<Encoder>>,
    /// Frames ready to go out (compressed bytes, then trailers).
    ready: VecDeque<Frame<Bytes>>,
}

/// `body` compressed with `coding`, or `body` itself when the encoder cannot be made.
pub fn compress(body: ProxyBody, coding: ContentCoding) -> Result<ProxyBody, ProxyBody> {
    match Encoder::new(coding) {
        Ok(encoder) => Ok(Compressed {
            inner: body,
            encoder: Some(Mutex::new(encoder)),
            ready: VecDeque::new(),
        }
        .boxed()),
        Err(_) => Err(body),
    }
}

fn io_error(e: std::io::Error) -> BodyError {
    Box::new(e)
}

impl Body for Compressed {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        loop {
            if let Some(frame) = self.ready.pop_front() {
                return Poll::Ready(Some(Ok(frame)));
            }
            if self.encoder.is_none() {
                return Poll::Ready(None);
            }
            match Pin::new(&mut self.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => {
                        let produced = match self.encoder.as_ref().map(|m| m.lock()) {
                            Some(Ok(mut encoder)) => encoder.write(&data).map_err(io_error),
                            _ => Err(io_error(std::io::Error::other("encoder poisoned"))),
                        };
                        match produced {
                            Ok(bytes) if bytes.is_empty() => continue,
                            Ok(bytes) => return Poll::Ready(Some(Ok(Frame::data(bytes)))),
                            Err(e) => return Poll::Ready(Some(Err(e))),
                        }
                    }
                    // Trailers end the body: finish first, then send them.
                    Err(trailers) => {
                        let last = self.finish_encoder();
                        match last {
                            Ok(bytes) if !bytes.is_empty() => {
                                self.ready.push_back(Frame::data(bytes))
                            }
                            Ok(_) => {}
                            Err(e) => return Poll::Ready(Some(Err(e))),
                        }
                        self.ready.push_back(trailers);
                    }
                },
                Poll::Ready(None) => match self.finish_encoder() {
                    Ok(bytes) if !bytes.is_empty() => {
                        return Poll::Ready(Some(Ok(Frame::data(bytes))));
                    }
                    Ok(_) => return Poll::Ready(None),
                    Err(e) => return Poll::Ready(Some(Err(e))),
                },
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.encoder.is_none() && self.ready.is_empty()
    }
}

impl Compressed {
    fn finish_encoder(&mut self) -> Result<Bytes, BodyError> {
        match self.encoder.take().map(Mutex::into_inner) {
            Some(Ok(encoder)) => encoder.finish().map_err(io_error),
            Some(Err(_)) => Err(io_error(std::io::Error::other("encoder poisoned"))),
            None => Ok(Bytes::new()),
        }
    }
}

/// Sets the head for a compressed body: `Content-Encoding`, no `Content-Length` (streamed),
/// and a weak `ETag` where there was a strong one (the bytes differ).
pub fn set_head(headers: &mut http::HeaderMap, coding: ContentCoding) {
    headers.insert(
        http::header::CONTENT_ENCODING,
        http::HeaderValue::from_static(coding.token()),
    );
    headers.remove(http::header::CONTENT_LENGTH);
    headers.remove(http::header::ACCEPT_RANGES);
    if let Some(etag) = headers.get(http::header::ETAG)
        && !etag.as_bytes().starts_with(b"W/")
    {
        let mut weak = b"W/".to_vec();
        weak.extend_from_slice(etag.as_bytes());
        if let Ok(value) = http::HeaderValue::from_bytes(&weak) {
            headers.insert(http::header::ETAG, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::body::full;
    use std::io::Read;

    async fn compressed(coding: ContentCoding, input: &[u8]) -> Vec<u8> {
        let body = compress(full(input.to_vec()), coding).unwrap_or_else(|_| panic!("encoder"));
        match body.collect().await {
            Ok(c) => c.to_bytes().to_vec(),
            Err(e) => panic!("{e}"),
        }
    }

    #[tokio::test]
    async fn each_coding_round_trips() {
        let input: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let mut out = Vec::new();
        let gz = compressed(ContentCoding::Gzip, &input).await;
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut out)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out, input);
        let br = compressed(ContentCoding::Brotli, &input).await;
        out.clear();
        brotli::Decompressor::new(&br[..], 4096)
            .read_to_end(&mut out)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out, input);
        let zst = compressed(ContentCoding::Zstd, &input).await;
        assert_eq!(
            zstd::stream::decode_all(&zst[..]).unwrap_or_else(|e| panic!("{e}")),
            input
        );
        assert!(gz.len() < input.len() && br.len() < input.len() && zst.len() < input.len());
    }
}
